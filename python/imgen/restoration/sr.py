"""Classical super-resolution: OpenCV's bicubic and Lanczos interpolation."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .. import methods
from ..degrade import as_image

INTERPOLATIONS = ("bicubic", "lanczos")


def upscale(image: np.ndarray, scale: int, *, method: str = "bicubic") -> np.ndarray:
    """Enlarge an HWC/HW image ``scale`` times (integer 1-16) with OpenCV's INTER_CUBIC
    ("bicubic", a = -0.75) or INTER_LANCZOS4 ("lanczos").  Same dtype and layout; float32 is not
    clipped (a caller wanting [0, 1] clips).  Raises ValueError for a bad scale or method."""
    import cv2

    image = as_image(image)
    if isinstance(scale, bool) or not isinstance(scale, (int, np.integer)) or not 1 <= scale <= 16:
        raise ValueError(f"scale must be an integer from 1 to 16, got {scale!r}")
    if method not in INTERPOLATIONS:
        raise ValueError(f"method must be one of {', '.join(INTERPOLATIONS)}, got {method!r}")
    h, w = image.shape[:2]
    flag = cv2.INTER_CUBIC if method == "bicubic" else cv2.INTER_LANCZOS4
    out = cv2.resize(image, (w * int(scale), h * int(scale)), interpolation=flag)
    return out.reshape(out.shape[:2] + image.shape[2:])


class _Interpolation:
    """The registry's classical SR methods: :func:`upscale` by ``scale``."""

    interpolation = "bicubic"

    @dataclass(frozen=True, kw_only=True)
    class Params(methods.Params):
        scale: int | None = methods.param(
            None, help="sr: the enlargement factor (classical methods need it; checked against a model's)", min=1,
            max=16, required="classical super-resolution needs a scale (2, 3, 4, ...)")

    def __call__(self, image: np.ndarray, params: Params) -> np.ndarray:
        if params.scale is None:  # Params refuses it already; here for the type checker
            raise ValueError("classical super-resolution needs a scale (2, 3, 4, ...)")
        return upscale(image, params.scale, method=self.interpolation)


@methods.register("bicubic", task="sr", help="OpenCV INTER_CUBIC (a = -0.75)", layout="any")
class Bicubic(_Interpolation):
    interpolation = "bicubic"


@methods.register("lanczos", task="sr", help="OpenCV INTER_LANCZOS4", layout="any")
class Lanczos(_Interpolation):
    interpolation = "lanczos"
