"""``imgen run MODEL INPUT... -o OUT``: run an image model over files and folders."""
from __future__ import annotations

import argparse
import logging

from ..batch import run_files, skip_done
from ..image_model import ImageModel
from ..imageio import DEFAULT_MAX_PIXELS, IMAGE_EXTENSIONS, MAX_PIXELS_VARIABLE, plan_outputs
from ..processors import FrameProcessor, ProcessorOptions
from ._args import add_info_argument, image_ext, nonnegative_int, pixel_count, positive_int, sigma_255, thread_count
from ._distributed import add_ray_arguments, add_resume_argument, check_ray_arguments
from ._cost import say_files_cost
from ._report import print_summary

log = logging.getLogger("imgen")


def add_parser(sub) -> None:
    p = sub.add_parser(
        "run", help="run an image model over files and folders",
        description="Run a restoration/translation model on images and folders (recursive, relative "
                    "paths kept). Outputs are written atomically; inputs are never overwritten; a bad "
                    "file is reported and the rest carry on (exit status 1 if anything failed).")
    p.add_argument("model", help="an .onnx file or the name of a shipped model")
    add_io_arguments(p)
    p.add_argument("--sigma", type=sigma_255,
                   help="noise level for models with a noise input, on the 0-255 scale whatever the file's bit "
                        "depth (default: estimated)")
    add_tiling_arguments(p, threads_help="onnxruntime threads (default: all cores; with --ray see --cpus-per-worker)")
    add_resume_argument(p)
    add_ray_arguments(p)
    p.add_argument("--server", metavar="URL",
                   help="run MODEL on an `imgen serve` server (http://HOST:PORT) instead of here; "
                        "$IMGEN_TOKEN: its bearer token")
    p.set_defaults(func=main)


def add_io_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("inputs", nargs="+", metavar="INPUT", help="image files or folders")
    p.add_argument("-o", "--output", required=True, help="output folder (or file, for a single input file)")
    p.add_argument("--ext", type=image_ext,
                   help=f"write outputs with this extension, one of {', '.join(IMAGE_EXTENSIONS)}")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    add_max_pixels_argument(p)


def add_max_pixels_argument(p: argparse.ArgumentParser) -> None:
    """--max-pixels N: the decompression-bomb guard of every command that reads image files."""
    p.add_argument("--max-pixels", type=pixel_count, metavar="N",
                   help=f"refuse images of more than N pixels, read from the file's header before decoding "
                        f"(default ${MAX_PIXELS_VARIABLE} or {DEFAULT_MAX_PIXELS:,}; above 2**30 also set "
                        f"OPENCV_IO_MAX_IMAGE_PIXELS in the environment, or set {MAX_PIXELS_VARIABLE})")


def add_tiling_arguments(p: argparse.ArgumentParser, *,
                         threads_help: str = "onnxruntime threads (default: all cores)") -> None:
    p.add_argument("--tile", type=nonnegative_int,
                   help="tile size in pixels (0 = never tile; default from the model, else 512)")
    p.add_argument("--overlap", type=nonnegative_int, help="tile overlap in pixels (default from the model, else 64)")
    p.add_argument("--whole-pixels", type=positive_int, metavar="N",
                   help="instance-norm models (imgen.norm_stats): images of up to N pixels run whole, larger ones "
                        "in tiles fed the statistics of a copy downscaled to N pixels (default 1048576 = 1024x1024)")
    p.add_argument("--batch-size", type=positive_int,
                   help="images or tiles per model run (default: about four 512x512 inputs' worth, counted at the "
                        "output size; out of memory, imgen retries one tile at a time, then with smaller tiles)")
    add_info_argument(p)
    p.add_argument("--providers", nargs="+", help="execution providers (default: TensorRT > CUDA > CPU)")
    p.add_argument("--threads", type=thread_count, help=threads_help)


def run_options(args: argparse.Namespace) -> ProcessorOptions:
    """What ``imgen run`` (and translate) does to each file, from its arguments: BGR(A) files."""
    return ProcessorOptions(model=args.model, sigma=args.sigma, tile=args.tile,
                            overlap=args.overlap, batch_size=args.batch_size, info=tuple(args.info),
                            providers=tuple(args.providers) if args.providers else None,
                            threads=args.threads, color_order="bgr",
                            whole_pixels=args.whole_pixels)


def main(args: argparse.Namespace) -> int:
    check_ray_arguments(args)
    if args.server:
        return run_remote(args)
    options = run_options(args)
    if args.ray is not None:
        from ._distributed import run_on_ray

        return run_on_ray(args, options)
    return run_local(FrameProcessor(options), args)


def run_model(model: ImageModel, args: argparse.Namespace) -> int:
    """Run an already loaded image-to-image model over args.inputs into args.output, as ``imgen run``
    does (used by ``imgen translate``)."""
    return run_local(FrameProcessor(run_options(args), model=model), args)


def run_local(process: FrameProcessor, args: argparse.Namespace) -> int:
    """The single-machine file loop: plan, skip finished outputs (--resume), run, report."""
    log.info("model %s on %s", process.model.name, process.model.provider)
    jobs, problems = plan_outputs(args.inputs, args.output, args.ext)
    skipped = 0
    if args.resume:
        jobs, skipped = skip_done(jobs)
    say_files_cost(process, jobs, quiet=args.quiet, max_pixels=args.max_pixels, threads=args.threads,
                   method_hint="imgen restore --task {task} --method {method}")
    summary = run_files(jobs, process, desc=process.model.name, quiet=args.quiet, max_pixels=args.max_pixels)
    summary.notes.update(process.notes)
    summary.skipped = skipped
    return print_summary(summary, problems)


def run_remote(args: argparse.Namespace) -> int:
    """``imgen run --server URL``: the same file loop, each image sent to the server's MODEL."""
    import os

    from ..client import Client
    from ..errors import ImgenError

    if args.ray is not None:
        raise ImgenError("--server and --ray exclude each other: the server runs the model")
    try:
        client = Client(args.server, token=os.environ.get("IMGEN_TOKEN") or None)
    except ValueError as e:
        raise ImgenError(str(e)) from None
    process = client.processor(args.model, sigma=args.sigma, tile=args.tile, color_order="bgr")
    client.info(args.model)  # an unknown model or an unreachable server: one error up front
    jobs, problems = plan_outputs(args.inputs, args.output, args.ext)
    skipped = 0
    if args.resume:
        jobs, skipped = skip_done(jobs)
    summary = run_files(jobs, process, desc=args.model, quiet=args.quiet, max_pixels=args.max_pixels)
    summary.skipped = skipped
    return print_summary(summary, problems)
