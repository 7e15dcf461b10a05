"""``imgen video FOLDER -o OUTFOLDER`` (a library of videos, video/library.py), a video with
``--resume``, or anything with ``--ray`` (a single video file is one task, or several segments
when long).
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..batch import skip_done
from ..imageio import Job
from ..video.library import is_video, is_video_library, plan_videos, run_library
from ._cost import say_video_cost
from ._report import announce, print_summary


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
    from ._methods import processor_options

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
        from ._distributed import cluster_options, ray_output

        cluster = cluster_options(args)
        with ray_output(args):
            summary = run_videos(
                jobs, options, encode=encode, on_bad_frame=args.on_bad_frame, batch_size=args.batch_size,
                queue_size=args.queue_size, copy_streams=not args.no_copy, segment_seconds=args.segment_seconds,
                resume=args.resume, cluster=cluster, progress=not args.quiet)
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
                                 copy_streams=not args.no_copy, desc=job.source.name, resume=args.resume,
                                 part_seconds=args.part_seconds)

        if jobs:  # the cost, probed on the first video's first frame
            say_video_cost(processor, jobs[0].source, quiet=args.quiet, threads=args.threads,
                           max_pixels=args.max_pixels)
        summary = run_library(jobs, process_one, announce=None if args.quiet else announce)
    for source, video in summary.videos.items():
        print(f"imgen: {source}: {video.lines()[0]}", file=sys.stderr)
    summary.problems[:0] = problems
    summary.skipped = skipped
    return print_summary(summary)


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
