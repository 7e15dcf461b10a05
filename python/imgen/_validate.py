"""Checks shared by the public functions: what an image array and a noise level may be."""
from __future__ import annotations

import math

import numpy as np

SUPPORTED_DTYPES = (np.uint8, np.uint16, np.float32)


def as_image(image: object, name: str = "image", *, allow_float64: bool = True) -> np.ndarray:
    """Validate an HWC image: (H, W) or (H, W, C) with C in {1, 3, 4}.

    uint8, uint16 and float32 pass through unchanged; float64 is converted to float32 when
    allowed.  Raises TypeError / ValueError that name what was expected.
    """
    if not isinstance(image, np.ndarray):
        raise TypeError(f"{name} must be a numpy array, got {type(image).__name__}")
    if image.dtype == np.float64 and allow_float64:
        image = image.astype(np.float32)
    if image.dtype.type not in SUPPORTED_DTYPES:
        raise TypeError(f"{name} must be uint8, uint16 or float32, got {image.dtype}")
    if image.ndim not in (2, 3):
        raise ValueError(f"{name} must be an HWC image of shape (H, W) or (H, W, C), got shape {image.shape}")
    if image.ndim == 3 and image.shape[2] not in (1, 3, 4):
        raise ValueError(
            f"{name} must have 1, 3 or 4 channels (gray, RGB/BGR, RGBA), got {image.shape[2]} (shape {image.shape})"
        )
    if image.shape[0] == 0 or image.shape[1] == 0:
        raise ValueError(f"{name} is empty (shape {image.shape})")
    return image


def image_max(dtype: np.dtype) -> float:
    """The white level of an image dtype: 255, 65535, or 1.0 for floats."""
    dtype = np.dtype(dtype)
    if dtype == np.uint8:
        return 255.0
    if dtype == np.uint16:
        return 65535.0
    return 1.0


SIGMA_UNIT = "a fraction of the full range (25 on the 0-255 scale is 25/255 = 0.098)"


def as_sigma(value: object, name: str = "sigma") -> float:
    """A noise standard deviation as a float in [0, 1]: a fraction of the image's full range
    whatever its dtype (the unit of every sigma in imgen's library; the CLI takes 0-255).
    Raises TypeError for a non-number, ValueError outside [0, 1] (NaN included)."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"{name} must be a number, {SIGMA_UNIT}; got {type(value).__name__}")
    v = float(value) if not isinstance(value, int) or abs(value) < 2**1000 else math.inf
    if not 0.0 <= v <= 1.0:
        shown = repr(value) if len(repr(value)) <= 40 else repr(value)[:37] + "..."
        raise ValueError(f"{name} must be in [0, 1], {SIGMA_UNIT}; got {shown}")
    return v
