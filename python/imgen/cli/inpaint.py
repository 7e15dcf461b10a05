"""``imgen inpaint INPUT... --mask MASK -o OUT (--method M | --model M)``: fill holes in files and folders."""
from __future__ import annotations

import argparse
import os

from ..batch import Summary, run_files, skip_done
from ..errors import ImgenError
from ..imageio import plan_outputs
from ..inpainting.classical import METHODS
from ..inpainting.model import InpaintModel
from ..inpainting.process import InpaintProcessor, MaskSource
from ._args import thread_count
from ._distributed import add_resume_argument
from ._report import print_summary
from .run import add_io_arguments


def _colour(text: str) -> tuple[float, ...]:
    try:
        values = tuple(float(v) for v in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated numbers like 255,0,255, got {text!r}") from None
    if len(values) not in (1, 3):
        raise argparse.ArgumentTypeError(f"expected 1 (gray) or 3 (B,G,R) numbers, got {text!r}")
    return values


def add_parser(sub) -> None:
    p = sub.add_parser(
        "inpaint", help="fill the holes a mask marks, in files and folders",
        description="Fill missing pixels (a mask: nonzero = missing) by a classical method or an inpaint model. "
                    "Pixels outside the mask are written exactly as read. Outputs are written atomically; a "
                    "bad file is reported and the rest carry on (exit status 1 if anything failed).")
    add_io_arguments(p)
    masks = p.add_mutually_exclusive_group(required=True)
    masks.add_argument("--mask", help="one mask image for every input (nonzero = missing)")
    masks.add_argument("--mask-dir", help="a folder with one mask per input, by file name (any image extension)")
    masks.add_argument("--mask-from-alpha", action="store_true", help="transparent pixels (alpha 0) are missing")
    masks.add_argument("--mask-colour", type=_colour, metavar="B,G,R",
                       help="pixels of this colour are missing (the file's units: 0-255 for 8-bit, 0-65535 for 16-bit)")
    p.add_argument("--mask-tolerance", type=float, default=0.0, help="colour key tolerance, the same units")
    p.add_argument("--mask-invert", action="store_true", help="in mask files, zero = missing")
    how = p.add_mutually_exclusive_group(required=True)
    how.add_argument("--method", choices=METHODS, help="classical method: telea, ns (Navier-Stokes), biharmonic")
    how.add_argument("--model", help="an inpaint .onnx model (imgen.task inpaint) or a shipped model's name")
    p.add_argument("--providers", nargs="+", help="execution providers (default: TensorRT > CUDA > CPU)")
    p.add_argument("--threads", type=thread_count, help="onnxruntime threads (default: all cores)")
    add_resume_argument(p)
    p.set_defaults(func=main)


def main(args: argparse.Namespace) -> int:
    for flag, path, kind in (("--mask", args.mask, os.path.isfile), ("--mask-dir", args.mask_dir, os.path.isdir)):
        if path is not None and not kind(path):
            raise ImgenError(f"{flag} {path}: no such {'file' if flag == '--mask' else 'folder'}")
    masks = MaskSource(path=args.mask, folder=args.mask_dir, alpha=args.mask_from_alpha, colour=args.mask_colour,
                       tolerance=args.mask_tolerance, invert=args.mask_invert)
    model = None
    if args.model is not None:
        model = InpaintModel.open(args.model, providers=args.providers, threads=args.threads)
    process = InpaintProcessor(masks, method=args.method, model=model)
    jobs, problems = plan_outputs(args.inputs, args.output, args.ext)
    skipped = 0
    if args.resume:
        jobs, skipped = skip_done(jobs)
    desc = model.name if model is not None else args.method
    if args.mask_dir is None:
        summary = run_files(jobs, process, desc=desc, quiet=args.quiet, max_pixels=args.max_pixels)
    else:
        summary = Summary()
        for k, job in enumerate(jobs):  # one file at a time: each has its own mask
            process.name = job.source.name
            summary.merge(run_files([job], process, desc=desc, quiet=True, max_pixels=args.max_pixels))
            if summary.stopped:
                summary.not_done += len(jobs) - k - 1
                break
    summary.skipped = skipped
    return print_summary(summary, problems)
