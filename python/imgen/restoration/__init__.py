"""Classical restoration beyond noise: super-resolution, deblurring with a known kernel, JPEG
artefact removal.  Plain functions over HWC images (uint8 / uint16 / float32 in [0, 1]) that keep
the dtype; ``imgen.restore`` and the processors call them by task and method name."""
from __future__ import annotations

from .deblur import richardson_lucy, wiener
from .jpeg import dejpeg_bm3d, estimate_quality, jpeg_sigma
from .sr import upscale

METHODS = {
    "sr": ("bicubic", "lanczos"),
    "deblur": ("wiener", "richardson_lucy"),
    "jpeg": ("bm3d",),
    "denoise": ("bm3d", "wavelet"),
}
TASKS = tuple(METHODS)

__all__ = ["METHODS", "TASKS", "dejpeg_bm3d", "estimate_quality", "jpeg_sigma", "richardson_lucy", "upscale", "wiener"]
