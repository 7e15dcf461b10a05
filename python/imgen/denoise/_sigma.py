"""Noise level estimation from the finest diagonal wavelet band."""
from __future__ import annotations

import numpy as np

from .._validate import as_image, image_max

# median(|N(0, 1)|): turns a median absolute deviation into a standard deviation.
_MAD_TO_SIGMA = 0.6744897501960817


def estimate_sigma(image: np.ndarray) -> float:
    """Estimate the standard deviation of additive white Gaussian noise in an image.

    image: HWC (H, W) or (H, W, C) uint8, uint16 or float32/float64.
    Returns sigma as a fraction of the full range (a uint8 image with noise of 25 gray levels
    gives about 25/255 = 0.098), the mean of the per-channel estimates (Donoho's MAD of the finest diagonal Haar band:
    median(|HH|) / 0.6745).  Images smaller than 2x2 raise ValueError.
    """
    img = as_image(image, "image")
    if img.shape[0] < 2 or img.shape[1] < 2:
        raise ValueError(f"estimate_sigma needs an image of at least 2x2 pixels, got {img.shape[:2]}")
    h, w = img.shape[0] // 2 * 2, img.shape[1] // 2 * 2
    x = img[:h, :w] if img.ndim == 3 else img[:h, :w, None]
    # Row bands of ~1M samples: a large image never gets a full-size float copy.
    step = max(2, (1 << 20) // (w * x.shape[2]) // 2 * 2)
    bands = range(0, h, step)
    if img.dtype == np.float32:
        # Orthonormal Haar HH band: (a - b - c + d) / 2 over each 2x2 block (a quarter-size array).
        hh = np.empty((h // 2, w // 2, x.shape[2]), np.float32)
        for y in bands:
            b = x[y:y + step]
            hh[y // 2:(y + step) // 2] = (b[0::2, 0::2] - b[0::2, 1::2] - b[1::2, 0::2] + b[1::2, 1::2]) * np.float32(0.5)
        sigmas = [float(np.median(np.abs(hh[..., c]))) / _MAD_TO_SIGMA for c in range(hh.shape[-1])]
        return float(np.mean(sigmas))  # the float image's units are already fractions
    # Integer images: a - b - c + d is an integer, so a histogram of its magnitude gives the exact
    # median (the same value as the float computation, which is exact for these integers).
    top = 2 * int(np.iinfo(img.dtype).max)
    counts = np.zeros((x.shape[2], top + 1), np.int64)
    for y in bands:
        b = x[y:y + step].astype(np.int32)
        d = np.abs(b[0::2, 0::2] - b[0::2, 1::2] - b[1::2, 0::2] + b[1::2, 1::2])
        for c in range(x.shape[2]):
            counts[c] += np.bincount(d[..., c].ravel(), minlength=top + 1)
    sigmas = [_histogram_median(counts[c]) * 0.5 / _MAD_TO_SIGMA for c in range(x.shape[2])]
    return float(np.mean(sigmas)) / image_max(img.dtype)


def _histogram_median(counts: np.ndarray) -> float:
    """The median (numpy's: the mean of the two middle values for an even count) of the values
    0, 1, 2, ... occurring counts[0], counts[1], ... times."""
    cum = np.cumsum(counts)
    n = int(cum[-1])
    lo = int(np.searchsorted(cum, (n - 1) // 2, side="right"))
    hi = int(np.searchsorted(cum, n // 2, side="right"))
    return (lo + hi) / 2
