"""The folder run of every image command (run, denoise, restore, translate, inpaint, reconstruct):
one job (``imgen.jobs.Job``) run where the arguments say -- on an `imgen serve` server (the job is
then a ``client.RemoteJob``), on Ray (--ray: ``imgen.distributed.run_images``) or here
(``imgen.batch.run_images``) -- and the one report."""
from __future__ import annotations

import argparse
import dataclasses
import logging
import os
from pathlib import Path

from ..batch import Summary, plan_files, run_files, run_images
from ..errors import ImgenError
from ..image_model import ImageModel
from ..imageio import IMAGE_EXTENSIONS
from ..imageio import Job as FileJob
from ..jobs import Job
from ..processors import FrameProcessor, ProcessorOptions
from ._cost import files_cost_hook, say_files_cost
from ._distributed import check_ray_arguments, run_on_ray
from ._report import print_summary

log = logging.getLogger("imgen")


#: The cost estimate's hint for a faster method: `imgen run` / `translate` name the restore command.
RUN_HINT = "imgen restore --task {task} --method {method}"
RESTORE_HINT = "--method {method}"


def run_job(args: argparse.Namespace, job: Job, *, batch_size: int = 8, process: FrameProcessor | None = None,
            cost_hint: str | None = None) -> int:
    """Run ``job`` over args.inputs into args.output (--ext, --resume, --quiet, --max-pixels,
    --threads), on Ray with --ray, else here; the exit status of the report.

    process: the processor already built from ``job`` here (a model the command loaded and
    checked), used by the local run only.  cost_hint: a ProcessorOptions job's local run says
    which provider runs its model and what the run will cost before the first file, naming a
    faster method this way (RUN_HINT, RESTORE_HINT).  The Ray arguments are checked here
    (``check_ray_arguments``); a command that loads a model before calling this checks them first.
    """
    check_ray_arguments(args)
    if args.ray is not None:
        if args.server:
            raise ImgenError("--server and --ray exclude each other: the server runs the model")
        summary = run_on_ray(args, job, batch_size=batch_size)
    else:
        before = None if cost_hint is None else files_cost_hook(quiet=args.quiet, max_pixels=args.max_pixels,
                                                                threads=args.threads, method_hint=cost_hint)
        summary = run_images(args.inputs, args.output, job, ext=args.ext, resume=args.resume,
                             batch_size=batch_size, progress=not args.quiet, max_pixels=args.max_pixels,
                             threads=args.threads, process=process, before=before)
    return print_summary(summary)  # one report, wherever it ran


def run_main(args: argparse.Namespace) -> int:
    """`imgen run`: MODEL here (or on Ray), or with --server on an `imgen serve` server, each image
    sent to its MODEL ($IMGEN_TOKEN: the server's token)."""
    from ..client import RemoteJob

    job: Job = (RemoteJob(args.server, args.model, sigma=args.sigma, tile=args.tile,
                          token=os.environ.get("IMGEN_TOKEN") or None)
                if args.server else run_options(args))
    return run_job(args, job, cost_hint=None if args.server else RUN_HINT)


def run_options(args: argparse.Namespace) -> ProcessorOptions:
    """What ``imgen run`` (and translate) does to each file, from its arguments: BGR(A) files."""
    return ProcessorOptions(model=args.model, sigma=args.sigma, tile=args.tile,
                            overlap=args.overlap, batch_size=args.batch_size, info=tuple(args.info),
                            providers=tuple(args.providers) if args.providers else None,
                            threads=args.threads, color_order="bgr",
                            whole_pixels=args.whole_pixels)


def run_model(model: ImageModel, args: argparse.Namespace) -> int:
    """Run an already loaded image-to-image model over args.inputs into args.output, as ``imgen run``
    does (used by ``imgen translate``; with --ray the workers load it again)."""
    options = run_options(args)
    process = None if args.ray is not None else FrameProcessor(options, model=model)
    return run_job(args, options, process=process, cost_hint=RUN_HINT)


def restore_main(args: argparse.Namespace) -> int:
    """`imgen restore` and its alias `imgen denoise` (``restore --task denoise`` with only the
    denoisers' options): a classical method or a learned model over the files."""
    from ._methods import processor_options

    check_ray_arguments(args)
    options = processor_options(args, color_order="bgr")
    batch_size = 8 if args.model else 1  # files per call: a classical method takes one image at a time
    if args.ray is not None:
        if args.model:
            _check_restorer(args, threads=1)  # the task, once, before any worker starts
        return run_job(args, options, batch_size=batch_size)
    if args.threads is not None:
        from .. import set_num_threads

        set_num_threads(args.threads)
    model = _check_restorer(args, threads=args.threads) if args.model else None
    if options.task == "jpeg":
        png = args.ext is None and Path(args.output).suffix.lower() not in IMAGE_EXTENSIONS
        if png:
            args.ext = ".png"  # a restored JPEG written as JPEG again gets artefacts of its own
        if model is None:
            return _restore_jpeg(args, options, png_by_default=png)
    process = FrameProcessor(options, model=model)
    status = run_job(args, options, batch_size=batch_size, process=process, cost_hint=RESTORE_HINT)
    return status


def _quality(options: ProcessorOptions) -> int | None:
    """The JPEG quality the options give (task jpeg's method parameter), or None."""
    return getattr(options.params, "quality", None)


def _restore_jpeg(args: argparse.Namespace, options: ProcessorOptions, *, png_by_default: bool) -> int:
    """``restore --task jpeg`` with BM3D, here: without a quality or a sigma, each file's quality is
    read from its quantisation tables (``restoration.jpeg.estimate_quality``) and the files run in
    one group per quality; the estimates and the output format are said in the report."""
    from ..restoration.jpeg import estimate_quality, jpeg_sigma

    files, problems, skipped = plan_files(args.inputs, args.output, ext=args.ext, resume=args.resume)
    groups: dict[int | None, list[FileJob]] = {}
    exact: dict[int | None, bool] = {}
    estimate = _quality(options) is None and options.sigma is None
    for job in files:
        got = estimate_quality(job.source) if estimate else None
        q = _quality(options) if got is None else got[0]
        groups.setdefault(q, []).append(job)
        exact[q] = exact.get(q, True) and (got is None or got[1])
    summary = Summary()
    for k, (q, group) in enumerate(sorted(groups.items(), key=lambda item: -1 if item[0] is None else item[0])):
        opts = options if q == _quality(options) else dataclasses.replace(
            options, params=dataclasses.replace(options.params, quality=q))
        process = FrameProcessor(opts)
        if k == 0:
            say_files_cost(process, files, quiet=args.quiet, max_pixels=args.max_pixels, threads=args.threads,
                           method_hint=RESTORE_HINT)
        part = run_files(group, process, chunk=1, desc=process.name, quiet=args.quiet, max_pixels=args.max_pixels)
        summary.merge(part)
        summary.notes.update(process.notes)
        count = f"{len(group)} file(s)"
        if not estimate:
            continue
        if q is None:
            summary.notes.add(f"no JPEG quantisation tables in {count}: BM3D's sigma estimated from the image")
        else:
            how = "" if exact[q] else " (the nearest: the tables are not libjpeg's scaled standard ones)"
            summary.notes.add(f"JPEG quality {q} estimated from the quantisation tables of {count}{how}: BM3D sigma "
                              f"{jpeg_sigma(q) * 255:.1f}/255 (--quality sets it)")
    _note_jpeg_outputs(files, png_by_default, summary.notes)
    summary.skipped = skipped
    return print_summary(summary, problems)


def _note_jpeg_outputs(files: list[FileJob], png_by_default: bool, notes: set[str]) -> None:
    """Say what format --task jpeg wrote: PNG unless asked otherwise, and JPEG's own cost if asked."""
    if png_by_default:
        notes.add("outputs written as PNG (lossless): written as JPEG again they would get artefacts of their "
                  "own; --ext .jpg writes JPEG (quality 95)")
    if {job.target.suffix.lower() for job in files} & {".jpg", ".jpeg"}:
        notes.add("outputs written as JPEG at quality 95 (OpenCV's default), which adds artefacts of its own; "
                  "--ext .png writes losslessly")


def _check_restorer(args: argparse.Namespace, *, threads: int | None) -> ImageModel:
    """The model opened as a denoiser or a model of --task (ModelError naming what was expected if not)."""
    from ..engine import Model

    model = Model.open(args.model, threads=threads, metadata=dict(args.info))
    task = args.task  # imgen restore --task sr|deblur|jpeg: models of that task too
    tasks = ("denoise", "restore") + ((task,) if task != "denoise" else ())
    return ImageModel.adopt(model, f"imgen {args.command}", tasks=tasks)
