"""imgen: fast image generation and restoration inference.

ONNX Runtime runs the models; the C++ core (``imgen._core``) does the pixel work.
"""
from __future__ import annotations

from . import metrics
from ._core import (
    TileGrid,
    TileMerger,
    from_tensor,
    get_num_threads,
    plan_tiles,
    set_num_threads,
    to_tensor,
)

__version__ = "0.1.0"

__all__ = [
    "TileGrid",
    "TileMerger",
    "__version__",
    "from_tensor",
    "get_num_threads",
    "metrics",
    "plan_tiles",
    "set_num_threads",
    "to_tensor",
]
