"""Inpainting: fill the pixels a mask marks as missing, classically or with an inpaint model.

``inpaint(image, mask, method=...)`` or ``inpaint(image, mask, model=...)``; every result equals
the input bit for bit outside the mask.
"""
from __future__ import annotations

import os

import numpy as np

from .._validate import as_image
from ..engine import Model
from .classical import METHODS, fill
from .compose import compose
from .masks import as_mask, mask_from_alpha, mask_from_colour, read_mask
from .model import InpaintModel
from .patchmatch import patchmatch
from .regions import hole_regions


def inpaint(image: np.ndarray, mask: np.ndarray, *, method: str | None = None,
            model: "Model | str | os.PathLike | None" = None, invert: bool = False) -> np.ndarray:
    """``image`` (HWC uint8 / uint16 / float32 0-1) with the pixels where ``mask`` ((H, W) or
    (H, W, C), nonzero = missing; ``invert``: zero = missing) filled by ``method`` (telea, ns,
    biharmonic) or an inpaint ``model`` (path, shipped name or loaded model).  Same shape and
    dtype; outside the mask the input exactly."""
    image = as_image(image)
    holes = as_mask(mask, image.shape, invert=invert)
    if (method is None) == (model is None):
        raise ValueError(f"give exactly one of method= ({', '.join(METHODS)}) or model=")
    if model is not None:
        return InpaintModel.adopt(model, "inpaint")(image, holes)
    return fill(image, holes, method)


__all__ = ["InpaintModel", "METHODS", "as_mask", "compose", "fill", "hole_regions", "inpaint", "mask_from_alpha",
           "mask_from_colour", "patchmatch", "read_mask"]
