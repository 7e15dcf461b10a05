"""Full-reference image quality metrics over HWC numpy images: PSNR and SSIM.

Both take two images of the same shape and dtype: (H, W) or (H, W, C) with C in {1, 3, 4}, uint8,
uint16 or float32 (float64 is accepted and converted to float32).  The work runs in the C++ core
(``imgen._core``) on the kernel thread pool (see ``imgen.set_num_threads``), without the GIL; the
results do not depend on the number of threads.

``data_range`` defaults to the white level of the dtype: 255 (uint8), 65535 (uint16), 1.0 (float).
scikit-image would take 2.0 for float images (the span of [-1, 1]); we deliberately use 1.0, the
range of float images in this package.
"""
from __future__ import annotations

import numpy as np

from . import _core
from ._validate import as_image

__all__ = ["psnr", "ssim"]


def _image_pair(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    a_checked = as_image(a, "a")
    b_checked = as_image(b, "b")
    if a.dtype != b.dtype:
        raise TypeError(f"a and b must have the same dtype, got {a.dtype} and {b.dtype}")
    if a.shape != b.shape:
        raise ValueError(f"a and b must have the same shape, got {a.shape} and {b.shape}")
    return a_checked, b_checked


def psnr(a: np.ndarray, b: np.ndarray, *, data_range: float | None = None) -> float:
    """Peak signal-to-noise ratio of two images, in dB: 10 log10(data_range^2 / MSE).

    a, b: HWC images (H, W) or (H, W, C), C in {1, 3, 4}, the same shape and dtype (uint8,
        uint16, float32; float64 is converted to float32).
    data_range: the span of pixel values; defaults to 255 (uint8), 65535 (uint16) or 1.0 (float).
    Returns inf for identical images.  The MSE is taken over all samples, exactly for integer
    images and in double precision for float ones, so the result equals scikit-image's
    ``peak_signal_noise_ratio(a, b, data_range=...)``.
    Raises TypeError for a non-array, an unsupported dtype or differing dtypes; ValueError for a
    bad shape, differing shapes, a bad data_range, or a float image holding NaN or infinity.
    """
    a, b = _image_pair(a, b)
    return _core.psnr(a, b, data_range=data_range)


def ssim(a: np.ndarray, b: np.ndarray, *, data_range: float | None = None) -> float:
    """Mean structural similarity of two images (Wang et al. 2004), in [-1, 1]; 1 when identical.

    The Gaussian-window SSIM: sigma 1.5 truncated at 3.5 sigma (an 11x11 window), K1 = 0.01,
    K2 = 0.03, population (co)variances, computed in double precision and averaged over the pixels
    whose window lies inside the image (the image cropped by 5 pixels on each side); colour images
    give the mean of the per-channel SSIM.  This is scikit-image's
    ``structural_similarity(a, b, gaussian_weights=True, sigma=1.5, use_sample_covariance=False,
    data_range=..., channel_axis=-1)`` (``channel_axis=None`` for 2-D images).

    a, b: HWC images (H, W) or (H, W, C), C in {1, 3, 4}, at least 11x11, the same shape and dtype
        (uint8, uint16, float32; float64 is converted to float32).
    data_range: the span of pixel values; defaults to 255 (uint8), 65535 (uint16) or 1.0 (float).
    Raises TypeError for a non-array, an unsupported dtype or differing dtypes; ValueError for a
    bad shape, differing shapes, images smaller than 11x11, a data_range outside [1e-60, 1e60]
    (its squares C1, C2 would underflow or overflow), or a float image holding NaN or infinity.
    """
    a, b = _image_pair(a, b)
    return _core.ssim(a, b, data_range=data_range)
