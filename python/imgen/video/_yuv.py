"""8-bit 4:2:0 video frames <-> RGB24 in imgen's C++ core, without libswscale and without copies.

The kernels (``imgen._core.yuv420_to_rgb`` / ``rgb_to_yuv420``) read and write the PyAV frame's own
planes, run on imgen's threads without the GIL and match libswscale within one level: decoding as
swscale with ACCURATE_RND | FULL_CHR_H_INT, encoding as its default.  Frames in other formats
(10-bit, 4:2:2, 4:4:4, ...) are left to swscale: the functions return None for them.
"""
from __future__ import annotations

import numpy as np

from .. import _core

# AVColorSpace -> luma weights (kr, kb), as swscale's coefficient table (others: BT.601, its default).
_LUMA_WEIGHTS = {1: (0.2126, 0.0722), 4: (0.30, 0.11), 5: (0.299, 0.114), 6: (0.299, 0.114),
                 7: (0.212, 0.087), 9: (0.2627, 0.0593), 10: (0.2627, 0.0593)}
_BT601 = (0.299, 0.114)
# pixel formats handled here -> whether the format itself means full range (the "J" formats)
_FORMATS = {"yuv420p": False, "yuvj420p": True, "nv12": False}
_FULL_RANGE = 2  # AVCOL_RANGE_JPEG


def handles(pix_fmt: str) -> bool:
    return pix_fmt in _FORMATS


def _matrix(pix_fmt: str, colorspace: int | None, color_range: int | None) -> dict:
    kr, kb = _LUMA_WEIGHTS.get(int(colorspace or 0), _BT601)
    return {"kr": kr, "kb": kb, "full_range": _FORMATS[pix_fmt] or int(color_range or 0) == _FULL_RANGE}


def _planes(frame) -> list[np.ndarray]:
    """The frame's planes as (height, width-in-bytes) uint8 views of its own buffers (rows padded)."""
    out = []
    for p in frame.planes:
        row = p.width * (2 if len(frame.planes) == 2 and out else 1)  # nv12's UV plane: 2 bytes a sample
        out.append(np.frombuffer(p, np.uint8).reshape(p.height, p.line_size)[:, :row])
    return out


def frame_to_rgb(frame, *, cosited: bool = False) -> np.ndarray | None:
    """(H, W, 3) uint8 RGB of a yuv420p/yuvj420p/nv12 PyAV frame (its colorspace and range tags
    honoured, as swscale does; chroma sites centred or, with ``cosited``, left), or None for other
    formats."""
    name = frame.format.name
    if name not in _FORMATS:
        return None
    planes = _planes(frame)
    v = planes[2] if len(planes) == 3 else None
    return _core.yuv420_to_rgb(planes[0], planes[1], v, cosited=cosited,
                               **_matrix(name, frame.colorspace, frame.color_range))


class StreamToRgb:
    """Decoded frames of one stream -> RGB24: imgen's core where it reproduces ``reference`` (the
    swscale conversion, ``frame -> ndarray``) within one level on the stream's first handled frame,
    with the chroma siting that does so (PyAV does not expose the frame's chroma location: H.264
    frames are co-sited, frames made by PyAV centred); ``reference`` for the whole stream otherwise
    and for frames of other formats."""

    def __init__(self, reference):
        self._reference = reference
        self._cosited: bool | None = None  # None: not decided yet
        self.uses_core = False

    def __call__(self, frame) -> np.ndarray:
        if self._cosited is None:
            if frame.format.name not in _FORMATS:
                return self._reference(frame)
            expected = self._reference(frame)
            for cosited in (True, False):
                out = frame_to_rgb(frame, cosited=cosited)
                if np.abs(out.astype(np.int16) - expected).max() <= 1:
                    self._cosited, self.uses_core = cosited, True
                    return out
            self._cosited = False
            return expected
        out = frame_to_rgb(frame, cosited=self._cosited) if self.uses_core else None
        return self._reference(frame) if out is None else out


def rgb_to_frame(av, rgb: np.ndarray, pix_fmt: str, colorspace: int | None, color_range: int | None):
    """A new PyAV frame of ``pix_fmt`` holding ``rgb`` ((H, W, 3) uint8, H and W even), tagged as
    swscale's reformat(dst_colorspace=colorspace, dst_color_range=color_range) tags it; None when
    ``pix_fmt`` is not handled here."""
    if pix_fmt not in _FORMATS or rgb.dtype != np.uint8 or rgb.ndim != 3 or rgb.shape[2] != 3:
        return None
    frame = av.VideoFrame(rgb.shape[1], rgb.shape[0], pix_fmt)
    planes = _planes(frame)
    v = planes[2] if len(planes) == 3 else None
    _core.rgb_to_yuv420(rgb, planes[0], planes[1], v, **_matrix(pix_fmt, colorspace, color_range))
    if colorspace is not None:
        frame.colorspace = colorspace
    if color_range is not None:
        frame.color_range = color_range
    return frame
