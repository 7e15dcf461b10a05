"""``imgen translate MODEL INPUT... -o OUT``: an image-to-image translation model (e.g. a CycleGAN
generator) over files and folders, tiled through the engine for large images; ``--ray`` spreads
the files over a Ray cluster as ``imgen run`` does."""
from __future__ import annotations

import argparse

from ..image_model import ImageModel
from ._args import add_io_arguments, add_tiling_arguments
from ._distributed import add_ray_arguments, add_resume_argument, check_ray_arguments
from ._gen import load_for
from ._folder import run_model


def add_parser(sub) -> None:
    p = sub.add_parser(
        "translate", help="translate images with a CycleGAN generator (files and folders)",
        description="Translate images and folders (recursive, relative paths kept) with a translate model. "
                    "Large images are cut into overlapping tiles and blended. Outputs are written atomically; "
                    "inputs are never overwritten; a bad file is reported and the rest carry on (exit status 1).")
    p.add_argument("model", help="an .onnx file or the name of a shipped model (task translate)")
    add_io_arguments(p)
    add_tiling_arguments(p, threads_help="onnxruntime threads (default: all cores; with --ray see --cpus-per-worker)")
    add_resume_argument(p)
    add_ray_arguments(p)
    p.set_defaults(func=main, sigma=None)  # no noise level: run_options' sigma is None


def main(args: argparse.Namespace) -> int:
    check_ray_arguments(args)
    model = load_for(args, ImageModel, "translate", tasks=("translate",))  # the task is checked here, once
    return run_model(model, args)
