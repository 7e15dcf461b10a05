"""``imgen translate MODEL INPUT... -o OUT``: an image-to-image translation model (e.g. a CycleGAN
generator) over files and folders, tiled through the engine for large images."""
from __future__ import annotations

import argparse

from ..image_model import ImageModel
from ._gen import load_for
from .run import add_io_arguments, add_tiling_arguments, run_model


def add_parser(sub) -> None:
    p = sub.add_parser(
        "translate", help="translate images with a CycleGAN generator (files and folders)",
        description="Translate images and folders (recursive, relative paths kept) with a translate model. "
                    "Large images are cut into overlapping tiles and blended. Outputs are written atomically; "
                    "inputs are never overwritten; a bad file is reported and the rest carry on (exit status 1).")
    p.add_argument("model", help="an .onnx file or the name of a shipped model (task translate)")
    add_io_arguments(p)
    add_tiling_arguments(p)
    p.set_defaults(func=main)


def main(args: argparse.Namespace) -> int:
    return run_model(load_for(args, ImageModel, "translate", tasks=("translate",)), args)
