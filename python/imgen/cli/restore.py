"""``imgen restore INPUT... -o OUT --task sr|deblur|jpeg|denoise``: classical or learned restoration
of files, with the file handling of `imgen run` (``_folder.restore_main``; `imgen denoise` is its
alias for --task denoise)."""
from __future__ import annotations

from ._args import add_io_arguments, add_tiling_arguments
from ._distributed import add_ray_arguments, add_resume_argument
from ._folder import restore_main
from ._methods import add_method_arguments


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
    # a model's tiling and session (--info comes with the method arguments; no --whole-pixels: a model's default)
    add_tiling_arguments(p, whole_pixels=False, info=False,
                         threads_help="threads (default: all cores; with --ray see --cpus-per-worker)")
    add_resume_argument(p)
    add_ray_arguments(p, "Each worker restores one file at a time with a classical method (a learned --model "
                         "gets batches of 8, as locally).")
    p.set_defaults(func=restore_main)
