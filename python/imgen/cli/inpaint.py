"""``imgen inpaint INPUT... --mask MASK -o OUT (--method M | --model M)``: fill holes in files and folders."""
from __future__ import annotations

import argparse
import os

from ..errors import ImgenError
from ..inpainting.classical import METHODS
from ..inpainting.process import MaskSource
from ..jobs import InpaintJob
from ._args import add_io_arguments, thread_count
from ._distributed import add_ray_arguments, add_resume_argument, check_ray_arguments
from ._folder import run_job


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
    add_ray_arguments(p, "Each worker loads the model once and fills batches of 8 files; --mask/--mask-dir "
                         "must be at the same path on every node.")
    p.set_defaults(func=main)


def main(args: argparse.Namespace) -> int:
    check_ray_arguments(args)
    for flag, path, kind in (("--mask", args.mask, os.path.isfile), ("--mask-dir", args.mask_dir, os.path.isdir)):
        if path is not None and not kind(path):
            raise ImgenError(f"{flag} {path}: no such {'file' if flag == '--mask' else 'folder'}")
    masks = MaskSource(path=args.mask, folder=args.mask_dir, alpha=args.mask_from_alpha, colour=args.mask_colour,
                       tolerance=args.mask_tolerance, invert=args.mask_invert)
    job = InpaintJob(masks, method=args.method, model=args.model,
                     providers=tuple(args.providers) if args.providers else None)
    return run_job(args, job)  # a --mask-dir job runs one file at a time (each has its own mask)
