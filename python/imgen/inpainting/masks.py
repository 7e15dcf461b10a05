"""Inpainting masks: (H, W) bool arrays, True = missing, from a file, an alpha channel or a colour key."""
from __future__ import annotations

import os
from typing import Sequence

import numpy as np

from .._validate import as_image, image_max


def as_mask(mask: object, shape: tuple[int, ...], *, invert: bool = False, name: str = "mask") -> np.ndarray:
    """An (H, W) bool mask (True = missing) for an image of ``shape``: ``mask`` is (H, W) or
    (H, W, C) of any numeric dtype or bool; nonzero in any channel = missing (``invert``: zero =
    missing).  Raises TypeError / ValueError naming the expected layout and both sizes."""
    if not isinstance(mask, np.ndarray):
        raise TypeError(f"{name} must be a numpy array, got {type(mask).__name__}")
    if mask.dtype != np.bool_ and not np.issubdtype(mask.dtype, np.number):
        raise TypeError(f"{name} must be bool or numeric, got {mask.dtype}")
    if mask.ndim == 3:
        mask = np.any(mask != 0, axis=2)
    elif mask.ndim != 2:
        raise ValueError(f"{name} must be (H, W) or (H, W, C), got shape {mask.shape}")
    if mask.shape != tuple(shape[:2]):
        raise ValueError(f"{name} is {mask.shape[1]}x{mask.shape[0]} (WxH) but the image is "
                         f"{shape[1]}x{shape[0]}: a mask must have the image's size")
    if np.issubdtype(mask.dtype, np.floating) and not np.all(np.isfinite(mask)):
        raise ValueError(f"{name} holds NaN or infinity; expected 0 (kept) and nonzero (missing)")
    holes = mask != 0
    return ~holes if invert else holes


def read_mask(path: str | os.PathLike, shape: tuple[int, ...], *, invert: bool = False) -> np.ndarray:
    """The mask in an image file (any format imgen reads; nonzero = missing, ``invert``: zero =
    missing), checked against an image of ``shape``; the message names the file."""
    from ..imageio import read_image  # file reading stays out of array-only callers

    try:
        return as_mask(read_image(path), shape, invert=invert, name=f"mask {os.fspath(path)}")
    except ValueError as e:
        raise ValueError(str(e)) from None


def mask_from_alpha(image: np.ndarray) -> np.ndarray:
    """Missing = fully transparent pixels of an (H, W, 4) image (alpha == 0)."""
    image = as_image(image)
    if image.ndim != 3 or image.shape[2] != 4:
        raise ValueError(f"a mask from alpha needs an (H, W, 4) image with alpha, got shape {image.shape}")
    return image[..., 3] == 0


def mask_from_colour(image: np.ndarray, colour: Sequence[float], tolerance: float = 0.0) -> np.ndarray:
    """Missing = pixels whose colour channels are within ``tolerance`` of ``colour`` (in the
    image's own units: 0-255 for uint8, 0-65535 for uint16, 0-1 for float32; channel order as the
    array holds it; alpha is ignored)."""
    image = as_image(image)
    pixels = image[..., None] if image.ndim == 2 else image[..., : 3 if image.shape[2] >= 3 else 1]
    key = np.asarray(colour, dtype=np.float64).ravel()
    if key.size != pixels.shape[2]:
        raise ValueError(f"colour key must have {pixels.shape[2]} value(s) for this image, got {key.size}")
    top = image_max(image.dtype)
    if not np.all(np.isfinite(key)) or np.any(key < 0) or np.any(key > top) or not 0 <= tolerance <= top:
        raise ValueError(f"colour key and tolerance must lie in 0-{top:g} for {image.dtype} images, "
                         f"got {key.tolist()} ± {tolerance}")
    return np.all(np.abs(pixels.astype(np.float64) - key) <= tolerance, axis=2)
