"""What a video run reports: its summary, and the errors that carry one."""
from __future__ import annotations

from dataclasses import dataclass, field

from ..errors import ImgenError


@dataclass
class VideoSummary:
    """The outcome of :func:`imgen.video.process_video`.

    frames_in: frames read from the input, undecodable ones included; frames_out: frames
    written.  bad_frames: one message per frame that could not be decoded (skipped) or was
    decoded with errors (kept, marked so).  output: the file or frame pattern written -- the
    target when ``complete``, else the partial file (None when nothing was kept).  seconds:
    wall-clock time of the run.  copied_streams / notes: streams copied without re-encoding,
    and things the caller should know (streams left out, conversions).
    """

    source: str
    output: str | None
    frames_in: int = 0
    frames_out: int = 0
    bad_frames: list[str] = field(default_factory=list)
    seconds: float = 0.0
    complete: bool = False
    copied_streams: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def fps(self) -> float:
        """Frames written per second of wall-clock time."""
        return self.frames_out / self.seconds if self.seconds > 0 else 0.0

    @property
    def rate(self) -> str:
        """The speed as text: "12.0 frames/s", or "8.3 s/frame" below one frame a second (where
        frames/s would round a slow model's run to 0.0)."""
        if self.frames_out and self.seconds > 0 and self.fps < 1:
            return f"{self.seconds / self.frames_out:.1f} s/frame"
        return f"{self.fps:.1f} frames/s"

    def lines(self) -> list[str]:
        """The summary as lines of text (what `imgen video` prints)."""
        state = "" if self.complete else " (stopped early)"
        out = [f"frames in {self.frames_in}, frames out {self.frames_out}, bad {len(self.bad_frames)}; "
               f"{self.seconds:.1f} s, {self.rate}{state}"]
        if self.output:
            out.append(f"output: {self.output}")
        if self.copied_streams:
            out.append(f"copied without re-encoding: {', '.join(self.copied_streams)}")
        out.extend(f"note: {n}" for n in self.notes)
        out.extend(f"bad frame: {b}" for b in self.bad_frames)
        return out


class VideoError(ImgenError):
    """A video could not be read, processed or written; ``summary`` says how far it got, if it started."""

    def __init__(self, message: str, summary: VideoSummary | None = None):
        super().__init__(message)
        self.summary = summary


class VideoInterrupted(KeyboardInterrupt):
    """Ctrl+C (or a KeyboardInterrupt from the processor) stopped a run; ``summary.output`` is the
    playable partial file (or the frames written so far)."""

    def __init__(self, summary: VideoSummary):
        super().__init__("interrupted")
        self.summary = summary
