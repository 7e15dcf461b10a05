"""Encoder settings for video outputs."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping

#: Encoders tried in order when none is named: the first one FFmpeg has and the container takes.
DEFAULT_CODECS = ("libx264", "libx265", "libvpx-vp9", "libsvtav1", "mpeg4")
DEFAULT_CRF = 18


@dataclass(frozen=True)
class EncodeOptions:
    """How the processed video stream is encoded.

    codec: an FFmpeg encoder name ("libx264", "libx265", "mpeg4", ...), or "same" for the encoder
        of the input's codec (HEVC in -> libx265 out); None picks the first of DEFAULT_CODECS that
        FFmpeg has and the output container accepts (for sources deeper than 8 bits: the first
        that keeps the depth).
    crf: constant rate factor for encoders that have one (x264/x265/vp9/svt-av1); None = 18
        (visually lossless for x264).  Ignored when bitrate is given.
    bitrate: target bits per second (e.g. 8_000_000); None = quality-based (crf, or a fixed
        quantiser for encoders without crf).
    pix_fmt: the encoded pixel format; None keeps the source's when the encoder takes it, else
        yuv420p (yuv420p10le for sources deeper than 8 bits, when the encoder takes it).
    preset: the encoder's speed preset (x264: ultrafast .. veryslow); None = its default.
    threads: encoder threads, 0 = a fixed default (encoding.DEFAULT_THREADS: the same bytes on any machine).
    extra: further encoder options as FFmpeg names them, e.g. {"tune": "film"}.
    even: "pad" (repeat the last row / column) or "crop" (drop it) to give frames of odd size
        the even size a chroma-subsampled pixel format (yuv420p) needs; None = refuse them.
    deinterlace: turn interlaced input into progressive frames (FFmpeg's bwdif, one frame per
        frame); otherwise interlaced input is coded interlaced where the encoder can (x264,
        MPEG-2), else noted.
    quiet: silence encoder libraries that print to stderr themselves (x265, SVT-AV1).
    """

    codec: str | None = None
    crf: float | None = None
    bitrate: int | None = None
    pix_fmt: str | None = None
    preset: str | None = None
    threads: int = 0
    extra: Mapping[str, str] = field(default_factory=dict)
    even: str | None = None
    deinterlace: bool = False
    quiet: bool = False

    def __post_init__(self):
        if self.crf is not None and not self.crf >= 0:
            raise ValueError(f"crf must be >= 0, got {self.crf}")
        if self.bitrate is not None and not self.bitrate > 0:
            raise ValueError(f"bitrate must be > 0 bits/s, got {self.bitrate}")
        if self.even not in (None, "pad", "crop"):
            raise ValueError(f"even must be 'pad', 'crop' or None, got {self.even!r}")
        if self.threads < 0:
            raise ValueError(f"threads must be >= 0 (0 = automatic), got {self.threads}")
