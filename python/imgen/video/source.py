"""Reading frames: a video file decoded with PyAV, or a folder / pattern of image files.

Both yield :class:`DecodedFrame` items -- an HWC RGB image with its timestamp and the packets of
streams to copy that came before it -- and count what they read, bad frames included.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field, replace
from fractions import Fraction
from pathlib import Path
from typing import Iterator

import numpy as np

from ..imageio import ImageFileError, read_image
from ._yuv import StreamToRgb
from .extras import FIELD_ORDERS, StreamExtras, read_extras
from .result import VideoError

log = logging.getLogger("imgen")

BAD_FRAME_ACTIONS = ("skip", "stop")
#: Container and stream tags copied to the output (others, such as encoder or DURATION, describe the file).
KEPT_TAGS = ("title", "comment", "description", "synopsis", "artist", "album", "date", "copyright", "genre",
             "language")
DEFAULT_FOLDER_FPS = Fraction(25)
_MAX_READ_ERRORS = 16  # consecutive unreadable stretches before the rest of a file is given up


@dataclass
class DecodedFrame:
    """A frame on its way through the pipeline.

    image: HWC RGB (uint8, or uint16 for sources deeper than 8 bits; frame folders give their
    files' own gray/RGB/RGBA and dtype).  pts / time_base: the presentation timestamp.
    packets: packets of copied streams (audio, subtitles) read before this frame, muxed before it.
    """

    index: int
    image: np.ndarray
    pts: int | None
    time_base: Fraction | None
    packets: list = field(default_factory=list)


@dataclass(frozen=True)
class Colour:
    """FFmpeg's colour tags (AVColorRange, AVColorSpace, AVColorPrimaries, AVColorTransferCharacteristic)."""

    range: int = 0
    space: int = 2
    primaries: int = 2
    trc: int = 2


@dataclass
class SourceInfo:
    """What the sink needs to know about the input stream."""

    width: int
    height: int
    rate: Fraction            # average frames per second
    time_base: Fraction
    frames: int | None        # the video stream's frame count if its header says, else an estimate from its
                              # own duration, else None (never from the container: audio may outlast video)
    pix_fmt: str | None       # None for frame folders
    deep: bool                # more than 8 bits per sample
    colour: Colour = Colour()
    sample_aspect_ratio: Fraction | None = None
    duration: Fraction | None = None   # seconds the video stream's own header announces, if it does
    frames_exact: bool = False         # frames is the header's count, not an estimate
    codec: str | None = None           # the input's decoder name ("h264", "hevc", ...); None for frame folders
    extras: StreamExtras = StreamExtras()  # rotation, HDR10 metadata, field order (from the first frame)
    tags: dict = field(default_factory=dict)          # container tags worth keeping (title, comment, ...)
    chapters: list = field(default_factory=list)      # PyAV chapter dicts (id, start, end, time_base, metadata)
    video_tags: dict = field(default_factory=dict)    # the video stream's title / language
    video_disposition: int = 0                        # its AV_DISPOSITION_* flags


class BadFrameStop(Exception):
    """A bad frame with on_bad_frame="stop" (the message says which)."""


class _Counted:
    """Counting and bad-frame bookkeeping shared by the sources."""

    def __init__(self, on_bad_frame: str):
        if on_bad_frame not in BAD_FRAME_ACTIONS:
            raise ValueError(f"on_bad_frame must be 'skip' or 'stop', got {on_bad_frame!r}")
        self.on_bad_frame = on_bad_frame
        self.frames_in = 0
        self.bad_frames: list[str] = []
        self.trailing_packets: list = []
        self.copy_streams: list = []
        self.notes: list[str] = []

    def _bad(self, message: str, *, lost: bool | None) -> None:
        """Record a bad frame: lost (counted in, skipped), kept (decoded with errors) or None
        (unreadable data holding an unknown number of frames)."""
        if lost:
            self.frames_in += 1
        text = message if lost is None else f"{message} ({'skipped' if lost else 'kept as decoded'})"
        self.bad_frames.append(text)
        log.info("bad frame: %s", text)
        if self.on_bad_frame == "stop":
            raise BadFrameStop(message)


class VideoFileSource(_Counted):
    """Decodes the first video stream of a file with PyAV (FFmpeg's threads, thread_type AUTO).

    Audio and subtitle streams are handed on packet by packet (``copy_streams``) for the sink
    to copy; other streams (data, attachments, further video streams) are listed in ``notes``.
    """

    def __init__(self, path: Path, *, on_bad_frame: str = "skip", threads: int = 0, copy_streams: bool = True,
                 no_copy_reason: str = "copying turned off", deinterlace: bool = False):
        super().__init__(on_bad_frame)
        self.deinterlace = deinterlace
        self._deinterlacer = None
        self._extras_read = False
        self.demux_copies = True  # False: copy_streams are listed, but their packets not read
        self.start_pts: int | None = None  # set by start_at()
        self.skipped_decoded = 0  # frames decoded before start_pts and dropped
        from ._av import require_av

        av = require_av()
        self._av = av
        self.path = path
        try:
            self._container = av.open(str(path))
        except av.FFmpegError as e:
            raise VideoError(f"{path}: cannot open as a video ({_reason(e)}); is it truncated, corrupt or "
                             f"not a video?") from e
        try:
            self._setup(threads, copy_streams, no_copy_reason)
        except BaseException:
            self._container.close()
            raise

    def _setup(self, threads: int, copy_streams: bool, no_copy_reason: str) -> None:
        container = self._container
        if not container.streams.video:
            raise VideoError(f"{self.path}: no video stream (streams: "
                             f"{', '.join(s.type for s in container.streams) or 'none'})")
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        stream.codec_context.thread_count = threads
        self.stream = stream
        for s in container.streams:
            if s is stream:
                continue
            label = f"{s.type} #{s.index} ({s.codec_context.name if s.codec_context else 'unknown codec'})"
            if s.type in ("audio", "subtitle") and copy_streams:
                self.copy_streams.append(s)
            elif s.type in ("audio", "subtitle"):
                self.notes.append(f"{label} not copied ({no_copy_reason})")
            else:
                self.notes.append(f"{label} not copied (only audio and subtitles are)")
        cc = stream.codec_context
        if not cc.width or not cc.height:
            raise VideoError(f"{self.path}: the video stream has no frame size (corrupt header?)")
        rate = as_fraction(stream.average_rate or stream.guessed_rate or stream.base_rate) or Fraction(25)
        time_base = as_fraction(stream.time_base) or 1 / rate
        duration = _stream_duration(stream, time_base)
        frames = stream.frames or None
        exact = frames is not None
        if frames is None and duration:
            frames = int(round(duration * rate))
        fmt = self._av.VideoFormat(cc.pix_fmt) if cc.pix_fmt else None
        deep = bool(fmt and max(c.bits for c in fmt.components) > 8)
        self.info = SourceInfo(
            width=cc.width, height=cc.height, rate=rate, time_base=time_base,
            frames=frames or None, pix_fmt=cc.pix_fmt, deep=deep,
            colour=Colour(int(cc.color_range), int(cc.colorspace), int(cc.color_primaries), int(cc.color_trc)),
            sample_aspect_ratio=as_fraction(cc.sample_aspect_ratio), duration=duration, frames_exact=exact,
            codec=cc.name, tags=kept_tags(container.metadata), chapters=list(container.chapters()),
            video_tags=kept_tags(stream.metadata), video_disposition=int(stream.disposition),
        )
        self._start = Fraction(stream.start_time or 0) * time_base
        self._end: Fraction | None = None  # end of the last frame decoded, in seconds
        self._last_pts: int | None = None
        self._rgb_format = "rgb48le" if deep else "rgb24"
        self._reformatter = self._av.video.reformatter.VideoReformatter()
        flags = self._av.video.reformatter.Interpolation
        # swscale's default YUV -> RGB path is fast but darkens by ~1 level and loses detail (36 dB
        # round trip on a test pattern); accurate rounding with full chroma interpolation gives 48 dB.
        # For rgb48 output that combination is broken with BILINEAR (9 dB); BICUBIC gives 41 dB.
        # 8-bit 4:2:0 frames skip swscale: imgen's core converts them as this combination does (_yuv).
        self._interpolation = (flags.BICUBIC if deep else flags.BILINEAR) | flags.ACCURATE_RND | flags.FULL_CHR_H_INT
        self._to_rgb = self._swscale if deep else StreamToRgb(self._swscale)

    def _swscale(self, frame) -> np.ndarray:
        return self._reformatter.reformat(frame, format=self._rgb_format, interpolation=self._interpolation,
                                          threads=1).to_ndarray()

    def start_at(self, pts: int) -> None:
        """Begin at the first frame shown at or after ``pts`` (the video stream's time base):
        seek to the keyframe before it, decode from there and drop what comes before.  Call
        before frames()."""
        self.start_pts = int(pts)
        try:
            self._container.seek(self.start_pts, stream=self.stream, backward=True)
        except self._av.FFmpegError as e:
            raise VideoError(f"{self.path}: cannot seek to resume at t={_seconds(pts, self.info.time_base)} ({e}); "
                             f"run again with resume=False") from e

    def close(self) -> None:
        """Close the input (frames() does so itself when it ends)."""
        self._container.close()

    # -- reading --------------------------------------------------------------------------

    def frames(self) -> Iterator[DecodedFrame]:
        """Decode every frame; bad ones reported (``bad_frames``) and skipped or raised."""
        try:
            yield from self._decode()
        finally:
            self._container.close()

    def _packets(self):
        streams = [self.stream] + (self.copy_streams if self.demux_copies else [])
        failures = 0  # in a row, without a packet read in between
        while True:
            try:
                for packet in self._container.demux(streams):
                    failures = 0
                    yield packet
                return
            except self._av.FFmpegError as e:
                failures += 1
                if failures == 1:
                    self._bad(f"unreadable data after frame #{self.frames_in}: {_reason(e)} (any frames in "
                              f"it are lost)", lost=None)
                if failures >= _MAX_READ_ERRORS:
                    self.notes.append(f"reading gave up after {failures} read errors in a row; the rest of "
                                      f"the file was not read")
                    return

    def _decoded(self, frame, index: int, step: int, pending: list) -> DecodedFrame:
        """A decoded PyAV frame as a DecodedFrame (RGB; missing timestamps filled in), counted."""
        pts = frame.pts
        if pts is None:
            pts = 0 if self._last_pts is None else self._last_pts + step
        self._last_pts = pts
        tb = as_fraction(frame.time_base) or self.info.time_base
        self._end = (pts + (frame.duration or step)) * tb
        if frame.is_corrupt:
            self._bad(f"frame #{index} (t={_seconds(pts, frame.time_base)}): decoded with errors", lost=False)
        image = self._to_rgb(frame)
        self.frames_in += 1
        return DecodedFrame(index, image, pts, tb, pending)

    def _deinterlaced(self, decoded: list, index: int) -> list:
        """The decoded frames; through bwdif with deinterlace=True when the stream is interlaced
        (known from the first frame, whose tags and side data are read here)."""
        if decoded and not self._extras_read:
            self._extras_read = True
            first = decoded[0]
            self._adopt_colour(first)
            extras = read_extras(first, int(self.stream.codec_context.field_order or 0))
            if self.deinterlace and extras.interlaced:
                from .fields import Deinterlacer

                self.notes.append(f"deinterlaced ({FIELD_ORDERS[extras.field_order]}) with FFmpeg's bwdif: "
                                  f"the output is progressive, one frame per input frame")
                self._deinterlacer = Deinterlacer(self._av, first, self.info.time_base)
                extras = replace(extras, field_order=1)
            elif self.deinterlace:
                self.notes.append("deinterlacing was asked for, but the input is progressive: nothing to deinterlace")
            self.info.extras = extras
        if not self._deinterlacer:
            return decoded
        out = []
        for frame in decoded:
            out.extend(self._deinterlacer.push(frame))
        return out

    def _decode(self) -> Iterator[DecodedFrame]:
        av = self._av
        pending: list = []
        index = 0
        video_index = self.stream.index
        step = max(1, round(1 / (self.info.rate * self.info.time_base))) if self.info.rate else 1
        flushed = False
        packets = failed = 0
        for packet in self._packets():
            if packet.stream_index != video_index:
                if packet.size:
                    pending.append(packet)
                continue
            if not packet.size:  # demux() ends with empty packets that flush the decoder
                if flushed:
                    continue
                flushed = True
            else:
                packets += 1
            try:
                decoded = self.stream.decode(packet)
            except av.FFmpegError as e:
                failed += 1
                where = _packet_time(packet)
                self._bad(f"frame after #{index}{where}: cannot decode ({_reason(e)})", lost=True)
                continue
            for frame in self._deinterlaced(decoded, index):
                if self.start_pts is not None and frame.pts is not None and frame.pts < self.start_pts:
                    self.skipped_decoded += 1
                    continue
                yield self._decoded(frame, index, step, pending)
                pending = []
                index += 1
        for frame in self._deinterlacer.flush() if self._deinterlacer else ():
            yield self._decoded(frame, index, step, pending)
            pending = []
            index += 1
        self.trailing_packets = pending
        self._account(packets - failed - index - self.skipped_decoded)

    def _account(self, silent_drops: int) -> None:
        """Report frames lost without an error (packets the decoder gave no frame for), and note a
        video stream that ends well before what its own header announces: with no decode error
        that is no failure (the header may be wrong), but it may be a truncated file."""
        if silent_drops > 0:
            self._bad(f"{silent_drops} frame(s) the decoder gave nothing for (damaged data)", lost=None)
            self.frames_in += silent_drops
        info = self.info
        # A resumed run (start_at) decodes only the frames from its start on: frames_in is not
        # comparable with the header's count, so it is judged by where the stream ends (every
        # `--resume` of an mp4 noted "ends after N of 3750 frames" for a complete file).
        resumed = self.start_pts is not None
        if not resumed and info.frames_exact and info.frames and self.frames_in < 0.95 * info.frames - 1:
            self.notes.append(f"the video stream ends after {self.frames_in} of the {info.frames} frames its "
                              f"header announces (truncated file?)")
        elif info.duration and self._end is not None:
            played = self._end - self._start
            if played < 0.95 * info.duration - 1 / info.rate:
                self.notes.append(f"the video stream ends at {float(played):.2f} s of the {float(info.duration):.2f} s "
                                  f"its header announces (truncated file?)")

    def _adopt_colour(self, frame) -> None:
        """Frame-level colour tags fill in what the stream header left unspecified."""
        c = self.info.colour
        self.info.colour = Colour(
            range=c.range or int(frame.color_range),
            space=c.space if c.space != 2 else int(frame.colorspace),
            primaries=c.primaries if c.primaries != 2 else int(frame.color_primaries),
            trc=c.trc if c.trc != 2 else int(frame.color_trc),
        )


class FrameFolderSource(_Counted):
    """Reads numbered image files as frames at a fixed rate (files as imgen.imageio reads them,
    turned from OpenCV's BGR order into RGB).  An unreadable file is a bad frame."""

    def __init__(self, files: list[Path], *, fps: Fraction = DEFAULT_FOLDER_FPS, on_bad_frame: str = "skip",
                 max_pixels: int | None = None):
        super().__init__(on_bad_frame)
        if not fps > 0:
            raise ValueError(f"fps must be > 0, got {fps}")
        self.files = files
        self.max_pixels = max_pixels
        first = self._first_readable()
        self.info = SourceInfo(width=first.shape[1], height=first.shape[0], rate=Fraction(fps),
                               time_base=1 / Fraction(fps), frames=len(files), pix_fmt=None,
                               deep=first.dtype != np.uint8)

    def _first_readable(self) -> np.ndarray:
        for path in self.files:
            try:
                return read_image(path, max_pixels=self.max_pixels)
            except ImageFileError:
                continue
        raise VideoError(f"none of the {len(self.files)} frame files can be read as an image "
                         f"(first: {self.files[0]})")

    def frames(self) -> Iterator[DecodedFrame]:
        index = 0
        for number, path in enumerate(self.files):
            try:
                image = read_image(path, max_pixels=self.max_pixels)
            except ImageFileError as e:
                self._bad(str(e), lost=True)
                continue
            if image.ndim == 3 and image.shape[2] >= 3:
                image = np.ascontiguousarray(image[..., [2, 1, 0] + ([3] if image.shape[2] == 4 else [])])
            self.frames_in += 1
            yield DecodedFrame(index, image, number, self.info.time_base)
            index += 1


def _stream_duration(stream, time_base: Fraction) -> Fraction | None:
    """Seconds the video stream itself announces: its duration field, else its DURATION tag
    (Matroska / WebM write one per stream, "HH:MM:SS.fffffffff")."""
    if stream.duration:
        return stream.duration * time_base
    tag = stream.metadata.get("DURATION") or stream.metadata.get("duration")
    if not tag:
        return None
    try:
        h, m, sec = tag.strip().split(":")
        value = int(h) * 3600 + int(m) * 60 + Fraction(sec)
    except ValueError:
        return None
    return value if value > 0 else None


def kept_tags(metadata) -> dict:
    """The tags of KEPT_TAGS in a container's or stream's metadata (any letter case)."""
    return {k.lower(): v for k, v in (metadata or {}).items() if k.lower() in KEPT_TAGS and v}


def as_fraction(value) -> Fraction | None:
    """A PyAV rational (Fraction, or AVRational from PyAV 19) as a Fraction; None when unset or 0."""
    if value is None or not value:
        return None
    return Fraction(value.numerator, value.denominator)


def _reason(e: BaseException) -> str:
    text = getattr(e, "strerror", None) or str(e)
    return str(text).strip() or type(e).__name__


def _seconds(pts, time_base) -> str:
    tb = as_fraction(time_base)
    if pts is None or tb is None:
        return "?"
    return f"{float(pts * tb):.3f}s"


def _packet_time(packet) -> str:
    pts = packet.pts if packet.pts is not None else packet.dts
    if pts is None or not packet.time_base:
        return ""
    return f" (packet t={_seconds(pts, packet.time_base)})"
