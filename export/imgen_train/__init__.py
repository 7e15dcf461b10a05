"""imgen_train: PyTorch architectures, training, ONNX export and checkpoint import for imgen.

Needs torch (``pip install 'imgen[train]'``, torch first).  The inference package ``imgen``
never imports this package at import time.
"""
from __future__ import annotations

__all__ = ["archs", "data", "train", "export_onnx", "import_checkpoint"]
