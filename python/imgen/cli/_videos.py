"""Many videos at once: ``imgen video FOLDER -o OUTFOLDER`` (a library of videos), locally or ``--ray``.

A folder holding video files is a library: every video under it (recursively) is processed to
the same relative path under the output folder, one after the other here or one per Ray task
with ``--ray`` (a single video file with ``--ray`` is one task, or several segments when long).
Outputs are written atomically by ``process_video``; a video that fails is reported and the
rest carry on; ``--resume`` skips videos whose output exists.
"""
from __future__ import annotations

import argparse
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Sequence

from ..imageio import Job, jobs_for, walk_files
from ._batch import Summary, skip_done
from ._signals import stop_reason

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
    from ..video.paths import partial_path

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


def run_library(jobs: Sequence[Job], process_one: Callable[[Job], object], *, quiet: bool = True) -> LibrarySummary:
    """Process videos one after the other with ``process_one(job) -> VideoSummary``.

    A VideoError (or other ImgenError/ValueError) fails that video only; Ctrl+C (or SIGTERM
    through the CLI) stops the loop: outputs already finished are complete files, the current
    video keeps a playable partial file, and the summary records the stop.
    """
    from ..errors import ImgenError

    summary = LibrarySummary()
    for k, job in enumerate(jobs, 1):
        if not quiet:
            print(f"imgen: [{k}/{len(jobs)}] {job.source}", file=sys.stderr)
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


def library_run(args: argparse.Namespace) -> bool:
    """Whether ``imgen video`` hands over to :func:`main_library`: with --ray, for a folder of
    videos, or to --resume a video file."""
    return (args.ray is not None or is_video_library(args.input, args.output)
            or (args.resume and Path(args.input).is_file()))


def main_library(args: argparse.Namespace, encode) -> int:
    """``imgen video`` for a folder of videos, a video with --resume, or anything with ``--ray``."""
    from ..errors import ImgenError
    from ..processors import FrameProcessor
    from ..video._av import require_av
    from .denoise import processor_options

    require_av()

    if Path(args.input).is_file() and not is_video(Path(args.input)) and args.ray is not None:
        raise ImgenError(f"{args.input}: with --ray the input is a video file or a folder of videos")
    if args.fps is not None:
        raise ImgenError("--fps applies to frame folders; videos keep their own timestamps")
    options = processor_options(args, color_order="rgb")
    jobs, problems = plan_videos([args.input], args.output)
    skipped = 0
    if args.resume:
        jobs, skipped = skip_done(jobs)
    if args.ray is not None:
        from ..distributed.videos import run_videos

        summary = run_videos(
            jobs, options, encode=encode, on_bad_frame=args.on_bad_frame, batch_size=args.batch_size,
            queue_size=args.queue_size, copy_streams=not args.no_copy, segment_seconds=args.segment_seconds, address=args.ray or None, workers=args.workers,
            cpus_per_worker=args.cpus_per_worker or 1, gpus_per_worker=args.gpus_per_worker,
            resume=args.resume, progress=not args.quiet)
    else:
        from ..video import process_video

        if args.threads is not None:
            from .. import set_num_threads

            set_num_threads(args.threads)
        processor = FrameProcessor(options)  # one model for every video

        def process_one(job: Job):
            return process_video(job.source, job.target, processor, options=encode,
                                 on_bad_frame=args.on_bad_frame, progress=not args.quiet,
                                 batch_size=args.batch_size, queue_size=args.queue_size,
                                 copy_streams=not args.no_copy, desc=job.source.name)

        summary = run_library(jobs, process_one, quiet=args.quiet)
    for source, video in summary.videos.items():
        print(f"imgen: {source}: {video.lines()[0]}", file=sys.stderr)
    summary.problems[:0] = problems
    summary.skipped = skipped
    return summary.report()


def add_video_ray_arguments(p: argparse.ArgumentParser) -> None:
    """--resume, --ray and friends, and --segment-seconds, for ``imgen video``."""
    from ._args import nonnegative_float
    from ._distributed import add_ray_arguments, add_resume_argument

    add_resume_argument(p)
    g = add_ray_arguments(p, "INPUT may also be a folder of videos (searched recursively): each goes to its "
                             "relative path under OUTPUT, a folder -- one after another here, one per Ray "
                             "task with --ray. With --ray, INPUT is a video file or such a folder.")
    g.add_argument("--segment-seconds", type=nonnegative_float, default=120.0, metavar="S",
                   help="with --ray: videos of at least 2*S seconds are cut on keyframes into segments of "
                        ">= S seconds, processed in parallel and joined without re-encoding (0 = never; "
                        "default 120)")
