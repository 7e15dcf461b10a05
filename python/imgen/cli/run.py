"""``imgen run MODEL INPUT... -o OUT``: run an image model over files and folders."""
from __future__ import annotations

import argparse

from ._args import add_io_arguments, add_tiling_arguments, sigma_255
from ._distributed import add_ray_arguments, add_resume_argument
from ._folder import run_main


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


def main(args: argparse.Namespace) -> int:
    return run_main(args)
