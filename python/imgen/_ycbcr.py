"""RGB <-> YCbCr planes for models that run on one channel of a colour image (``imgen.pixels``).

Two BT.601 conversions, as data:

- ``FULL``: full range, JPEG's (Y in [0, 1], Cb and Cr offset by 0.5): how a gray model
  (``imgen.color_space`` rgb, 1 channel) sees a colour image, each plane being a gray image.
- ``STUDIO``: MATLAB's ``rgb2ycbcr`` (Y = 16/255 + (65.481 R + 128.553 G + 24.966 B) / 255, Cb and
  Cr around 128/255): the Y channel the SR papers train on (``imgen.color_space`` y).

Planes are float32 (H, W) in the [0, 1] scale of the image (or, made one at a time by
:func:`plane`, uint16: the value x 65535); conversions run a band of rows at a time, so the planes
are the only full-size arrays.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ._validate import image_max


@dataclass(frozen=True)
class YCbCr:
    """Y, Cb, Cr = matrix @ (R, G, B) + offset, for R, G, B in [0, 1]."""

    name: str
    matrix: tuple[tuple[float, float, float], ...]
    offset: tuple[float, float, float]

    @property
    def forward(self) -> np.ndarray:
        return np.asarray(self.matrix, np.float64)

    @property
    def inverse(self) -> np.ndarray:
        return np.linalg.inv(self.forward)

    @property
    def noise(self) -> tuple[float, float, float]:
        """Each plane's noise standard deviation for unit i.i.d. noise on R, G and B (row norms)."""
        y, cb, cr = (float(n) for n in np.linalg.norm(self.forward, axis=1))
        return y, cb, cr

    def gray_to_y(self, gray: np.ndarray) -> np.ndarray:
        """Y of a gray image taken as R = G = B (float32 [0, 1] plane in, float32 out)."""
        return (gray * np.float32(sum(self.matrix[0])) + np.float32(self.offset[0])).astype(np.float32, copy=False)

    def y_to_gray(self, y: np.ndarray) -> np.ndarray:
        """The inverse of :meth:`gray_to_y`."""
        return ((y - np.float32(self.offset[0])) / np.float32(sum(self.matrix[0]))).astype(np.float32, copy=False)


FULL = YCbCr("full", ((0.299, 0.587, 0.114), (-0.168736, -0.331264, 0.5), (0.5, -0.418688, -0.081312)),
             (0.0, 0.5, 0.5))
STUDIO = YCbCr("studio", ((65.481 / 255, 128.553 / 255, 24.966 / 255),
                          (-37.797 / 255, -74.203 / 255, 112.0 / 255),
                          (112.0 / 255, -93.786 / 255, -18.214 / 255)),
               (16 / 255.0, 128 / 255.0, 128 / 255.0))

# Rows of a band in the conversions: about 2**18 pixels, so their temporaries stay small (a few
# MiB) whatever the image's size.
BAND_PIXELS = 1 << 18


def _bands(height: int, width: int):
    step = max(1, BAND_PIXELS // max(width, 1))
    return (slice(y, y + step) for y in range(0, height, step))


def to_planes(image: np.ndarray, color_order: str, space: YCbCr = FULL) -> list[np.ndarray]:
    """Y, Cb, Cr of an HWC colour image (alpha left out) as float32 (H, W) planes.  Computed in
    float32 a band of rows at a time: the three planes are the only full-size arrays (12 bytes a
    pixel)."""
    h, w = image.shape[:2]
    order = (2, 1, 0) if color_order == "bgr" else (0, 1, 2)
    k = (space.forward / image_max(image.dtype)).astype(np.float32)
    planes = [np.empty((h, w), np.float32) for _ in range(3)]
    for band in _bands(h, w):
        chans = [image[band, :, c].astype(np.float32) for c in order]
        tmp = np.empty_like(chans[0])
        for c, plane in enumerate(planes):
            out = plane[band]
            np.multiply(chans[0], k[c, 0], out=out)
            out += np.multiply(chans[1], k[c, 1], out=tmp)
            out += np.multiply(chans[2], k[c, 2], out=tmp)
            if space.offset[c]:
                out += np.float32(space.offset[c])
        del chans, tmp  # freed before the next band's
    return planes


def plane(image: np.ndarray, color_order: str, c: int, space: YCbCr = FULL, *, compact: bool = False) -> np.ndarray:
    """Plane ``c`` (0 Y, 1 Cb, 2 Cr) of :func:`to_planes` alone, the same values; ``compact``: as
    uint16 (the value x 65535, rounded and clipped to [0, 1]; 2 bytes a pixel instead of 4, an
    error of at most 1/131070, far below an 8-bit step)."""
    h, w = image.shape[:2]
    order = (2, 1, 0) if color_order == "bgr" else (0, 1, 2)
    k = (space.forward / image_max(image.dtype)).astype(np.float32)
    out = np.empty((h, w), np.uint16 if compact else np.float32)
    for band in _bands(h, w):
        chans = [image[band, :, ch].astype(np.float32) for ch in order]
        value = np.multiply(chans[0], k[c, 0])  # the order of to_planes' sums: the same float32 values
        value += np.multiply(chans[1], k[c, 1], out=chans[0])
        value += np.multiply(chans[2], k[c, 2], out=chans[1])
        if space.offset[c]:
            value += np.float32(space.offset[c])
        out[band] = to_compact(value) if compact else value
        del chans, value  # freed before the next band's
    return out


def to_compact(plane: np.ndarray) -> np.ndarray:
    """A float plane ([0, 1] scale) as uint16 (x 65535, rounded, clipped to [0, 1])."""
    value = np.clip(plane, 0.0, 1.0) * np.float32(65535)
    return np.rint(value, out=value).astype(np.uint16)


def from_planes(planes: list[np.ndarray], dtype: np.dtype, color_order: str, space: YCbCr = FULL,
                clamp: bool = False) -> np.ndarray:
    """The inverse of :func:`to_planes`: an (H, W, 3) image of ``dtype`` (integers rounded and
    clipped; float32 clipped to [0, 1] only with ``clamp``).  float64 a band of rows at a time.
    Planes may be float or uint16 (:func:`plane`'s compact form, value x 65535)."""
    planes = [p if p.ndim == 2 else p[..., 0] for p in planes]
    h, w = planes[0].shape
    dtype = np.dtype(dtype)
    top = image_max(dtype)
    inverse = space.inverse.T
    out = np.empty((h, w, 3), dtype)
    for band in _bands(h, w):
        ycc = np.stack([p[band] for p in planes], axis=2).astype(np.float64)
        for c, p in enumerate(planes):
            if p.dtype == np.uint16:
                ycc[..., c] /= 65535.0
        ycc -= np.asarray(space.offset)
        rgb = ycc @ inverse
        if color_order == "bgr":
            rgb = rgb[..., ::-1]
        if dtype == np.float32:
            out[band] = np.clip(rgb, 0.0, 1.0) if clamp else rgb
        else:
            out[band] = np.clip(np.rint(rgb * top), 0, top)
    return out
