"""The folder run of every image command (run, denoise, restore, translate, inpaint, reconstruct):
one job (``imgen.jobs.Job``) run where the arguments say -- on an `imgen serve` server (the job is
then a ``client.RemoteJob``), on Ray (--ray: ``imgen.distributed.run_images``) or here
(``imgen.batch.run_images``) -- and the one report."""
from __future__ import annotations

import argparse
import logging
import os

from ..batch import run_images
from ..errors import ImgenError
from ..image_model import ImageModel
from ..imageio import Job as FileJob
from ..jobs import Job, Processor
from ..processors import FrameProcessor, ProcessorOptions
from ._cost import say_files_cost
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
        return run_on_ray(args, job, batch_size=batch_size)
    before = None
    if cost_hint is not None:
        def before(process: Processor, files: list[FileJob]) -> None:
            assert isinstance(process, FrameProcessor)  # a cost_hint comes with a ProcessorOptions job
            if process.model is not None:
                log.info("model %s on %s", process.model.name, process.model.provider)
            say_files_cost(process, files, quiet=args.quiet, max_pixels=args.max_pixels, threads=args.threads,
                           method_hint=cost_hint)

    summary = run_images(args.inputs, args.output, job, ext=args.ext, resume=args.resume, batch_size=batch_size,
                         progress=not args.quiet, max_pixels=args.max_pixels, threads=args.threads,
                         process=process, before=before)
    return print_summary(summary)


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
    process = FrameProcessor(options, model=model)
    return run_job(args, options, batch_size=batch_size, process=process, cost_hint=RESTORE_HINT)


def _check_restorer(args: argparse.Namespace, *, threads: int | None) -> ImageModel:
    """The model opened as a denoiser or a model of --task (ModelError naming what was expected if not)."""
    from ..engine import Model

    model = Model.open(args.model, threads=threads, metadata=dict(args.info))
    task = args.task  # imgen restore --task sr|deblur|jpeg: models of that task too
    tasks = ("denoise", "restore") + ((task,) if task != "denoise" else ())
    return ImageModel.adopt(model, f"imgen {args.command}", tasks=tasks)
