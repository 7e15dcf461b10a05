"""The denoising protocol used throughout imgen, and how results are scored.

Clean images are float32 in [0, 1], HWC (gray (H, W) or RGB (H, W, 3)).  Noise for one image:
``numpy.random.default_rng(seed).normal(0, sigma / 255, x.shape)`` as float32, added without
clipping or quantising (unless asked), a fresh generator per image.  Scores use the output
clipped to [0, 1].
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .. import metrics


@dataclass(frozen=True)
class Protocol:
    """How noisy inputs are made and outputs scored.

    quantize: round the noisy input to 8 bits (and clip to [0, 1]) as an 8-bit file would.
    shave: pixels cut from each border before scoring.  y_channel: score colour images on
    BT.601 luma (as super-resolution papers do) instead of RGB.
    """

    seed: int = 0
    quantize: bool = False
    shave: int = 0
    y_channel: bool = False

    def noisy(self, clean: np.ndarray, sigma: float) -> np.ndarray:
        """clean + N(0, sigma/255), float32; sigma on the 0-255 scale."""
        noise = np.random.default_rng(self.seed).normal(0.0, sigma / 255.0, clean.shape)
        out = (clean + noise).astype(np.float32)
        if self.quantize:
            out = (np.clip(np.rint(out * 255.0), 0, 255) / 255.0).astype(np.float32)
        return out

    def _prepare(self, img: np.ndarray) -> np.ndarray:
        x = np.clip(img, 0.0, 1.0).astype(np.float32, copy=False)
        if self.y_channel and x.ndim == 3 and x.shape[2] == 3:
            x = (16.0 + 65.481 * x[..., 0] + 128.553 * x[..., 1] + 24.966 * x[..., 2]) / 255.0
            x = x.astype(np.float32)
        if self.shave:
            s = self.shave
            if x.shape[0] <= 2 * s or x.shape[1] <= 2 * s:
                raise ValueError(f"shave {s} leaves nothing of a {x.shape[0]}x{x.shape[1]} image")
            x = x[s:-s, s:-s]
        return np.ascontiguousarray(x)

    def psnr(self, clean: np.ndarray, out: np.ndarray) -> float:
        return metrics.psnr(self._prepare(clean), self._prepare(out), data_range=1.0)

    def ssim(self, clean: np.ndarray, out: np.ndarray) -> float:
        return metrics.ssim(self._prepare(clean), self._prepare(out), data_range=1.0)
