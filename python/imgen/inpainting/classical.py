"""Classical inpainting: OpenCV Telea and Navier-Stokes (cv2.inpaint), scikit-image biharmonic.

imgen's own exemplar-based fill (patchmatch.py, C++) is not among the methods: on the benchmark's
holes it scores 1.3-2.6 dB below Telea over the holes on Set12 (docs/benchmark-results.md), so it
is reachable as ``imgen.inpainting.patchmatch`` and in ``imgen bench --task inpaint`` only.

Images are HWC uint8 / uint16 / float32 (0-1); channels (alpha included) are filled one at a time
so every dtype keeps its precision.  The result is composed: outside the mask, the input exactly.
"""
from __future__ import annotations

import numpy as np

from ..errors import MissingExtraError
from .compose import compose

METHODS = ("telea", "ns", "biharmonic")
#: cv2.inpaint's neighbourhood radius, pixels.
DEFAULT_RADIUS = 3


def _cv2(image: np.ndarray, mask: np.ndarray, flag: int, radius: int) -> np.ndarray:
    import cv2

    mask8 = mask.astype(np.uint8)
    if image.dtype == np.float32:
        # OpenCV's float32 Telea overshoots far out of the known range (-1.2..2.2 filling a 0-1
        # photo): float images go through uint16 over the known pixels' range and back.
        known = image[~mask]
        lo, hi = (float(known.min()), float(known.max())) if known.size else (0.0, 1.0)
        span = hi - lo if hi > lo else 1.0
        u16 = np.rint(np.clip((image - lo) / span, 0, 1) * 65535).astype(np.uint16)
        return (_cv2(u16, mask, flag, radius).astype(np.float32) / 65535 * span + lo).astype(np.float32)
    planes = [image] if image.ndim == 2 else [image[..., c] for c in range(image.shape[2])]
    out = [cv2.inpaint(np.ascontiguousarray(p), mask8, radius, flag) for p in planes]
    return out[0] if image.ndim == 2 else np.stack(out, axis=2)


def _biharmonic(image: np.ndarray, mask: np.ndarray) -> np.ndarray:
    try:
        from skimage.restoration import inpaint_biharmonic
    except ImportError:
        raise MissingExtraError("inpainting method biharmonic needs scikit-image: pip install 'imgen[bench]' "
                         "(or scikit-image); telea and ns need nothing more") from None

    top = {np.dtype(np.uint8): 255.0, np.dtype(np.uint16): 65535.0}.get(image.dtype, 1.0)
    filled = inpaint_biharmonic(image.astype(np.float64) / top, mask,
                                channel_axis=None if image.ndim == 2 else -1)
    if image.dtype == np.float32:
        return filled.astype(np.float32)
    return np.clip(np.rint(filled * top), 0, top).astype(image.dtype)


def fill(image: np.ndarray, mask: np.ndarray, method: str, *, radius: int = DEFAULT_RADIUS) -> np.ndarray:
    """``image`` with the pixels where ``mask`` (H, W bool, True = missing) is set filled by
    ``method`` (telea, ns, biharmonic); same shape and dtype; outside the mask unchanged.
    Raises ValueError for a mask that covers every pixel (nothing known to fill from)."""
    if method not in METHODS:
        raise ValueError(f"inpainting method must be one of {', '.join(METHODS)}, got {method!r}")
    if not 1 <= radius <= 64:
        raise ValueError(f"inpainting radius must be 1-64 pixels, got {radius}")
    if not mask.any():
        return image.copy()
    if mask.all():
        # Nothing known to fill from: biharmonic failed inside scikit-image with a raw NumPy error
        # (a reduction over zero known points) and OpenCV gave back the masked pixels unchanged.
        raise ValueError(f"mask covers every pixel of the {mask.shape[0]}x{mask.shape[1]} image: {method} inpainting "
                         "fills missing pixels from known ones and there are none; leave some pixels unmasked")
    if method == "biharmonic":
        filled = _biharmonic(image, mask)
    else:
        import cv2

        filled = _cv2(image, mask, cv2.INPAINT_TELEA if method == "telea" else cv2.INPAINT_NS, radius)
    return compose(image, filled, mask)
