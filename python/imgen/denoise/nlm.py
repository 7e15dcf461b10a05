"""Non-local means denoising: OpenCV's ``fastNlMeansDenoising`` (gray) and
``fastNlMeansDenoisingColored`` (colour, filtered in CIELAB), registered as method ``nlm``.

The filter strength comes from imgen's noise level: ``h = strength * sigma * 255`` gray levels,
sigma a fraction of the full range whatever the dtype.  The default strength 0.8 is
scikit-image's example value and the peer's in ``imgen bench`` (``opencv-nlm``); on 256x256 crops
of scikit-image's camera (gray) / astronaut (colour) at sigma 15, 25, 50 (0-255 scale) it scores
32.6 / 30.3 / 27.0 dB and 29.1 / 26.8 / 23.4 dB, within 0.9 dB of the best of 0.6-1.2 each time.

OpenCV's NLM works on 8-bit images (its 16-bit path is gray-only and uses an L1 patch distance,
which changes what h means): uint8 is filtered as is; uint16, float32 and float64 images are
rounded to 8 bits, filtered and scaled back to their dtype (so the result has 8-bit precision;
float32 comes back in [0, 1]).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .. import methods
from .._validate import as_image, image_max
from ._sigma import estimate_sigma

#: The defaults, stated once: h = STRENGTH * sigma (0-255 scale); OpenCV's window sizes.
STRENGTH = 0.8
PATCH = 7
SEARCH = 21


def nlm(image: np.ndarray, *, sigma: float | None = None, strength: float = STRENGTH, patch: int = PATCH,
        search: int = SEARCH) -> np.ndarray:
    """Denoise an HWC image with OpenCV's fast non-local means.

    image: (H, W), (H, W, 1) gray or (H, W, 3) RGB; uint8 (filtered natively), uint16, float32 or
        float64 in [0, 1] (filtered at 8 bits, see the module notes).  Colour is filtered in CIELAB
        (``fastNlMeansDenoisingColored``, the same h for lightness and colour).
    sigma: noise standard deviation as a fraction of the full range (25/255 for 25 gray levels of
        a uint8 image); None estimates it (:func:`estimate_sigma`); 0 returns a copy.
    strength: h = strength * sigma * 255 (> 0).  patch / search: OpenCV's templateWindowSize and
        searchWindowSize, odd (defaults 7 and 21, OpenCV's).

    Returns a new array of the input's shape and dtype.  Raises ValueError for a bad channel count,
    sigma outside [0, 1], a non-positive strength or an even / non-positive window.
    """
    import cv2

    img = as_image(image, "image")
    if not (img.ndim == 2 or img.shape[2] in (1, 3)):
        raise ValueError(f"nlm takes gray (H, W) / (H, W, 1) or RGB (H, W, 3) images, got shape {img.shape}")
    if not strength > 0:
        raise ValueError(f"strength must be > 0, got {strength!r}")
    for name, w in (("patch", patch), ("search", search)):
        if isinstance(w, bool) or not isinstance(w, (int, np.integer)) or w < 1 or w % 2 == 0:
            raise ValueError(f"{name} must be an odd integer >= 1, got {w!r}")
    if sigma is None:
        sigma = estimate_sigma(img)
    if not 0 <= sigma <= 1:
        raise ValueError(f"sigma must be in [0, 1], a fraction of the full range, got {sigma!r}")
    dtype = image.dtype if isinstance(image, np.ndarray) else img.dtype
    if sigma == 0:
        return np.array(image, dtype=dtype, copy=True)
    top = image_max(img.dtype)
    u8 = img if img.dtype == np.uint8 else np.clip(np.rint(img.astype(np.float64) * (255.0 / top)), 0, 255
                                                   ).astype(np.uint8)
    h = float(strength * sigma * 255.0)
    if u8.ndim == 3 and u8.shape[2] == 3:
        out = cv2.fastNlMeansDenoisingColored(np.ascontiguousarray(u8[..., ::-1]), None, h, h, int(patch),
                                              int(search))[..., ::-1]
    else:
        out = cv2.fastNlMeansDenoising(np.ascontiguousarray(u8.reshape(u8.shape[:2])), None, h, int(patch),
                                       int(search)).reshape(u8.shape)
    if dtype == np.uint8:
        return np.ascontiguousarray(out)
    if np.issubdtype(dtype, np.floating):
        return (out.astype(np.float64) / 255.0).astype(dtype)
    return np.clip(np.rint(out.astype(np.float64) * (top / 255.0)), 0, top).astype(dtype)


@methods.register("nlm", task="denoise", help="non-local means (OpenCV fastNlMeansDenoising[Colored]), 8-bit")
class NlmDenoise:
    """The registry's ``nlm``: :func:`nlm`."""

    @dataclass(frozen=True, kw_only=True)
    class Params(methods.Params):
        sigma: float | None = methods.sigma_param()
        strength: float = methods.param(STRENGTH, help="filter strength: h = strength x sigma", min=0.0,
                                        min_open=True, max=100.0)
        patch: int = methods.param(PATCH, help="patch (template window) size, odd", choices=tuple(range(1, 36, 2)),
                                   metavar="N")
        search: int = methods.param(SEARCH, help="search window size, odd", choices=tuple(range(1, 100, 2)),
                                    metavar="N")

    def __call__(self, image: np.ndarray, params: Params) -> np.ndarray:
        return nlm(image, sigma=params.sigma, strength=params.strength, patch=params.patch, search=params.search)
