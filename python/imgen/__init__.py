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

from .engine import Model, TensorSpec, shipped_models
from .generative import (Encoder, Generator, decode, decode_batches, encode, generate, generate_batches,
                         interpolate, interpolate_batches, latents, make_grid, reconstruct)
from .image_model import ImageModel
from .inpainting import InpaintModel, inpaint
from .loading import load
from .errors import ImgenError, ModelError
from .model_info import ModelInfo
from ._restore import restore

__version__ = "0.1.0"

__all__ = [
    "Encoder",
    "Generator",
    "ImageModel",
    "InpaintModel",
    "ImgenError",
    "Model",
    "ModelError",
    "ModelInfo",
    "TensorSpec",
    "load",
    "shipped_models",
    "TileGrid",
    "TileMerger",
    "__version__",
    "decode",
    "decode_batches",
    "encode",
    "generate",
    "generate_batches",
    "inpaint",
    "interpolate",
    "interpolate_batches",
    "latents",
    "make_grid",
    "reconstruct",
    "restore",
    "from_tensor",
    "get_num_threads",
    "metrics",
    "plan_tiles",
    "set_num_threads",
    "to_tensor",
]
