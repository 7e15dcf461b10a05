"""Wavelet-shrinkage denoising and the 2-D wavelet transform it runs on (C++: csrc/wavelet)."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from .. import _core
from .. import methods
from .._validate import as_image

#: Names of the supported wavelets (PyWavelets' filter banks): haar, db1-db10, sym2-sym10,
#: coif1-coif5, bior1.1-bior6.8, rbio1.1-rbio6.8.
WAVELETS: tuple[str, ...] = tuple(_core.wavelet_names())

Coeffs = list  # [cA, (cH, cV, cD), ...], coarsest level first, as pywt.wavedec2 returns


def wavelet(
    image: np.ndarray,
    *,
    sigma: float | None = None,
    wavelet: str = "db1",
    levels: int | None = None,
    method: str = "bayes",
    mode: str = "soft",
    shifts: int = 1,
) -> np.ndarray:
    """Denoise an image by shrinking its wavelet coefficients (BayesShrink or VisuShrink).

    image: HWC (H, W) or (H, W, C), C in {1, 3, 4}; uint8, uint16 or float32 (float64 is taken
        as float32).  3 channels are taken as RGB and denoised in YCbCr, like scikit-image's
        ``denoise_wavelet(..., channel_axis=-1, convert2ycbcr=True)``; a 4th (alpha) channel is
        copied.  BGR input works too, only with R and B weighted the other way round.
    sigma: noise standard deviation as a fraction of the full range, in [0, 1] whatever the
        dtype (noise of 25 gray levels in a uint8 image: 25/255).  None estimates it per plane
        (gray, or Y, Cb, Cr) as scikit-image does: median(|cD1|) / 0.6745 over the non-zero coefficients of the finest
        diagonal band of the chosen wavelet (for db1 this is :func:`estimate_sigma`'s Haar
        estimate); an image with a side of 1 pixel gives 0 and comes back unchanged.
    wavelet: a name from :data:`WAVELETS`; thresholding assumes an orthogonal wavelet (haar, db*,
        sym*, coif*), biorthogonal ones work but colour the noise.
    levels: decomposition levels, 1 .. pywt.dwtn_max_level (at least 1); None gives
        scikit-image's default, max(dwtn_max_level - 3, 1).
    method: "bayes" (one threshold per band, sigma^2 / sqrt(max(var(band) - sigma^2, eps))) or
        "visu" (one universal threshold, sigma * sqrt(2 ln(H W))).
    mode: "soft" or "hard" thresholding.
    shifts: cycle spinning (translation-invariant denoising): the average over this many offsets
        (dy, dx) in Morton order, each applied by symmetric padding: 4 covers [0, 2)^2, 16 covers
        [0, 4)^2, 64 covers [0, 8)^2.  1 (the default) is the plain transform; cost grows linearly.

    Returns a new array of the input's shape and dtype (integers rounded and clamped; float32 not
    clamped).  Results do not depend on the thread count (imgen.set_num_threads).
    Raises TypeError / ValueError naming what is supported.
    """
    img = as_image(image, "image")
    return _core.wavelet_denoise(
        img, sigma=sigma, wavelet=wavelet, levels=levels, method=method, mode=mode, shifts=shifts
    )


def dwt2(image: np.ndarray, wavelet: str = "db1", levels: int | None = None) -> Coeffs:
    """Multi-level 2-D discrete wavelet transform, PyWavelets' "symmetric" boundary mode.

    image: a 2-D array of real numbers (computed in float32; float32 C-contiguous input is not
        copied).  levels: 0 .. 30; None gives pywt.dwtn_max_level (may be 0).
    Returns ``[cA_n, (cH_n, cV_n, cD_n), ..., (cH_1, cV_1, cD_1)]`` of float32 arrays, the same
    structure and values as ``pywt.wavedec2(image, wavelet, mode="symmetric", level=levels)``.
    """
    return _core.wavelet_dwt2(image, wavelet, levels)


def idwt2(coeffs: Sequence, wavelet: str = "db1", *, shape: tuple[int, int] | None = None) -> np.ndarray:
    """Inverse of :func:`dwt2` (``pywt.waverec2(coeffs, wavelet, mode="symmetric")``).

    coeffs: ``[cA, (cH, cV, cD), ...]``, coarsest first.  Like waverec2 the result of an odd-sized
    input is one sample larger along that axis; shape=(height, width) crops it to the original.
    Returns a float32 array.
    """
    return _core.wavelet_idwt2(coeffs, wavelet, shape=shape)


@methods.register("wavelet", task="denoise", help="wavelet shrinkage (BayesShrink / VisuShrink), imgen's C++ core")
class WaveletDenoise:
    """The registry's ``wavelet``: :func:`wavelet` with its options."""

    @dataclass(frozen=True, kw_only=True)
    class Params(methods.Params):
        sigma: float | None = methods.sigma_param()
        wavelet: str = methods.param("db1", help=f"basis, one of {', '.join(WAVELETS)}", choices=WAVELETS, metavar="NAME")
        levels: int | None = methods.param(None, help="decomposition levels (default: as scikit-image)", min=1)
        threshold: str = methods.param("bayes", help="BayesShrink or VisuShrink", choices=("bayes", "visu"))
        mode: str = methods.param("soft", help="soft or hard thresholding", choices=("soft", "hard"))
        shifts: int = methods.param(1, help="cycle-spinning shifts (translation invariance)", min=1)

    def __call__(self, image: np.ndarray, params: Params) -> np.ndarray:
        return wavelet(image, sigma=params.sigma, wavelet=params.wavelet, levels=params.levels,
                       method=params.threshold, mode=params.mode, shifts=params.shifts)


__all__ = ["WAVELETS", "WaveletDenoise", "dwt2", "idwt2", "wavelet"]
