"""Deblurring with a known kernel: scikit-image's Wiener and Richardson-Lucy, per channel.

The image is edge-tapered (reflect-padded by the kernel's size) so that the FFT's periodic model
does not ring at the borders; the padding is cut off again.  Both deconvolve images over
``imgen._bands.WHOLE_PIXELS`` (16 Mi) in horizontal bands with margins (:func:`wiener`,
:func:`richardson_lucy`), so their working memory is bounded by the band, not the image.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .. import methods
from .._bands import band_rows, check_band, spans
from .._validate import image_max
from ..degrade import as_image, as_kernel

#: The defaults, stated once: the functions' keywords and the registry's Params read them.
BALANCE = 0.01
ITERATIONS = 30


def _skimage_restoration():
    try:
        from skimage import restoration
    except ImportError:
        raise ImportError("classical deblurring needs scikit-image: pip install 'imgen[restore]'") from None
    return restoration


def _deconvolve_plane(plane: np.ndarray, k: np.ndarray, fn) -> np.ndarray:
    """``fn(padded, k)`` of one float64 plane, reflect-padded by the kernel's size, then cropped."""
    ph, pw = k.shape
    padded = np.pad(plane, ((ph, ph), (pw, pw)), mode="reflect" if min(plane.shape) > max(ph, pw) else "edge")
    return fn(padded, k)[ph:ph + plane.shape[0], pw:pw + plane.shape[1]]


def _per_plane(image: np.ndarray, kernel, fn, *, rows: int = 0, margin: int = 0) -> np.ndarray:
    """``fn`` on each channel, in horizontal bands of ``rows`` rows (0: whole) that each carry
    ``margin`` rows of context above and below; float64 working planes of one band at a time."""
    image = as_image(image)
    k = as_kernel(kernel)
    top = image_max(image.dtype)
    h = image.shape[0]
    out = np.empty(image.shape, image.dtype)
    for c0, c1, t0, t1 in spans(h, rows or h, margin):
        part = image[t0:t1].astype(np.float64) / top
        planes = part[..., None] if part.ndim == 2 else part
        done = np.stack([_deconvolve_plane(planes[..., c], k, fn) for c in range(planes.shape[2])], axis=-1)
        done = done[c0 - t0:c1 - t0].reshape((c1 - c0,) + image.shape[1:])
        if image.dtype == np.float32:
            out[c0:c1] = done
        else:
            out[c0:c1] = np.clip(np.rint(done * top), 0, top)
    return out


def deconvolution_margin(kernel, iterations: int = 0) -> int:
    """Rows of context a deconvolution band needs beyond its edge.  Wiener's inverse filter is
    global, but its response decays within a few kernel widths: with 64 rows, bands of a 1024-row
    image gave the whole call's pixels to 0.007 of a uint8 level inside it (gauss3 at balance 1e-3,
    the slowest of gauss1.6 / gauss3 / motion25 at 1e-3 to 0.1); this adds two kernel heights for
    larger kernels.  Richardson-Lucy's reach grows with its ``iterations``, slowly: on a 1024 x 512
    Set12 mosaic at noise 2.55, 96 rows gave the whole call's pixels exactly (to 1e-4 of a level)
    for gauss1.6 / gauss3 / motion25 at 30 iterations and gauss3 at 150 (48 rows: 0.003 and 0.02
    of a level); this adds iterations / 8 rows."""
    return 64 + 2 * as_kernel(kernel).shape[0] + int(iterations) // 8


def _rows(shape: tuple[int, ...], band) -> int:
    """The rows of each band's own part; 0: deconvolve the image whole."""
    check_band(band)
    return band_rows(shape[0], shape[1], band)


def wiener(image: np.ndarray, kernel, *, balance: float = BALANCE, band: int | None = None) -> np.ndarray:
    """Wiener deconvolution (``skimage.restoration.wiener``, Laplacian regulariser) of an HWC/HW
    image blurred by ``kernel`` (array or a name from ``imgen.degrade.fixed_kernels``); ``balance``
    (> 0) trades sharpness for noise.  Same dtype and layout.

    band: None (default) deconvolves images of up to WHOLE_PIXELS (16 Mi) pixels whole and larger
    ones in horizontal bands of about BAND_PIXELS (8 Mi); 0 always whole; N > 0 bands of N rows
    when the image is taller.  Each band carries :func:`deconvolution_margin` rows of context each side, so working
    memory (about 40 bytes a pixel per channel) is bounded by the band.  Inside the image a banded
    call gives the whole call's pixels to within 0.01 of a uint8 level; in the top and bottom rows
    (about two kernel heights) the two differ as much as the FFT's wrap-around does, since the whole
    call joins the image's bottom to its top and a band its own edge (measured against the sharp
    image: the banded call's MSE within 0.1-1.2% of the whole call's, either way)."""
    sk_wiener = _skimage_restoration().wiener
    if not isinstance(balance, (int, float)) or isinstance(balance, bool) or not 0 < balance <= 1e3:
        raise ValueError(f"balance must be a number in (0, 1000], got {balance!r}")
    image = as_image(image)
    rows = _rows(image.shape, band)
    return _per_plane(image, kernel, lambda p, k: sk_wiener(p, k, float(balance), clip=False),
                      rows=rows, margin=deconvolution_margin(kernel) if rows else 0)


def richardson_lucy(image: np.ndarray, kernel, *, iterations: int = ITERATIONS, band: int | None = None) -> np.ndarray:
    """Richardson-Lucy deconvolution (``skimage.restoration.richardson_lucy``) with ``iterations``
    (1-1000) of an HWC/HW image blurred by ``kernel``.  Same dtype and layout.

    band: as :func:`wiener`'s (None: bands of about 8 Mi pixels on images over 16 Mi), each band
    with :func:`deconvolution_margin` rows of context each side, so working memory is bounded by
    the band.  A banded call gives the whole call's pixels to 1e-4 of a uint8 level, edges included
    (both reflect-pad the image's top and bottom; measured, see deconvolution_margin)."""
    sk_rl = _skimage_restoration().richardson_lucy
    if isinstance(iterations, bool) or not isinstance(iterations, (int, np.integer)) or not 1 <= iterations <= 1000:
        raise ValueError(f"iterations must be an integer from 1 to 1000, got {iterations!r}")
    image = as_image(image)
    rows = _rows(image.shape, band)
    return _per_plane(image, kernel, lambda p, k: sk_rl(np.clip(p, 0, 1), k, num_iter=int(iterations), clip=True),
                      rows=rows, margin=deconvolution_margin(kernel, iterations) if rows else 0)


def _kernel_value(kernel):
    """A Params kernel: a fixed kernel's name as is (checked), an array as a tuple of rows (hashable)."""
    k = as_kernel(kernel if isinstance(kernel, str) else np.asarray(kernel, np.float64))
    return kernel if isinstance(kernel, str) else tuple(tuple(float(v) for v in row) for row in k)


def _kernel_text(text: str):
    """A kernel as text gives it: a fixed kernel's name, or a .npy file holding a 2-D array."""
    if not text.endswith(".npy"):
        return text
    try:
        return np.load(text, allow_pickle=False)
    except (OSError, ValueError) as e:
        raise ValueError(f"{text}: cannot read a 2-D array from it ({e})") from None


def _kernel_param():
    return methods.param(None, help="the known blur kernel, a fixed kernel's name (gauss1.6, gauss3, motion19, "
                                    "motion25) or a .npy file holding a 2-D array",
                         required="classical deblurring needs the blur kernel (a fixed kernel's name or a 2-D array)",
                         convert=_kernel_value, parse=_kernel_text)


def _balance_param():
    return methods.param(BALANCE, help="regularisation: sharpness against noise", min=0.0, min_open=True, max=1000.0)


def _as_array(kernel):
    return kernel if isinstance(kernel, str) else np.asarray(kernel, np.float64)


@methods.register("wiener", task="deblur", help="Wiener deconvolution (scikit-image), the known kernel")
class WienerDeblur:
    """The registry's ``wiener``: :func:`wiener`."""

    @dataclass(frozen=True, kw_only=True)
    class Params(methods.Params):
        kernel: str | tuple | None = _kernel_param()
        balance: float = _balance_param()

    def __call__(self, image: np.ndarray, params: Params) -> np.ndarray:
        return wiener(image, _as_array(params.kernel), balance=params.balance)


@methods.register("richardson_lucy", task="deblur", help="Richardson-Lucy deconvolution (scikit-image), the known kernel")
class RichardsonLucyDeblur:
    """The registry's ``richardson_lucy``: :func:`richardson_lucy`."""

    @dataclass(frozen=True, kw_only=True)
    class Params(methods.Params):
        kernel: str | tuple | None = _kernel_param()
        iterations: int = methods.param(ITERATIONS, help="iterations", min=1, max=1000)

    def __call__(self, image: np.ndarray, params: Params) -> np.ndarray:
        return richardson_lucy(image, _as_array(params.kernel), iterations=params.iterations)
