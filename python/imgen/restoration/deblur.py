"""Deblurring with a known kernel: scikit-image's Wiener and Richardson-Lucy, per channel.

The image is edge-tapered (reflect-padded by the kernel's size) so that the FFT's periodic model
does not ring at the borders; the padding is cut off again.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .. import methods
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


def _per_plane(image: np.ndarray, kernel, fn) -> np.ndarray:
    image = as_image(image)
    k = as_kernel(kernel)
    top = image_max(image.dtype)
    a = image.astype(np.float64) / top
    planes = a[..., None] if a.ndim == 2 else a
    ph, pw = k.shape
    out = np.empty_like(planes)
    for c in range(planes.shape[2]):
        padded = np.pad(planes[..., c], ((ph, ph), (pw, pw)), mode="reflect" if min(a.shape[:2]) > max(ph, pw)
                        else "edge")
        out[..., c] = fn(padded, k)[ph:ph + a.shape[0], pw:pw + a.shape[1]]
    out = out.reshape(image.shape)
    if image.dtype == np.float32:
        return out.astype(np.float32)
    return np.clip(np.rint(out * top), 0, top).astype(image.dtype)


def wiener(image: np.ndarray, kernel, *, balance: float = BALANCE) -> np.ndarray:
    """Wiener deconvolution (``skimage.restoration.wiener``, Laplacian regulariser) of an HWC/HW
    image blurred by ``kernel`` (array or a name from ``imgen.degrade.fixed_kernels``); ``balance``
    (> 0) trades sharpness for noise.  Same dtype and layout."""
    sk_wiener = _skimage_restoration().wiener
    if not isinstance(balance, (int, float)) or isinstance(balance, bool) or not 0 < balance <= 1e3:
        raise ValueError(f"balance must be a number in (0, 1000], got {balance!r}")
    return _per_plane(image, kernel, lambda p, k: sk_wiener(p, k, float(balance), clip=False))


def richardson_lucy(image: np.ndarray, kernel, *, iterations: int = ITERATIONS) -> np.ndarray:
    """Richardson-Lucy deconvolution (``skimage.restoration.richardson_lucy``) with ``iterations``
    (1-1000) of an HWC/HW image blurred by ``kernel``.  Same dtype and layout."""
    sk_rl = _skimage_restoration().richardson_lucy
    if isinstance(iterations, bool) or not isinstance(iterations, (int, np.integer)) or not 1 <= iterations <= 1000:
        raise ValueError(f"iterations must be an integer from 1 to 1000, got {iterations!r}")
    return _per_plane(image, kernel, lambda p, k: sk_rl(np.clip(p, 0, 1), k, num_iter=int(iterations), clip=True))


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
