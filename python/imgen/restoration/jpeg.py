"""JPEG artefact removal: BM3D with a noise level derived from the JPEG quality.

``jpeg_sigma(quality)``: the standard deviation of JPEG's error on gray train400 images (100 of
them, OpenCV/libjpeg, 4:2:0 irrelevant for gray), measured at the qualities in ``_TABLE`` by
``benchmarks/studies/jpeg_error_sigma.py`` and interpolated linearly in log(quality) between them (a
power law q^-0.51 missed the ends by up to 1.7 on the 0-255 scale, so the table is used).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .. import methods
from ..degrade import as_image

# quality -> error std on the 0-255 scale (benchmarks/studies/jpeg_error_sigma.py, train400, 2026-12-01)
_TABLE = ((1, 16.573), (5, 16.573), (10, 12.842), (15, 11.145), (20, 10.102), (25, 9.326), (30, 8.717),
          (40, 7.807), (50, 7.094), (60, 6.411), (70, 5.545), (80, 4.406), (90, 2.750), (100, 0.8))


def jpeg_sigma(quality: int) -> float:
    """The noise level (a fraction of the full range) that BM3D uses for a JPEG of ``quality``
    (1-100; below 5 the value at 5, at 100 an assumed 0.8/255)."""
    if isinstance(quality, bool) or not isinstance(quality, (int, np.integer)) or not 1 <= quality <= 100:
        raise ValueError(f"quality must be an integer from 1 to 100, got {quality!r}")
    qs = [math.log(q) for q, _ in _TABLE]
    return float(np.interp(math.log(int(quality)), qs, [s for _, s in _TABLE])) / 255.0


def dejpeg_bm3d(image: np.ndarray, quality: int | None = None, *, sigma: float | None = None) -> np.ndarray:
    """Remove JPEG artefacts from an HWC/HW image (dtype kept) with imgen's BM3D at
    ``jpeg_sigma(quality)``, or at ``sigma`` (a fraction of the full range) if given, or at the
    sigma BM3D estimates if neither is given."""
    from ..denoise import bm3d

    image = as_image(image)
    if sigma is None and quality is not None:
        sigma = jpeg_sigma(quality)
    return bm3d(image, sigma=sigma)


@methods.register("bm3d", task="jpeg", help="BM3D at the noise level of the JPEG quality (jpeg_sigma)")
class Bm3dDejpeg:
    """The registry's ``bm3d`` for task jpeg: :func:`dejpeg_bm3d`."""

    @dataclass(frozen=True, kw_only=True)
    class Params(methods.Params):
        quality: int | None = methods.param(None, help="the quality the images were saved at (sets BM3D's sigma; "
                                                       "default: sigma estimated per image)", min=1, max=100)
        sigma: float | None = methods.sigma_param()

    def __call__(self, image: np.ndarray, params: Params) -> np.ndarray:
        return dejpeg_bm3d(image, params.quality, sigma=params.sigma)
