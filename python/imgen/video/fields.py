"""Interlaced frames through FFmpeg filters: deinterlacing decoded frames (bwdif: one progressive
frame per frame, field parity read from each frame, timestamps and colour tags kept), and marking
frames to encode with their field order (setfield: encoders such as x264 read it per frame)."""
from __future__ import annotations

from fractions import Fraction

_BWDIF = "mode=send_frame:parity=auto:deint=all"


class _OneFilter:
    """A one-filter graph for PyAV VideoFrames of one size and format."""

    def __init__(self, av, first_frame, time_base: Fraction, name: str, args: str):
        self._av = av
        graph = av.filter.Graph()
        src = graph.add_buffer(width=first_frame.width, height=first_frame.height,
                               format=first_frame.format.name, time_base=time_base)
        filt = graph.add(name, args)
        sink = graph.add("buffersink")
        src.link_to(filt)
        filt.link_to(sink)
        graph.configure()
        self._graph = graph
        self._colour = {}

    def push(self, frame) -> list:
        """Feed one frame; returns the frames ready (none or one)."""
        self._colour[frame.pts] = (frame.color_range, frame.colorspace, frame.color_primaries, frame.color_trc)
        self._graph.push(frame)
        return self._drain()

    def flush(self) -> list:
        """The frames still held, at the end of the stream."""
        self._graph.push(None)
        return self._drain()

    def _drain(self) -> list:
        out = []
        while True:
            try:
                frame = self._graph.pull()
            except (BlockingIOError, EOFError, self._av.error.EOFError):
                return out
            except self._av.FFmpegError as e:
                if getattr(e, "errno", None) == 11:  # EAGAIN: needs more input
                    return out
                raise
            tags = self._colour.pop(frame.pts, None)
            if tags is not None:
                frame.color_range, frame.colorspace, frame.color_primaries, frame.color_trc = tags
            out.append(frame)


class Deinterlacer(_OneFilter):
    """bwdif; it holds one frame back, so :meth:`flush` gives the last."""

    def __init__(self, av, first_frame, time_base: Fraction):
        super().__init__(av, first_frame, time_base, "bwdif", _BWDIF)


class FieldMarker(_OneFilter):
    """setfield: marks frames top (or bottom) field first, for interlaced coding."""

    def __init__(self, av, first_frame, time_base: Fraction, *, top_first: bool):
        super().__init__(av, first_frame, time_base, "setfield", "tff" if top_first else "bff")

    def mark(self, frame):
        """The frame, marked (setfield holds nothing back)."""
        out = self.push(frame)
        if len(out) != 1:
            raise RuntimeError(f"setfield gave {len(out)} frames for one")
        return out[0]
