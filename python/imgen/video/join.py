"""Joining closed parts into one video by remuxing (no re-encoding): the parts' video packets one
after the other, each placed at its first frame's time in the source, with the source's audio and
subtitle packets (and its tags, chapters and dispositions) copied over the whole timeline.
"""
from __future__ import annotations

import heapq
import itertools
from fractions import Fraction
from pathlib import Path
from typing import Iterator

from ..atomic import commit, discard
from .result import VideoError
from .sink import add_copied_streams, copy_tags, create_temp_video
from .source import SourceInfo



def join_parts(av, parts: list[tuple[Path, Fraction]], source: Path, info: SourceInfo, target: Path, *,
               copy_streams: bool, notes: list[str]) -> list[str]:
    """Write ``target`` (atomically) from ``parts`` -- (file, its first frame's time in seconds) in
    order, all from one encoder configuration -- and the source's audio/subtitle streams when
    ``copy_streams``.  Returns labels of the copied streams; VideoError when FFmpeg fails."""
    inputs, tmp, out = [], None, None
    src = av.open(str(source))
    try:
        inputs = [av.open(str(p)) for p, _ in parts]
        first = inputs[0].streams.video[0]
        tmp = create_temp_video(target)
        out = av.open(str(tmp), "w")
        video = out.add_stream_from_template(first)
        if info.extras.display_matrix:
            video.set_display_matrix(list(info.extras.display_matrix))
        wanted = [s for s in src.streams if s.type in ("audio", "subtitle")] if copy_streams else []
        mapping, copied = add_copied_streams(av, out, wanted, notes)
        copy_tags(av, out, video, info, notes)
        timestamps = [_decode_order_timestamps(c) for c in inputs]
        delay = max(_reorder_delay(pts) for pts in timestamps)  # one for all: decoding times must rise across parts
        streams = [_video_packets(c, start, video, pts, delay) for c, (_, start), pts in zip(inputs, parts, timestamps)]
        if mapping:
            streams.append(_copied_packets(src, mapping))
        for _, _, packet in heapq.merge(*streams, key=lambda item: (item[0], item[1])):
            out.mux(packet)
        out.close()
        out = None
        commit(tmp, target)
        return copied
    except av.FFmpegError as e:
        raise VideoError(f"{target}: cannot join the parts ({e})") from e
    finally:
        if out is not None:
            out.close()
        if tmp is not None:
            discard(tmp)  # gone already when committed
        for c in inputs + [src]:
            c.close()


_order = itertools.count()


def _decode_order_timestamps(container) -> list[int]:
    """The presentation timestamps of a part's video packets, in file (decoding) order."""
    stream = container.streams.video[0]
    pts = [p.pts for p in container.demux(stream) if p.size]
    if any(t is None for t in pts):
        raise VideoError(f"{container.name}: a part has video packets without timestamps")
    return pts


def _reorder_delay(pts: list[int]) -> int:
    """The least shift that puts the k-th smallest timestamp at or before the k-th packet's."""
    return max((o - p for o, p in zip(sorted(pts), pts)), default=0)


def _video_packets(container, start: Fraction, out_stream, pts: list[int], delay: int) -> Iterator[tuple]:
    """(time in seconds, order, packet) of a part, shifted so its first shown frame is at start.

    Decoding timestamps are made anew from the presentation ones (the k-th smallest less
    ``delay``): Matroska parts leave the first ones unset, and the muxer needs them."""
    stream = container.streams.video[0]
    tb = Fraction(stream.time_base)
    if not pts:
        return
    container.seek(0)
    shift = round(start / tb) - min(pts)
    ordered = sorted(pts)
    packets = (p for p in container.demux(stream) if p.size)
    for packet, shown, decoded in zip(packets, pts, ordered):
        if packet.pts != shown:
            raise VideoError(f"{container.name}: a part reads differently the second time")
        packet.pts = shown + shift
        packet.dts = decoded - delay + shift
        packet.stream = out_stream
        yield packet.dts * tb, next(_order), packet


def _copied_packets(container, mapping: dict) -> Iterator[tuple]:
    """(time in seconds, order, packet) of the source's audio/subtitle packets, in file order."""
    streams = [s for s in container.streams if s.index in mapping]
    for packet in container.demux(streams):
        if not packet.size:
            continue
        t = packet.dts if packet.dts is not None else packet.pts
        when = (t * Fraction(packet.time_base)) if t is not None else Fraction(0)
        packet.stream = mapping[packet.stream_index]
        yield when, next(_order), packet
