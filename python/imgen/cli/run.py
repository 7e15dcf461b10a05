"""``imgen run MODEL INPUT... -o OUT``: run an image model over files and folders."""
from __future__ import annotations

import argparse
import logging

import numpy as np

from .._validate import image_max
from ..engine import Model, load
from ..errors import ImgenError
from ..imageio import plan_outputs
from ._batch import run_files

log = logging.getLogger("imgen")


def add_parser(sub) -> None:
    p = sub.add_parser(
        "run", help="run an image model over files and folders",
        description="Run a restoration/translation model on images and folders (recursive, relative "
                    "paths kept). Outputs are written atomically; inputs are never overwritten; a bad "
                    "file is reported and the rest carry on (exit status 1 if anything failed).")
    p.add_argument("model", help="an .onnx file or the name of a shipped model")
    add_io_arguments(p)
    p.add_argument("--sigma", type=float, help="noise level for models with a noise input, on the 0-255 "
                                               "scale whatever the file's bit depth (default: estimated)")
    add_tiling_arguments(p)
    p.set_defaults(func=main)


def add_io_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("inputs", nargs="+", metavar="INPUT", help="image files or folders")
    p.add_argument("-o", "--output", required=True, help="output folder (or file, for a single input file)")
    p.add_argument("--ext", help="write outputs with this extension (.png, .tif, .jpg, ...)")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")


def sigma_for(image: np.ndarray, sigma_255: float | None) -> float | None:
    """A 0-255 scale sigma in an image's own units."""
    return None if sigma_255 is None else sigma_255 / 255.0 * image_max(image.dtype)


def add_tiling_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--tile", type=int, help="tile size in pixels (0 = never tile; default from the model, else 512)")
    p.add_argument("--overlap", type=int, help="tile overlap in pixels (default from the model, else 64)")
    p.add_argument("--providers", nargs="+", help="execution providers (default: TensorRT > CUDA > CPU)")
    p.add_argument("--threads", type=int, help="onnxruntime threads (default: all cores)")


def main(args: argparse.Namespace) -> int:
    model = load(args.model, providers=args.providers, threads=args.threads)
    return run_model(model, args)


def run_model(model: Model, args: argparse.Namespace) -> int:
    """Run an image-to-image model over args.inputs into args.output (see ``imgen run --help``)."""
    log.info("model %s on %s", model.name, model.provider)
    args.sigma = getattr(args, "sigma", None)
    if args.sigma is not None and model.info.noise_input is None:
        raise ImgenError(f"--sigma given, but model {model.name} has no noise-level input")
    if args.sigma is not None and not args.sigma >= 0:
        raise ImgenError(f"--sigma must be >= 0, got {args.sigma}")
    jobs, problems = plan_outputs(args.inputs, args.output, args.ext)
    notes: set[str] = set()
    want = model.info.channels

    def process(images):
        for img in images:
            have = 1 if img.ndim == 2 else img.shape[2]
            if have != want and not (have == 4 and want == 3):
                notes.add(f"{have}-channel images converted to the model's {want} channel(s)")
            elif have == 4 and want == 3:
                notes.add("alpha channels passed through untouched")
        kwargs = {}
        if model.info.noise_input is not None and args.sigma is not None:
            kwargs["sigma"] = [sigma_for(img, args.sigma) for img in images]
        return model(images, tile=args.tile, overlap=args.overlap, color_order="bgr",
                     convert_channels=True, **kwargs)

    summary = run_files(jobs, process, desc=model.name, quiet=args.quiet)
    summary.notes.update(notes)
    return summary.report(problems)
