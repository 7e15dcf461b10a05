"""JPEG artefact removal: BM3D with a noise level derived from the JPEG quality.

``jpeg_sigma(quality)``: the standard deviation of JPEG's error on gray train400 images (100 of
them, OpenCV/libjpeg, 4:2:0 irrelevant for gray), measured at the qualities in ``_TABLE`` by
``benchmarks/studies/jpeg_error_sigma.py`` and interpolated linearly in log(quality) between them (a
power law q^-0.51 missed the ends by up to 1.7 on the 0-255 scale, so the table is used).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
import os
import struct
from pathlib import Path

import numpy as np

from .. import methods
from ..degrade import as_image

# quality -> error std on the 0-255 scale (benchmarks/studies/jpeg_error_sigma.py, train400, 2026-12-01)
_TABLE = ((1, 16.573), (5, 16.573), (10, 12.842), (15, 11.145), (20, 10.102), (25, 9.326), (30, 8.717),
          (40, 7.807), (50, 7.094), (60, 6.411), (70, 5.545), (80, 4.406), (90, 2.750), (100, 0.8))


def jpeg_sigma(quality: int) -> float:
    """The noise level (a fraction of the full range) that BM3D uses for a JPEG of ``quality``
    (1-100; below 5 the value at 5, at 100 an assumed 0.8/255)."""
    if isinstance(quality, bool) or not isinstance(quality, (int, np.integer)) or not 1 <= quality <= 100:
        raise ValueError(f"quality must be an integer from 1 to 100, got {quality!r}")
    qs = [math.log(q) for q, _ in _TABLE]
    return float(np.interp(math.log(int(quality)), qs, [s for _, s in _TABLE])) / 255.0


def dejpeg_bm3d(image: np.ndarray, quality: int | None = None, *, sigma: float | None = None) -> np.ndarray:
    """Remove JPEG artefacts from an HWC/HW image (dtype kept) with imgen's BM3D at
    ``jpeg_sigma(quality)``, or at ``sigma`` (a fraction of the full range) if given, or at the
    sigma BM3D estimates if neither is given."""
    from ..denoise import bm3d

    image = as_image(image)
    if sigma is None and quality is not None:
        sigma = jpeg_sigma(quality)
    return bm3d(image, sigma=sigma)


@methods.register("bm3d", task="jpeg", help="BM3D at the noise level of the JPEG quality (jpeg_sigma)")
class Bm3dDejpeg:
    """The registry's ``bm3d`` for task jpeg: :func:`dejpeg_bm3d`."""

    @dataclass(frozen=True, kw_only=True)
    class Params(methods.Params):
        quality: int | None = methods.param(None, help="the quality the images were saved at (sets BM3D's sigma; "
                                                       "default: imgen restore reads it from each JPEG file's "
                                                       "quantisation tables, else sigma estimated per image; "
                                                       "writes PNG unless --ext or -o says otherwise)", min=1, max=100)
        sigma: float | None = methods.sigma_param()

    def __call__(self, image: np.ndarray, params: Params) -> np.ndarray:
        return dejpeg_bm3d(image, params.quality, sigma=params.sigma)
# -- the quality a JPEG file was saved at, from its quantisation tables -----------------------------

# The IJG (libjpeg) standard luminance table (JPEG spec Annex K.1), natural (row-major) order: what
# libjpeg, OpenCV, Pillow and most cameras' "quality" scales (jcparam.c, jpeg_quality_scaling).
_IJG_LUMA = np.array([
    16, 11, 10, 16, 24, 40, 51, 61, 12, 12, 14, 19, 26, 58, 60, 55,
    14, 13, 16, 24, 40, 57, 69, 56, 14, 17, 22, 29, 51, 87, 80, 62,
    18, 22, 37, 56, 68, 109, 103, 77, 24, 35, 55, 64, 81, 104, 113, 92,
    49, 64, 78, 87, 103, 121, 120, 101, 72, 92, 95, 98, 112, 100, 103, 99], np.int64)
# natural-order index of the k-th coefficient in zigzag order (DQT stores tables in zigzag order)
_ZIGZAG = np.array([
    0, 1, 8, 16, 9, 2, 3, 10, 17, 24, 32, 25, 18, 11, 4, 5, 12, 19, 26, 33, 40, 48, 41, 34, 27, 20, 13, 6, 7, 14,
    21, 28, 35, 42, 49, 56, 57, 50, 43, 36, 29, 22, 15, 23, 30, 37, 44, 51, 58, 59, 52, 45, 38, 31, 39, 46, 53,
    60, 61, 54, 47, 55, 62, 63])


def ijg_table(quality: int) -> np.ndarray:
    """libjpeg's luminance table at ``quality`` (1-100), natural order, baseline (1-255)."""
    scale = 5000 // quality if quality < 50 else 200 - 2 * quality
    return np.clip((_IJG_LUMA * scale + 50) // 100, 1, 255)


def _luma_table(head: bytes) -> np.ndarray | None:
    """Table 0 of the first DQT segment that defines it (natural order), from a JPEG's bytes up to
    its first scan; None when there is none."""
    if head[:2] != b"\xff\xd8":
        return None
    at = 2
    while at + 4 <= len(head):
        if head[at] != 0xFF:
            return None
        marker = head[at + 1]
        if marker == 0xFF:  # fill byte
            at += 1
            continue
        if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7:
            at += 2
            continue
        (length,) = struct.unpack(">H", head[at + 2:at + 4])
        body = head[at + 4:at + 2 + length]
        if marker == 0xDA or len(body) != length - 2:  # the first scan, or a truncated segment
            return None
        if marker == 0xDB:
            k = 0
            while k < len(body):
                precision, table = body[k] >> 4, body[k] & 15
                size = 128 if precision else 64
                raw = body[k + 1:k + 1 + size]
                if len(raw) != size:
                    return None
                values = np.frombuffer(raw, ">u2" if precision else np.uint8).astype(np.int64)
                if table == 0:
                    natural = np.empty(64, np.int64)
                    natural[_ZIGZAG] = values
                    return natural
                k += 1 + size
        at += 2 + length
    return None


def estimate_quality(source: str | os.PathLike | bytes) -> tuple[int, bool] | None:
    """(quality, exact) a JPEG file was saved at, read from its luminance quantisation table: the
    IJG quality whose scaled standard table (:func:`ijg_table`) is closest to the file's (exact:
    equal, as for libjpeg, OpenCV and Pillow files).  ``source``: a path (only the header is read)
    or the file's bytes.  None for a file that is not a JPEG or has no table 0."""
    if isinstance(source, (bytes, bytearray, memoryview)):
        head = bytes(source[:1 << 20])
    else:
        try:
            with open(Path(source), "rb") as f:
                head = f.read(1 << 20)  # the tables come before the first scan, within the first segments
        except OSError:
            return None
    try:
        table = _luma_table(head)
    except (struct.error, IndexError, ValueError):
        return None
    if table is None:
        return None
    errors = [int(np.abs(ijg_table(q) - table).sum()) for q in range(1, 101)]
    best = int(np.argmin(errors))
    return best + 1, errors[best] == 0
