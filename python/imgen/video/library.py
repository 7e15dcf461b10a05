"""A library of videos: every video file under some folders, each to the same relative path under
an output folder (``imgen video FOLDER -o OUTFOLDER``), processed one after another here or one
per Ray task (``imgen.distributed.run_videos``).

Outputs are written atomically by ``process_video``; a video that fails is reported and the rest
carry on; ``--resume`` skips videos whose output exists (``batch.skip_done``).
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Sequence

from ..batch import Summary
from ..errors import ImgenError
from ..imageio import Job, jobs_for, walk_files
from ..interrupts import stop_reason
from .paths import partial_path

VIDEO_EXTENSIONS = (".mp4", ".mkv", ".mov", ".m4v", ".avi", ".webm", ".mpg", ".mpeg", ".ts", ".mts",
                    ".m2ts", ".flv", ".wmv", ".ogv")


@dataclass
class LibrarySummary(Summary):
    """A Summary of videos, with each video's own VideoSummary by source path."""

    unit: str = "video"
    videos: dict = field(default_factory=dict)

    def record(self, source: str, video) -> None:
        """Count a finished video; its bad frames become problems (exit status 1), as with one video."""
        self.videos[source] = video
        self.done += 1
        self.notes.update(video.notes)
        self.problems.extend(f"{source}: bad frame: {b}" for b in video.bad_frames)


def is_video(path: Path) -> bool:
    return path.suffix.lower() in VIDEO_EXTENSIONS


def _outputs(output: str | os.PathLike | None) -> list[Path]:
    """What the walker leaves out: the output (a folder or a video file) and its partial file."""
    if output is None:
        return []
    out = Path(output)
    return [out, partial_path(out)]


def is_video_library(path: str | os.PathLike, output: str | os.PathLike | None = None) -> bool:
    """A folder with video files under it (not a folder of frames); ``output`` (a video written
    into a frame folder, an output folder inside the library) does not count."""
    p = Path(path)
    return p.is_dir() and bool(walk_files(p, VIDEO_EXTENSIONS, [], skip=_outputs(output)))


def plan_videos(inputs: Iterable[str | os.PathLike], output: str | os.PathLike) -> tuple[list[Job], list[str]]:
    """(jobs, problems) for video files and folders of them.

    Folders are searched recursively (imageio.walk_files, leaving out an output folder inside
    them) and keep their relative paths under ``output``; a file goes to ``output/<name>``, or
    to ``output`` itself when that names a video file and the file is the only input.
    Problems: missing inputs, folders without videos or that cannot be read, outputs that would
    overwrite an input or collide.
    """
    inputs, out = [Path(p) for p in inputs], Path(output)
    single = len(inputs) == 1 and inputs[0].is_file() and is_video(out) and not out.is_dir()
    pairs, problems = [], []
    for src in inputs:
        if src.is_dir():
            before = len(problems)
            found = walk_files(src, VIDEO_EXTENSIONS, problems, skip=_outputs(out))
            if not found and len(problems) == before:
                problems.append(f"{src}: folder contains no videos ({', '.join(VIDEO_EXTENSIONS)})")
            pairs.extend((p, out / p.relative_to(src)) for p in found)
        elif src.is_file():
            pairs.append((src, out if single else out / src.name))
        else:
            problems.append(f"{src}: no such file or folder")
    return jobs_for(pairs, problems), problems


def run_library(jobs: Sequence[Job], process_one: Callable[[Job], object], *,
                announce: Callable[[str], None] | None = None) -> LibrarySummary:
    """Process videos one after the other with ``process_one(job) -> VideoSummary``.

    announce: called with "[k/n] SOURCE" as each video starts (the CLI prints it).
    A VideoError (or other ImgenError/ValueError) fails that video only; Ctrl+C (or SIGTERM
    through the CLI) stops the loop: outputs already finished are complete files, the current
    video keeps a playable partial file, and the summary records the stop.
    """
    summary = LibrarySummary()
    for k, job in enumerate(jobs, 1):
        if announce is not None:
            announce(f"[{k}/{len(jobs)}] {job.source}")
        try:
            summary.record(str(job.source), process_one(job))
        except (ImgenError, ValueError) as e:
            summary.failures.append((str(job.source), str(e)))
        except KeyboardInterrupt as e:
            partial = getattr(getattr(e, "summary", None), "output", None)
            if partial:
                summary.notes.add(f"{job.source}: the frames done before the stop are in {partial}")
            summary.stopped = stop_reason(e)
            summary.not_done = len(jobs) - k + 1
            break
    return summary
