"""``imgen denoise INPUT... -o OUT``: the alias of ``imgen restore --task denoise`` (the same run,
``_folder.restore_main``), listing only the denoisers (``imgen.methods.REGISTRY``) and their options
(generated from the registry, cli/_methods.py)."""
from __future__ import annotations

from ._args import add_io_arguments, thread_count
from ._distributed import add_ray_arguments, add_resume_argument
from ._folder import restore_main
from ._methods import add_method_arguments


def add_parser(sub) -> None:
    p = sub.add_parser(
        "denoise", help="denoise images with a classical method (BM3D, wavelet shrinkage, ...) or a learned model",
        description="Denoise image files and folders, as `imgen restore --task denoise` (same file handling as "
                    "`imgen run`: recursive, atomic writes, inputs never overwritten, failures listed, exit "
                    "status 1 on failure).")
    add_io_arguments(p)
    add_method_arguments(p, required=False)
    p.add_argument("--threads", type=thread_count,
                   help="threads (default: all cores; with --ray see --cpus-per-worker)")
    add_resume_argument(p)
    add_ray_arguments(p, "BM3D is the slow one worth spreading out: each worker denoises one file at a time "
                         "(a learned --model gets batches of 8, as locally).")
    # a --model runs with its own tiling and batching: this command has no options for them
    p.set_defaults(func=restore_main, tile=None, overlap=None, batch_size=None, providers=None, whole_pixels=None)
