"""Noise level estimation from the finest diagonal wavelet band."""
from __future__ import annotations

import numpy as np

from .._validate import as_image

# median(|N(0, 1)|): turns a median absolute deviation into a standard deviation.
_MAD_TO_SIGMA = 0.6744897501960817


def estimate_sigma(image: np.ndarray) -> float:
    """Estimate the standard deviation of additive white Gaussian noise in an image.

    image: HWC (H, W) or (H, W, C) uint8, uint16 or float32/float64.
    Returns sigma in the image's own units (0-255 for uint8, 0-65535 for uint16, 0-1 for float),
    the mean of the per-channel estimates (Donoho's MAD of the finest diagonal Haar band:
    median(|HH|) / 0.6745).  Images smaller than 2x2 raise ValueError.
    """
    img = as_image(image, "image")
    if img.shape[0] < 2 or img.shape[1] < 2:
        raise ValueError(f"estimate_sigma needs an image of at least 2x2 pixels, got {img.shape[:2]}")
    h, w = img.shape[0] // 2 * 2, img.shape[1] // 2 * 2
    x = img[:h, :w].astype(np.float32, copy=False)
    if x.ndim == 2:
        x = x[..., None]
    # Orthonormal Haar HH band: (a - b - c + d) / 2 over each 2x2 block.
    hh = (x[0::2, 0::2] - x[0::2, 1::2] - x[1::2, 0::2] + x[1::2, 1::2]) * np.float32(0.5)
    sigmas = [float(np.median(np.abs(hh[..., c]))) / _MAD_TO_SIGMA for c in range(hh.shape[-1])]
    return float(np.mean(sigmas))
