"""Writing frames: a video file encoded with PyAV (streams copied, written atomically), or numbered
image files.

A video is written to a temporary file beside the target and renamed over it once complete;
a run stopped early (Ctrl+C, a bad frame with on_bad_frame="stop") finalises what it has into a
playable ``OUTPUT.partial.EXT`` instead, and a failed one removes the temporary file.
"""
from __future__ import annotations

import logging
import os
from pathlib import Path

import numpy as np

from ..atomic import TempFileError, commit, create_temp_beside, discard
from ..imageio import ImageFileError, fit_to_format, write_image
from ._yuv import rgb_to_frame
from .encoding import (SWS_COLORSPACE, add_video_stream, carry_extras, even_size, interlaced_coding,
                       output_colour, pick_codec, pick_pix_fmt, set_frame_size)
from .fields import FieldMarker
from .options import EncodeOptions
from .paths import Location, partial_path
from .result import VideoError
from .source import DecodedFrame, SourceInfo

log = logging.getLogger("imgen")


def _rgb_for_video(image: np.ndarray) -> tuple[np.ndarray, str, str | None]:
    """(array, PyAV input format, note) for an HWC image from the processor: contiguous, except
    rgb24 with padded rows (rgb_to_frame reads those in place)."""
    note = None
    if image.dtype == np.float32:
        image = np.clip(np.rint(image * 65535.0), 0, 65535).astype(np.uint16)
        note = "float32 frames stored with 16-bit precision before encoding"
    elif image.dtype not in (np.uint8, np.uint16):
        raise VideoError(f"processed frames must be uint8, uint16 or float32, got {image.dtype}")
    deep = image.dtype == np.uint16
    if image.ndim == 3 and image.shape[2] == 1:
        image = image[..., 0]
    if image.ndim == 2:
        return np.ascontiguousarray(image), ("gray16le" if deep else "gray"), note
    if image.ndim != 3 or image.shape[2] not in (3, 4):
        raise VideoError(f"processed frames must be HWC gray, RGB or RGBA, got shape {image.shape}")
    if image.shape[2] == 4:
        image = image[..., :3]
        note = "alpha channels dropped: the video holds no alpha"
    if not deep and image.strides[1:] == (3, 1) and image.strides[0] >= 3 * image.shape[1]:
        return image, "rgb24", note  # padded rows (a crop) are fine for imgen's core: no copy
    return np.ascontiguousarray(image), ("rgb48le" if deep else "rgb24"), note


def _fit_even(image: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """HWC or HW image cropped or edge-padded to size (width, height), at most one pixel each way."""
    width, height = size
    image = image[:height, :width]
    pad_h, pad_w = height - image.shape[0], width - image.shape[1]
    if pad_h > 1 or pad_w > 1:  # a frame of another size: left for the size check to report
        return image
    if pad_h > 0 or pad_w > 0:
        image = np.pad(image, [(0, max(pad_h, 0)), (0, max(pad_w, 0))] + [(0, 0)] * (image.ndim - 2), mode="edge")
    return image


def add_copied_streams(av, container, streams: list, notes: list[str]) -> tuple[dict, list[str]]:
    """Output streams for the input's audio/subtitle streams (title, language and dispositions
    kept): ({input stream index: output stream}, labels); those the container refuses are noted."""
    mapping, labels = {}, []
    for s in streams:
        label = f"{s.type} #{s.index} ({s.codec_context.name})"
        try:
            out = container.add_stream_from_template(s)
        except (ValueError, av.FFmpegError) as e:
            notes.append(f"{label} not copied: {e}")
            continue
        if s.language:
            out.metadata["language"] = s.language
        if s.metadata.get("title"):
            out.metadata["title"] = s.metadata["title"]
        out.disposition = s.disposition
        mapping[s.index] = out
        labels.append(label)
    return mapping, labels


def copy_tags(av, container, video, info: SourceInfo, notes: list[str]) -> None:
    """The input's container title (and like tags) and chapters, and its video stream's title,
    language and dispositions, onto the output (before its header is written)."""
    for key, value in info.tags.items():
        container.metadata[key] = value
    for key, value in info.video_tags.items():
        video.metadata[key] = value
    if info.video_disposition:
        video.disposition = info.video_disposition
    if info.chapters:
        try:
            container.set_chapters(info.chapters)
        except (ValueError, TypeError, av.FFmpegError) as e:
            notes.append(f"chapters not copied: {e}")


def create_temp_video(target: Path) -> Path:
    """A new empty temporary file beside the target (imgen.atomic), ending in its extension:
    FFmpeg picks the container from it.  VideoError when the folder is not writable."""
    try:
        fd, tmp = create_temp_beside(target, keep_suffix=True)
    except TempFileError as e:
        raise VideoError(str(e)) from e
    os.close(fd)
    return tmp


class VideoFileSink:
    """Encodes frames into a video file; audio/subtitle packets are copied as they come."""

    def __init__(self, target: Path, *, options: EncodeOptions, info: SourceInfo, copy_streams: list,
                 notes: list[str]):
        from ._av import require_av

        self._av = av = require_av()
        self.target = target
        self.options = options
        self.info = info
        self.notes = notes
        self.copied: list[str] = []
        self.frames_out = 0
        self._copy_streams = copy_streams
        self._stream_map: dict[int, object] = {}
        self._last_pts: int | None = None
        self._last_dts: int | None = None
        target.parent.mkdir(parents=True, exist_ok=True)
        self._tmp = create_temp_video(target)
        tmp = str(self._tmp)
        try:
            self._container = av.open(tmp, "w")
        except BaseException as e:  # Ctrl+C / SIGTERM here too: no temporary file left behind
            discard(self._tmp)
            if not isinstance(e, (av.FFmpegError, ValueError)):
                raise
            raise VideoError(f"{target}: FFmpeg cannot write {target.suffix or 'extension-less'} files ({e}); "
                             f"use .mp4, .mkv, .mov, ...") from e
        try:
            self._codec = pick_codec(av, options, self._container, info)
            self._pix_fmt = pick_pix_fmt(self._codec, options, info)
            self._video, self._time_base = add_video_stream(av, self._container, self._codec, options, info,
                                                            pix_fmt=self._pix_fmt)
            self._stream_map, self.copied = add_copied_streams(av, self._container, copy_streams, notes)
            copy_tags(av, self._container, self._video, info, notes)
        except BaseException:
            self.discard()
            raise
        self._started = False
        self._reformatter = av.video.reformatter.VideoReformatter()

    # -- writing --------------------------------------------------------------------------

    def _start(self, image: np.ndarray) -> None:
        height, width = image.shape[:2]
        self._colour = output_colour(self.info, height)
        self._size = even_size(self._av, self._pix_fmt, width, height, self.options.even)
        if self._size != (width, height):
            how = "padded (last row / column repeated)" if self.options.even == "pad" else "cropped"
            self.notes.append(f"frames of {width}x{height} {how} to {self._size[0]}x{self._size[1]} for "
                              f"{self._pix_fmt}")
            width, height = self._size
        set_frame_size(self._av, self._video, width=width, height=height, colour=self._colour)
        carry_extras(self._video, self.info.extras, self.options, self.notes)
        self._interlaced = interlaced_coding(self._av, self._video, self.info.extras, self.notes)
        self._marker: FieldMarker | None = None
        self._sws_space = SWS_COLORSPACE.get(self._colour.space)
        self._sws_range = self._colour.range or None
        self._started = True
        log.info("encoding %dx%d %s with %s, time base %s", width, height, self._pix_fmt, self._codec.name,
                 self._time_base)

    def _mux_copied(self, packets: list) -> None:
        for packet in packets:
            out = self._stream_map.get(packet.stream_index)
            if out is None:
                continue
            packet.stream = out
            self._container.mux(packet)

    def _timestamp(self, frame: DecodedFrame) -> int:
        if frame.pts is None:
            pts = 0 if self._last_pts is None else self._last_pts + 1
        elif frame.time_base is None or frame.time_base == self._time_base:
            pts = int(frame.pts)
        else:
            pts = round(frame.pts * frame.time_base / self._time_base)
        if self._last_pts is not None and pts <= self._last_pts:
            note = "non-increasing timestamps moved one tick past the previous frame"
            if note not in self.notes:
                self.notes.append(note)
            pts = self._last_pts + 1
        self._last_pts = pts
        return pts

    def write(self, frame: DecodedFrame) -> None:
        """Encode one processed frame (and mux the copied packets that came before it)."""
        av = self._av
        if not self._started:
            self._start(frame.image)
        self._mux_copied(frame.packets)
        image = frame.image
        if image.ndim >= 2 and self.options.even and (image.shape[1], image.shape[0]) != self._size:
            image = _fit_even(image, self._size)
        array, fmt, note = _rgb_for_video(image)
        if note and note not in self.notes:
            self.notes.append(note)
        if array.shape[:2] != (self._video.height, self._video.width):
            raise VideoError(f"frame #{frame.index} came out {array.shape[1]}x{array.shape[0]}, but the video "
                             f"is {self._video.width}x{self._video.height}; every frame must have one size")
        video_frame = rgb_to_frame(av, array, self._pix_fmt, self._sws_space, self._sws_range) if fmt == "rgb24" else None
        if video_frame is None:
            rgb = av.VideoFrame.from_numpy_buffer(np.ascontiguousarray(array), format=fmt)
            video_frame = self._reformatter.reformat(
                rgb, format=self._pix_fmt, dst_colorspace=self._sws_space, dst_color_range=self._sws_range,
                threads=1)
        video_frame.color_primaries = self._colour.primaries
        video_frame.color_trc = self._colour.trc
        video_frame.pts = self._timestamp(frame)
        video_frame.time_base = self._time_base
        if self._interlaced:
            if self._marker is None:
                self._marker = FieldMarker(av, video_frame, self._time_base,
                                           top_first=self.info.extras.top_field_first)
            video_frame = self._marker.mark(video_frame)
        for packet in self._video.encode(video_frame):
            self._mux_encoded(packet)
        self.frames_out += 1

    def _mux_encoded(self, packet) -> None:
        """Mux an encoded packet, repairing an impossible decoding timestamp (after the shown
        one, or not after the previous): libx265 in this FFmpeg leaves the first ones unset
        (garbage) on very short clips, and the muxer would refuse the file."""
        pts, dts = packet.pts, packet.dts
        if pts is not None and dts is not None:
            if dts > pts or (self._last_dts is not None and dts <= self._last_dts):
                dts = pts if self._last_dts is None else min(pts, self._last_dts + 1)
                packet.dts = dts
            self._last_dts = dts
        self._container.mux(packet)

    # -- ending ---------------------------------------------------------------------------

    def _close(self, trailing: list) -> None:
        if self._started:
            for packet in self._video.encode(None):
                self._mux_encoded(packet)
            self._mux_copied(trailing)
        self._container.close()

    def finish(self, trailing: list) -> str:
        """Flush the encoder, close the file and rename it to the target (an OUTPUT.partial.EXT
        an earlier stopped run left is deleted); returns the target."""
        if self.frames_out == 0:
            self.discard()
            raise VideoError("no frame could be read from the input; nothing written")
        try:
            self._close(trailing)
            commit(self._tmp, self.target)
            partial_path(self.target).unlink(missing_ok=True)  # an earlier stopped run's, now superseded
        except BaseException as e:
            self.discard()
            if isinstance(e, (OSError, self._av.FFmpegError)):
                raise VideoError(f"{self.target}: cannot finish writing ({e})") from e
            raise
        return str(self.target)

    def finish_partial(self) -> str | None:
        """Close what was encoded so far as a playable OUTPUT.partial.EXT; None if nothing was."""
        if self.frames_out == 0:
            self.discard()
            return None
        partial = partial_path(self.target)
        try:
            self._close([])
            commit(self._tmp, partial)
        except (OSError, self._av.FFmpegError) as e:
            log.warning("could not keep the partial output: %s", e)
            self.discard()
            return None
        return str(partial)

    def discard(self) -> None:
        """Close and delete the temporary file (after a failure)."""
        try:
            self._container.close()
        except Exception:  # the container may be half set up; the file goes anyway
            pass
        discard(self._tmp)


class FrameFolderSink:
    """Writes frames as numbered image files (1, 2, ...), each atomically (imageio.write_image).

    Frames written before a stop or a failure stay: each is a complete file.
    """

    def __init__(self, location: Location, *, notes: list[str]):
        self.location = location
        self.notes = notes
        self.copied: list[str] = []
        self.frames_out = 0
        self._name = os.path.basename(location.pattern)

    def write(self, frame: DecodedFrame) -> None:
        image = frame.image
        if image.ndim == 3 and image.shape[2] >= 3:  # RGB(A) -> OpenCV's BGR(A)
            image = np.ascontiguousarray(image[..., [2, 1, 0] + ([3] if image.shape[2] == 4 else [])])
        path = self.location.path / (self._name % (self.frames_out + 1))
        fitted, note = fit_to_format(image, path)
        if note.reduced_depth and "samples reduced" not in " ".join(self.notes):
            self.notes.append(f"samples reduced to what {path.suffix} files store")
        try:
            write_image(path, fitted)
        except ImageFileError as e:
            raise VideoError(str(e)) from e
        self.frames_out += 1

    def finish(self, trailing: list) -> str:
        if self.frames_out == 0:
            raise VideoError("no frame could be read from the input; nothing written")
        return self.location.pattern

    def finish_partial(self) -> str | None:
        return self.location.pattern if self.frames_out else None

    def discard(self) -> None:
        pass
