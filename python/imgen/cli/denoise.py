"""``imgen denoise INPUT... -o OUT``: classical (``imgen.methods.REGISTRY``'s denoisers) or learned
denoising of files.  The method options are generated from the registry (cli/_methods.py)."""
from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path

from ..imageio import IMAGE_EXTENSIONS, plan_outputs
from ..processors import FrameProcessor, ProcessorOptions
from ._args import thread_count
from ..batch import Summary, run_files, skip_done
from ._distributed import add_ray_arguments, add_resume_argument, check_ray_arguments
from ._cost import say_files_cost
from ._methods import add_method_arguments, processor_options
from ._report import print_summary
from .run import add_io_arguments

__all__ = ["add_method_arguments", "add_parser", "main", "processor_options"]


def add_parser(sub) -> None:
    p = sub.add_parser(
        "denoise", help="denoise images with a classical method (BM3D, wavelet shrinkage, ...) or a learned model",
        description="Denoise image files and folders (same file handling as `imgen run`: recursive, "
                    "atomic writes, inputs never overwritten, failures listed, exit status 1 on failure).")
    add_io_arguments(p)
    add_method_arguments(p, required=False)
    p.add_argument("--threads", type=thread_count,
                   help="threads (default: all cores; with --ray see --cpus-per-worker)")
    add_resume_argument(p)
    add_ray_arguments(p, "BM3D is the slow one worth spreading out: each worker denoises one file at a time "
                         "(a learned --model gets batches of 8, as locally).")
    # a --model runs with its own tiling and batching: this command has no options for them
    p.set_defaults(func=main, tile=None, overlap=None, batch_size=None, providers=None, whole_pixels=None)


def main(args: argparse.Namespace) -> int:
    """`imgen denoise` and `imgen restore`: the options, then the folder run of `imgen run`."""
    check_ray_arguments(args)
    options = processor_options(args, color_order="bgr")
    if args.ray is not None:
        from ._distributed import run_on_ray

        if args.model:
            _check_denoiser(args, threads=1)
        return run_on_ray(args, options, batch_size=_chunk(args))
    if args.threads is not None:
        from .. import set_num_threads

        set_num_threads(args.threads)
    jpeg = options.task == "jpeg"
    ext = args.ext
    if jpeg and ext is None and Path(args.output).suffix.lower() not in IMAGE_EXTENSIONS:
        ext = ".png"  # a restored JPEG written as JPEG again gets artefacts of its own
    jobs, problems = plan_outputs(args.inputs, args.output, ext)
    skipped = 0
    if args.resume:
        jobs, skipped = skip_done(jobs)
    model = _check_denoiser(args, threads=args.threads) if args.model else None
    summary, notes = Summary(), set[str]()
    for k, (quality, group) in enumerate(_by_quality(jobs, options, notes)):
        opts = options if quality == _quality(options) else dataclasses.replace(
            options, params=dataclasses.replace(options.params, quality=quality))
        process = FrameProcessor(opts, model=model)
        if k == 0:
            say_files_cost(process, jobs, quiet=args.quiet, max_pixels=args.max_pixels, threads=args.threads)
        part = run_files(group, process, chunk=_chunk(args), desc=process.name, quiet=args.quiet,
                         max_pixels=args.max_pixels)
        summary.merge(part)
        summary.notes.update(process.notes)
    summary.notes.update(notes)
    if jpeg:
        _note_jpeg_outputs(jobs, ext, args.ext, summary.notes)
    summary.skipped = skipped
    return print_summary(summary, problems)


def _quality(options: ProcessorOptions) -> int | None:
    """The JPEG quality the options give (task jpeg's method parameter), or None."""
    return getattr(options.params, "quality", None)


def _by_quality(jobs, options: ProcessorOptions, notes: set[str]):
    """(quality, jobs) groups for one run each: task jpeg with BM3D and no quality given takes each
    file's quality from its quantisation tables (restoration.estimate_quality), noted; otherwise
    one group at the options' quality."""
    quality = _quality(options)
    if options.task != "jpeg" or options.model is not None or quality is not None or options.sigma is not None:
        return [(quality, jobs)]
    from ..restoration.jpeg import estimate_quality, jpeg_sigma

    groups: dict[int | None, list] = {}
    found: dict[int | None, bool] = {}
    for job in jobs:
        got = estimate_quality(job.source)
        q = None if got is None else got[0]
        groups.setdefault(q, []).append(job)
        found[q] = found.get(q, True) and (got is None or got[1])
    for q, group in groups.items():
        files = f"{len(group)} file(s)"
        if q is None:
            notes.add(f"no JPEG quantisation tables in {files}: BM3D's sigma estimated from the image")
        else:
            how = "" if found[q] else " (the nearest: the tables are not libjpeg's scaled standard ones)"
            notes.add(f"JPEG quality {q} estimated from the quantisation tables of {files}{how}: BM3D sigma "
                      f"{jpeg_sigma(q) * 255:.1f}/255 (--quality sets it)")
    return sorted(groups.items(), key=lambda item: -1 if item[0] is None else item[0])


def _note_jpeg_outputs(jobs, ext: str | None, asked: str | None, notes: set[str]) -> None:
    """Say what format --task jpeg wrote: PNG unless asked otherwise, and JPEG's own cost if asked."""
    suffixes = {job.target.suffix.lower() for job in jobs}
    if ext == ".png" and asked is None:
        notes.add("outputs written as PNG (lossless): written as JPEG again they would get artefacts of their "
                  "own; --ext .jpg writes JPEG (quality 95)")
    if suffixes & {".jpg", ".jpeg"}:
        notes.add("outputs written as JPEG at quality 95 (OpenCV's default), which adds artefacts of its own; "
                  "--ext .png writes losslessly")


def _chunk(args: argparse.Namespace) -> int:
    """Files per model call: 8 for a learned model, 1 for a classical method (one image at a time)."""
    return 8 if args.model else 1


def _check_denoiser(args: argparse.Namespace, *, threads: int | None):
    """The model opened as a denoiser (ModelError naming what was expected if it is not one)."""
    from ..engine import Model
    from ..image_model import ImageModel

    model = Model.open(args.model, threads=threads, metadata=dict(args.info))
    task = args.task  # imgen restore --task sr|deblur|jpeg: models of that task too
    tasks = ("denoise", "restore") + ((task,) if task != "denoise" else ())
    return ImageModel.adopt(model, f"imgen {args.command}", tasks=tasks)
