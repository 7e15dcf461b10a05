"""``imgen restore INPUT... -o OUT --task sr|deblur|jpeg|denoise``: classical or learned restoration
of files, with the file handling of `imgen run` (the run itself is `imgen denoise`'s)."""
from __future__ import annotations

from ._args import nonnegative_int, positive_int, thread_count
from ._distributed import add_ray_arguments, add_resume_argument
from .denoise import add_method_arguments, main
from .run import add_io_arguments


def add_parser(sub) -> None:
    p = sub.add_parser(
        "restore", help="super-resolution, deblurring, JPEG artefact removal or denoising of images",
        description="Restore image files and folders: --task sr (--method bicubic|lanczos --scale N, or "
                    "--model), deblur (--method wiener|richardson_lucy --kernel K, or --model), jpeg (--method "
                    "bm3d [--quality Q], or --model), denoise (as `imgen denoise`); every task's methods and "
                    "their options are listed below.  Same file handling as `imgen run`: recursive, atomic "
                    "writes, inputs never overwritten, failures listed, exit status 1 on failure.")
    add_io_arguments(p)
    add_method_arguments(p, required=False, tasks=True)
    p.add_argument("--tile", type=nonnegative_int,
                   help="model: tile size in pixels (0 = never tile; default from the model, else 512)")
    p.add_argument("--overlap", type=nonnegative_int, help="model: tile overlap in pixels (default from the model, "
                                                           "else 64)")
    p.add_argument("--batch-size", type=positive_int,
                   help="model: images or tiles per run (default: about four 512x512 inputs' worth, counted at the "
                        "output size, so upscalers run fewer tiles at once)")
    p.add_argument("--providers", nargs="+", help="model: execution providers (default: TensorRT > CUDA > CPU)")
    p.add_argument("--threads", type=thread_count, help="threads (default: all cores; with --ray see "
                                                        "--cpus-per-worker)")
    add_resume_argument(p)
    add_ray_arguments(p, "Each worker restores one file at a time with a classical method (a learned --model "
                         "gets batches of 8, as locally).")
    p.set_defaults(func=main, whole_pixels=None)  # no --whole-pixels here: a model's default
