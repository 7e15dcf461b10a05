"""Generative models through the engine: sampling, latent interpolation, VAE encode/decode.

Latents are standard normal draws from ``numpy.random.default_rng(seed)``: ``latents(model, n,
seed)`` is ``default_rng(seed).standard_normal((n, *latent_shape), dtype=float32)``, so image k of
``generate(model, n, seed=s)`` is the same whatever the batch size.  Images come back NHWC (C = the
model's channels, RGB order unless ``color_order="bgr"``), uint8 (default) or float32 in [0, 1].
"""
from __future__ import annotations

import math
from typing import Sequence

import numpy as np

from .errors import ModelError


def make_grid(images: np.ndarray | Sequence[np.ndarray], cols: int | None = None, pad: int = 1,
              fill: int | float = 0) -> np.ndarray:
    """Tile an (N, H, W, C) stack (or a list of same-shape HWC images) into one (H', W', C) image,
    ``cols`` per row (default: about square), ``pad`` pixels of ``fill`` between them."""
    stack = np.asarray(images)
    if stack.ndim == 3:
        stack = stack[..., None]
    if stack.ndim != 4 or stack.shape[0] == 0:
        raise ValueError(f"make_grid needs a non-empty (N, H, W, C) stack, got shape {stack.shape}")
    n, h, w, c = stack.shape
    cols = cols or math.ceil(math.sqrt(n))
    if cols < 1:
        raise ValueError(f"cols must be >= 1, got {cols}")
    rows = math.ceil(n / cols)
    grid = np.full((rows * (h + pad) + pad, cols * (w + pad) + pad, c), fill, stack.dtype)
    for k in range(n):
        y, x = pad + (k // cols) * (h + pad), pad + (k % cols) * (w + pad)
        grid[y:y + h, x:x + w] = stack[k]
    return grid
