"""Classical restoration beyond noise: super-resolution, deblurring with a known kernel, JPEG
artefact removal.  Plain functions over HWC images (uint8 / uint16 / float32 in [0, 1]) that keep
the dtype; each module registers its methods in ``imgen.methods.REGISTRY``, which ``imgen.restore``
and the processors read by task and method name.  ``METHODS`` ({task: method names}) and ``TASKS``
are views of that registry, kept for callers of the old tables."""
from __future__ import annotations

from .deblur import richardson_lucy, wiener
from .jpeg import dejpeg_bm3d, estimate_quality, jpeg_sigma
from .sr import upscale
from .wiener_net import wiener_net


def __getattr__(name: str):
    if name in ("METHODS", "TASKS"):
        from ..methods import REGISTRY

        return REGISTRY.by_task() if name == "METHODS" else REGISTRY.tasks()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

__all__ = ["METHODS", "TASKS", "dejpeg_bm3d", "estimate_quality", "jpeg_sigma", "richardson_lucy", "upscale", "wiener", "wiener_net"]
