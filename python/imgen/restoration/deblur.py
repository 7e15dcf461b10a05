"""Deblurring with a known kernel: scikit-image's Wiener and Richardson-Lucy, per channel.

The image is edge-tapered (reflect-padded by the kernel's size) so that the FFT's periodic model
does not ring at the borders; the padding is cut off again.
"""
from __future__ import annotations

import numpy as np

from .._validate import image_max
from ..degrade import as_image, as_kernel


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


def wiener(image: np.ndarray, kernel, *, balance: float = 0.01) -> np.ndarray:
    """Wiener deconvolution (``skimage.restoration.wiener``, Laplacian regulariser) of an HWC/HW
    image blurred by ``kernel`` (array or a name from ``imgen.degrade.fixed_kernels``); ``balance``
    (> 0) trades sharpness for noise.  Same dtype and layout."""
    sk_wiener = _skimage_restoration().wiener
    if not isinstance(balance, (int, float)) or isinstance(balance, bool) or not 0 < balance <= 1e3:
        raise ValueError(f"balance must be a number in (0, 1000], got {balance!r}")
    return _per_plane(image, kernel, lambda p, k: sk_wiener(p, k, float(balance), clip=False))


def richardson_lucy(image: np.ndarray, kernel, *, iterations: int = 30) -> np.ndarray:
    """Richardson-Lucy deconvolution (``skimage.restoration.richardson_lucy``) with ``iterations``
    (1-1000) of an HWC/HW image blurred by ``kernel``.  Same dtype and layout."""
    sk_rl = _skimage_restoration().richardson_lucy
    if isinstance(iterations, bool) or not isinstance(iterations, (int, np.integer)) or not 1 <= iterations <= 1000:
        raise ValueError(f"iterations must be an integer from 1 to 1000, got {iterations!r}")
    return _per_plane(image, kernel, lambda p, k: sk_rl(np.clip(p, 0, 1), k, num_iter=int(iterations), clip=True))
