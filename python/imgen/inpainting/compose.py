"""Put the original pixels back outside the mask: inpainting changes only the holes."""
from __future__ import annotations

import numpy as np


def compose(original: np.ndarray, filled: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """``filled`` inside ``mask`` (H, W bool, True = missing), ``original`` bit for bit outside;
    same shape and dtype as ``original``."""
    if filled.shape != original.shape:
        raise ValueError(f"filled image has shape {filled.shape}, the original {original.shape}")
    holes = mask if original.ndim == 2 else mask[..., None]
    return np.where(holes, filled.astype(original.dtype, copy=False), original)
