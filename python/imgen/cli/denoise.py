"""``imgen denoise INPUT... -o OUT``: classical (``imgen.methods.REGISTRY``'s denoisers) or learned
denoising of files.  The method options are generated from the registry (cli/_methods.py)."""
from __future__ import annotations

import argparse

from ..imageio import plan_outputs
from ..processors import FrameProcessor
from ._args import thread_count
from ..batch import run_files, skip_done
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
    jobs, problems = plan_outputs(args.inputs, args.output, args.ext)
    skipped = 0
    if args.resume:
        jobs, skipped = skip_done(jobs)
    model = _check_denoiser(args, threads=args.threads) if args.model else None
    process = FrameProcessor(options, model=model)
    say_files_cost(process, jobs, quiet=args.quiet, max_pixels=args.max_pixels, threads=args.threads)
    summary = run_files(jobs, process, chunk=_chunk(args), desc=process.name, quiet=args.quiet,
                        max_pixels=args.max_pixels)
    summary.notes.update(process.notes)
    summary.skipped = skipped
    return print_summary(summary, problems)


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
