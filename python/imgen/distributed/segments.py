"""Long videos in pieces: cut on keyframes by stream copy, and join processed pieces by remuxing.

Neither step decodes or encodes.  ``split_on_keyframes`` copies the source's video packets into
segment files, each starting at a keyframe where no frame before the cut is shown after it and
none after it is shown before it (closed GOPs), so every segment decodes on its own to exactly
its frames.  Each segment is then processed (and so re-encoded) like a whole video, and
``join_segments`` muxes the processed segments' video packets one after the other, each segment's
timestamps placed at its start in the source, with the source's audio and subtitle packets
copied once over the whole timeline.
"""
from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Iterator

from ..atomic import commit, discard
from ..video._av import require_av
from ..video.result import VideoError
from ..video.sink import create_temp_video

log = logging.getLogger("imgen")

#: Containers that keep a copied stream's time base and timestamps (segments use the source's).
_SEGMENT_CONTAINERS = (".mp4", ".mov", ".m4v", ".mkv")


@dataclass(frozen=True)
class Segment:
    """A piece of the source: its file, and its first shown frame's time in seconds and in the
    source's time base (``start_pts``)."""

    path: str
    start_pts: int
    start: Fraction


def probe_duration(path: str | os.PathLike) -> float | None:
    """The video's duration in seconds from its header (None when the header does not say)."""
    av = require_av()
    try:
        with av.open(os.fspath(path)) as c:
            if not c.streams.video:
                return None
            s = c.streams.video[0]
            if s.duration and s.time_base:
                return float(s.duration * s.time_base)
            return c.duration / 1_000_000 if c.duration else None
    except av.FFmpegError:
        return None  # the processing step reports the unreadable file


def split_on_keyframes(src: str | os.PathLike, work_dir: str | os.PathLike, segment_seconds: float) -> list[Segment]:
    """Copy the video stream of ``src`` into segments of at least ``segment_seconds`` each.

    Cuts only at clean keyframes (see the module note); a video without one past the first
    segment comes back as a single segment.  Segment files are written atomically into
    ``work_dir`` as ``cut-NNNN`` with the source's extension (.mkv when that container cannot
    take a copied stream).  Raises VideoError when the file cannot be read.
    """
    av = require_av()
    src, work = Path(src), Path(work_dir)
    work.mkdir(parents=True, exist_ok=True)
    ext = src.suffix.lower() if src.suffix.lower() in _SEGMENT_CONTAINERS else ".mkv"
    try:
        container = av.open(str(src))
    except av.FFmpegError as e:
        raise VideoError(f"{src}: cannot open as a video ({e})") from e
    with container:
        if not container.streams.video:
            raise VideoError(f"{src}: no video stream")
        stream = container.streams.video[0]
        tb = Fraction(stream.time_base)
        duration = probe_duration(src) or 0.0
        segments: list[Segment] = []
        writer: _SegmentWriter | None = None
        shown_before = None  # the latest timestamp shown by packets already written
        for gop in _gops(container, stream):
            key = gop[0]
            first_shown = min(p.pts for p in gop if p.pts is not None)
            start = key.pts * tb
            clean = key.is_keyframe and first_shown == key.pts and (shown_before is None or shown_before < key.pts)
            due = writer is None or (start - segments[-1].start >= segment_seconds
                                     and duration - float(start) >= segment_seconds / 2)
            if clean and due:
                if writer is not None:
                    writer.close()
                path = work / f"cut-{len(segments):04d}{ext}"
                writer = _SegmentWriter(av, path, stream)
                segments.append(Segment(str(path), int(key.pts), start))
            elif writer is None:
                raise VideoError(f"{src}: the video does not start with a keyframe; cannot cut it")
            for packet in gop:
                writer.write(packet)
            shown = max(p.pts for p in gop if p.pts is not None)
            shown_before = shown if shown_before is None else max(shown_before, shown)
        if writer is None:
            raise VideoError(f"{src}: no video packets")
        writer.close()
    log.info("%s: %d segment(s) of >= %gs", src, len(segments), segment_seconds)
    return segments


def _gops(container, stream) -> Iterator[list]:
    """The stream's packets in decoding order, grouped from one keyframe to the next."""
    gop: list = []
    for packet in container.demux(stream):
        if not packet.size or packet.pts is None:
            continue
        if packet.is_keyframe and gop:
            yield gop
            gop = []
        gop.append(packet)
    if gop:
        yield gop


class _SegmentWriter:
    """Stream-copies packets into a new file (imgen.atomic), renamed into place on close."""

    def __init__(self, av, path: Path, template):
        self.path = path
        self.tmp = create_temp_video(path)
        try:
            self.out = av.open(str(self.tmp), "w")
            self.stream = self.out.add_stream_from_template(template)
        except BaseException:
            discard(self.tmp)
            raise

    def write(self, packet) -> None:
        packet.stream = self.stream
        self.out.mux(packet)

    def close(self) -> None:
        self.out.close()
        commit(self.tmp, self.path)


def join_segments(processed: list[str], segments: list[Segment], source: str | os.PathLike,
                  target: str | os.PathLike, *, copy_streams: bool = True) -> list[str]:
    """Mux processed segments into ``target`` without re-encoding, audio/subtitles from ``source``.

    processed[k] is segments[k] after processing; its packets are shifted so that its first shown
    frame lands at segments[k].start.  The source's audio and subtitle streams (all of them, when
    ``copy_streams``) are copied packet by packet over the whole timeline.  All processed
    segments must share one encoding (codec, size, parameters): they come from one encoder
    configuration.  Written to a temporary file beside ``target`` and renamed into place.
    Returns labels of the copied streams.  Raises VideoError.
    """
    av = require_av()
    inputs = [av.open(os.fspath(p)) for p in processed]
    try:
        first = inputs[0].streams.video[0]
        for k, c in enumerate(inputs[1:], 1):
            other = c.streams.video[0]
            if (other.codec_context.name, other.width, other.height, bytes(other.codec_context.extradata or b"")) != \
                    (first.codec_context.name, first.width, first.height, bytes(first.codec_context.extradata or b"")):
                raise VideoError(f"processed segment {k} was encoded differently from segment 0; "
                                 f"process this video without segments")
    finally:
        for c in inputs:
            c.close()
    # The join of a long video's closed parts (imgen.video.join) does the rest: the same remux,
    # with the source's tags, chapters, rotation and dispositions carried over.
    from ..video.join import join_parts
    from ..video.source import VideoFileSource

    reader = VideoFileSource(Path(source), copy_streams=copy_streams)
    try:
        info = reader.info
    finally:
        reader.close()
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    notes: list[str] = []
    copied = join_parts(av, [(Path(p), Fraction(seg.start)) for p, seg in zip(processed, segments)],
                        Path(source), info, target, copy_streams=copy_streams, notes=notes)
    for note in notes:
        log.warning("%s: %s", target, note)
    return copied
