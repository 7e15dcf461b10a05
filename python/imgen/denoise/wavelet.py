"""Wavelet-shrinkage denoising and the 2-D wavelet transform it runs on (C++: csrc/wavelet)."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from .. import _core
from .. import methods
from .._validate import as_image, image_max
from ..pixels import all_finite

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
    tile: int | None = None,
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

    tile: None (default) denoises images of up to WHOLE_PIXELS (16 Mi) pixels whole and larger
        ones in tiles with cores of DEFAULT_TILE pixels; 0 always whole; N > 0 tiles with cores of
        N pixels (rounded up to a multiple of 2**levels) when the image is larger.  Tiles use the
        thresholds of the whole image (its noise estimate and band variances, gathered in a first
        pass), so memory is bounded by the tile, not the image, and the result matches the whole
        image's: for db1 without shifts up to the noise estimate's 1.2e-4 relative precision
        (uint8: a few pixels differ by 1), for longer filters and cycle spinning within
        0.01 dB (tests/test_wavelet_tiled.py; BENCHMARKS.md).

    Returns a new array of the input's shape and dtype (integers rounded and clamped; float32 not
    clamped).  Results do not depend on the thread count (imgen.set_num_threads).
    Raises TypeError / ValueError naming what is supported.
    """
    img = as_image(image, "image")
    h, w = img.shape[:2]
    if tile is None:
        tile = 0 if h * w <= WHOLE_PIXELS else DEFAULT_TILE
    elif isinstance(tile, bool) or not isinstance(tile, (int, np.integer)) or tile < 0:
        raise ValueError(f"tile must be None (automatic), 0 (whole image) or a tile side in pixels > 0, got {tile!r}")
    if tile and (h > tile or w > tile):
        return _tiled(img, int(tile), sigma=sigma, wavelet=wavelet, levels=levels, method=method, mode=mode,
                      shifts=shifts)
    return _core.wavelet_denoise(
        img, sigma=sigma, wavelet=wavelet, levels=levels, method=method, mode=mode, shifts=shifts
    )


# -- large images: tiles with the whole image's thresholds --------------------------------------

#: Images of up to this many pixels are denoised whole (tile=None); larger ones in tiles.
WHOLE_PIXELS = 1 << 24
#: The side of the tiles' cores (rounded up to a multiple of 2**levels) for tile=None.
DEFAULT_TILE = 2048
# scikit-image's (and the core's) MAD -> sigma factor, and the epsilon of BayesShrink.
_MAD = 0.6744897501960817
_EPS = float(np.finfo(np.float32).eps)
# |coefficient| histogram of the noise estimate: float32 bit patterns >> _KEY_SHIFT (relative bucket
# width 2**-13, about 1.2e-4): 4 Mi buckets, 32 MiB, whatever the image's size.
_KEY_SHIFT = 10
# scikit-image's ycbcr_from_rgb / 255, as the core converts colour (csrc/wavelet/shrink.cpp).
_YCBCR = np.array([[65.481, 128.553, 24.966], [-37.797, -74.203, 112.0], [112.0, -93.786, -18.214]]) / 255.0


def _filter_length(wavelet: str) -> int:
    # pywt's dwt_coeff_len: floor((n + f - 1) / 2) coefficients for n samples (f is even).
    return 2 * (_core.wavelet_dwt2(np.zeros((64, 64), np.float32), wavelet, 1)[0].shape[0] - 31)


def _spans(n: int, core: int, before: int, after: int, least: int, block: int) -> list[tuple[int, int, int, int]]:
    """(t0, t1, c0, c1): tiles [t0, t1) along one axis whose cores [c0, c1) cover [0, n); cores start
    on multiples of ``core``, tiles reach ``before`` / ``after`` beyond them (clipped to the image)
    and are at least ``least`` long (grown inside the image)."""
    out = []
    for c0 in range(0, n, core):
        c1 = min(c0 + core, n)
        t0, t1 = max(0, c0 - before), min(n, c1 + after)
        if t1 - t0 < least:
            t1 = min(n, t0 + least)
            t0 = max(0, (t1 - least) // block * block)  # on the grid of 2**levels blocks
        out.append((t0, t1, c0, c1))
    return out


def _planes(tile: np.ndarray) -> list[np.ndarray]:
    """The float32 planes the core denoises: gray, or Y, Cb, Cr (as csrc/wavelet/shrink.cpp)."""
    if tile.ndim == 2 or tile.shape[2] == 1:
        return [np.asarray(tile.reshape(tile.shape[:2]), np.float32)]
    rgb = [tile[..., k].astype(np.float32) for k in range(3)]
    m = _YCBCR.astype(np.float32)
    return [m[i, 0] * rgb[0] + m[i, 1] * rgb[1] + m[i, 2] * rgb[2] for i in range(3)]


def _tiled(img: np.ndarray, core: int, *, sigma, wavelet: str, levels, method: str, mode: str,
           shifts: int) -> np.ndarray:
    """wavelet() on an image too large to transform whole: the thresholds of the whole image, then
    tile by tile with them.

    Pass 1 transforms each tile and keeps, over the tiles' cores, each plane's sum of squares per
    (level, band) and a histogram of the finest diagonal band's |coefficients|; their global
    values give the noise estimate (sigma=None: the histogram's median, within 1.2e-4 relative)
    and the BayesShrink / VisuShrink thresholds of the whole image.  Pass 2 denoises each tile
    with those thresholds and keeps its core.  Cores start on multiples of 2**levels, so the
    tiles' transforms lie on the whole image's grid; tiles reach beyond their cores by what the
    filters' support at the coarsest level needs (db1 without shifts: nothing, the result is then
    the whole image's; cycle spinning moves the grid, so one 2**levels block on each side).
    Memory: the input, the output and one tile's planes and pyramid (tens of bytes a pixel)."""
    # Arguments are checked by the core on a tiny image before any pass.
    c = 1 if img.ndim == 2 else img.shape[2]
    probe = np.zeros((2, 2) if img.ndim == 2 else (2, 2, c), img.dtype)
    _core.wavelet_denoise(probe, sigma=sigma, wavelet=wavelet, method=method, mode=mode, shifts=shifts)
    if img.dtype == np.float32 and not all_finite(img):
        raise ValueError("image contains NaN or infinity")
    h, w = img.shape[:2]
    f = _filter_length(wavelet)
    most = max(int(np.log2(min(h, w) / (f - 1))) if f > 1 else 0, 1)
    if levels is None:
        levels = _core.wavelet_default_levels(h, w, wavelet)
    elif isinstance(levels, bool) or not isinstance(levels, (int, np.integer)) or not 1 <= levels <= most:
        raise ValueError(f"levels must be between 1 and {most} for a {h}x{w} image with {wavelet}, got {levels!r} "
                         f"(None: {_core.wavelet_default_levels(h, w, wavelet)})")
    levels = int(levels)
    block = 1 << levels
    core = -(-core // block) * block
    reach = block * (f // 2) if f > 2 else 0
    before = after = max(reach, block if shifts > 1 else 0)
    least = (f - 1) << levels  # the core refuses tiles too small for the levels
    rows = _spans(h, core, before, after, least, block)
    cols = _spans(w, core, before, after, least, block)
    tiles = [(r, q) for r in rows for q in cols]
    nplanes = 1 if c == 1 else 3

    out = np.empty(img.shape, img.dtype)  # first: an output that cannot be had fails before any work
    white = image_max(img.dtype)
    sumsq = np.zeros((nplanes, levels, 3))
    count = np.zeros((nplanes, levels, 3))
    hist = np.zeros((nplanes, 1 << (32 - _KEY_SHIFT)), np.int64) if sigma is None else None
    for (t0, t1, c0, c1), (u0, u1, d0, d1) in tiles:
        for p, plane in enumerate(_planes(img[t0:t1, u0:u1])):
            coeffs = _core.wavelet_dwt2(plane, wavelet, levels)
            del plane
            for k, bands in enumerate(coeffs[:0:-1]):  # finest first
                lv = k + 1
                y0, y1 = (c0 - t0) >> lv, -(-(c1 - t0) >> lv)
                x0, x1 = (d0 - u0) >> lv, -(-(d1 - u0) >> lv)
                for b, band in enumerate(bands):
                    part = band[y0:y1, x0:x1]
                    sumsq[p, k, b] += float(np.einsum("ij,ij->", part, part, dtype=np.float64))
                    count[p, k, b] += part.size
                    if hist is not None and k == 0 and b == 2:
                        keys = np.abs(part).view(np.uint32) >> _KEY_SHIFT
                        hist[p] += np.bincount(keys[part != 0], minlength=hist.shape[1])
            del coeffs
    thresholds = np.zeros((nplanes, levels, 3), np.float32)
    for p in range(nplanes):
        if hist is None:
            s = sigma * white * (float(np.linalg.norm(_YCBCR[p])) if nplanes == 3 else 1.0)
        else:
            s = _histogram_median(hist[p]) / _MAD
        var = s * s
        if method in ("visu", "VisuShrink"):
            thresholds[p] = s * np.sqrt(2.0 * np.log(float(h * w)))
        else:
            dvar = sumsq[p] / np.maximum(count[p], 1)
            thresholds[p] = var / np.sqrt(np.maximum(dvar - var, _EPS))
    for (t0, t1, c0, c1), (u0, u1, d0, d1) in tiles:
        done = _core.wavelet_denoise(img[t0:t1, u0:u1], wavelet=wavelet, levels=levels, method=method, mode=mode,
                                     shifts=shifts, thresholds=thresholds)
        out[c0:c1, d0:d1] = done[c0 - t0:c1 - t0, d0 - u0:d1 - u0]
        del done
    return out


def _histogram_median(counts: np.ndarray) -> float:
    """numpy's median (the mean of the two middle values for an even count) of the |values| whose
    float32 bit patterns >> _KEY_SHIFT were counted, each bucket taken at its middle; 0 when empty."""
    cum = np.cumsum(counts)
    n = int(cum[-1]) if cum.size else 0
    if n == 0:
        return 0.0

    def value(rank: int) -> float:
        key = int(np.searchsorted(cum, rank, side="right"))
        bits = np.array([(key << _KEY_SHIFT) + (1 << (_KEY_SHIFT - 1))], np.uint32)
        return float(bits.view(np.float32)[0])

    return (value((n - 1) // 2) + value(n // 2)) / 2


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
