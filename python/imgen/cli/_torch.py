"""Lazy access to imgen_train (PyTorch) for the train/export/import commands."""
from __future__ import annotations

import importlib

from ..errors import ImgenError

INSTALL_HINT = ("install PyTorch first (CPU: pip install torch==2.13.0, or the CUDA wheel you want), "
                "then pip install 'imgen[train]'")


def import_train_module(name: str, command: str):
    """imgen_train.<name>, or ImgenError naming what to install when torch/imgen_train is missing."""
    try:
        import torch  # noqa: F401
    except ImportError:
        raise ImgenError(f"imgen {command} needs PyTorch, which is not installed: {INSTALL_HINT}") from None
    try:
        return importlib.import_module(f"imgen_train.{name}")
    except ModuleNotFoundError as e:
        if e.name and e.name.split(".")[0] == "imgen_train":
            raise ImgenError(f"imgen {command} needs the imgen_train package (export/ in the source tree; "
                             f"in the wheel): {INSTALL_HINT}") from None
        raise ImgenError(f"imgen {command}: missing dependency {e.name}: {INSTALL_HINT}") from None


def run_reporting(func, *args, **kwargs):
    """Call func, turning the training package's expected failures into ImgenError."""
    try:
        return func(*args, **kwargs)
    except (ValueError, FileNotFoundError, RuntimeError) as e:
        raise ImgenError(str(e)) from e


def add_checkpoint_arguments(p, checkpoint_help: str) -> None:
    """CHECKPOINT, -o/--output, --name and --atol: what ``imgen export`` and ``imgen import`` share."""
    p.add_argument("checkpoint", help=checkpoint_help)
    p.add_argument("-o", "--output", required=True, help="the .onnx file to write")
    p.add_argument("--name", help="imgen.name metadata (default: the output's stem)")
    p.add_argument("--atol", type=float, default=1e-4,
                   help="parity tolerance vs torch, relative to the output's magnitude (default 1e-4)")
    p.add_argument("--skip-parity", action="store_true",
                   help="do not run the parity probes (onnxruntime vs torch on natural-looking images); the file "
                        "is written unchecked, with a warning, and marked imgen.parity=skipped")


def show_progress() -> None:
    """Log imgen_train's progress lines (export, parity probes) to stderr during long exports."""
    import logging

    logging.getLogger("imgen_train").setLevel(logging.INFO)
