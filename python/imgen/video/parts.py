"""Writing a long video as closed parts, so that a run killed in any way can be resumed.

Each part is encoded by its own encoder into its own file in the work folder (it starts on a
keyframe and is complete once renamed into place) and recorded in the journal
(:mod:`imgen.video.journal`).  The finished output is the parts joined by remuxing
(:mod:`imgen.video.join`) with the source's audio and subtitles; a stopped run joins the parts
it has into ``OUTPUT.partial.EXT`` and keeps them for the next run to continue after.
"""
from __future__ import annotations

import logging
from fractions import Fraction
from pathlib import Path

from .join import join_parts
from .journal import Journal, Part, remove_work_dir
from .options import EncodeOptions
from .paths import partial_path
from .result import VideoError
from .sink import VideoFileSink
from .source import DecodedFrame, SourceInfo

log = logging.getLogger("imgen")

#: Source seconds per part by default: a kill loses at most this much work.
DEFAULT_PART_SECONDS = 60.0


class PartedSink:
    """The sink of a resumable run (same interface as VideoFileSink); ``journal`` may hold parts
    of an earlier run, which the output keeps before the frames written now."""

    def __init__(self, target: Path, *, options: EncodeOptions, info: SourceInfo, source: Path,
                 copy_streams: bool, notes: list[str], journal: Journal, part_seconds: float):
        from ._av import require_av

        if not part_seconds > 0:
            raise ValueError(f"part_seconds must be > 0, got {part_seconds}")
        self._av = require_av()
        self.target, self.options, self.info, self.source = target, options, info, source
        self.copy_streams, self.notes, self.journal = copy_streams, notes, journal
        self.part_seconds = Fraction(part_seconds).limit_denominator(1000)
        self.copied: list[str] = []
        self.frames_out = 0
        self._part: VideoFileSink | None = None
        self._first_pts = self._last_pts = 0
        self._part_frames = 0

    def _seconds(self, pts: int) -> Fraction:
        return pts * self.info.time_base

    def write(self, frame: DecodedFrame) -> None:
        """Encode one frame into the current part; a part that spans part_seconds is closed first."""
        pts = int(frame.pts) if frame.pts is not None else self._last_pts + 1
        if self._part is not None and self._seconds(pts - self._first_pts) >= self.part_seconds:
            self._close_part(next_pts=pts)
        if self._part is None:
            path = self.journal.part_path(len(self.journal.parts), self.target.suffix)
            self._part = VideoFileSink(path, options=self.options, info=self.info, copy_streams=[],
                                       notes=self.notes)
            self._first_pts, self._part_frames = pts, 0
        self._part.write(frame)
        self._last_pts = pts
        self._part_frames += 1
        self.frames_out += 1

    def _close_part(self, *, next_pts: int | None) -> None:
        part, self._part = self._part, None
        if part is None or self._part_frames == 0:
            if part is not None:
                part.discard()
            return
        part.finish([])
        self.journal.add(Part(file=part.target.name, frames=self._part_frames, first_pts=self._first_pts,
                              next_pts=next_pts))
        log.info("part %d closed: %d frames from t=%.3fs", len(self.journal.parts) - 1, self._part_frames,
                 float(self._seconds(self._first_pts)))

    def _join(self, target: Path) -> str:
        parts = [(self.journal.folder / p.file, self._seconds(p.first_pts)) for p in self.journal.parts]
        self.copied = join_parts(self._av, parts, self.source, self.info, target, copy_streams=self.copy_streams,
                                 notes=self.notes)
        return str(target)

    def finish(self, trailing: list) -> str:
        """Close the last part, join every part into the target, delete the work folder (and an
        earlier stopped run's OUTPUT.partial.EXT); returns the target."""
        try:
            self._close_part(next_pts=self._last_pts + 1)
            if not self.journal.parts:
                raise VideoError("no frame could be read from the input; nothing written")
            self._join(self.target)
        except BaseException:
            self.discard()
            raise
        partial_path(self.target).unlink(missing_ok=True)
        remove_work_dir(self.target)
        return str(self.target)

    def finish_partial(self) -> str | None:
        """Close the current part and join the parts done into a playable OUTPUT.partial.EXT; the
        parts stay for a resumed run.  None if there are none."""
        try:
            self._close_part(next_pts=self._last_pts + 1)
            if not self.journal.parts:
                return None
            out = self._join(partial_path(self.target))
        except (OSError, VideoError, self._av.FFmpegError) as e:
            log.warning("could not keep the partial output: %s", e)
            self.discard()
            return None
        self.notes.append(f"{self.journal.frames_done} frame(s) done are kept in {self.journal.folder.name} beside "
                          f"the output: rerun with --resume (resume=True) to process only the rest")
        return out

    def discard(self) -> None:
        """Delete the part being written (closed parts stay, for a resumed run)."""
        if self._part is not None:
            self._part.discard()
            self._part = None
