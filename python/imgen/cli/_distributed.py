"""Command-line options shared by commands that can run on Ray (``--ray``, ``--resume``, ...).

Nothing here imports Ray; ``imgen.distributed`` does so only when a run is distributed.
"""
from __future__ import annotations

import argparse

from ._args import nonnegative_float, positive_float, positive_int
from ._report import print_summary


def add_resume_argument(p: argparse.ArgumentParser) -> None:
    p.add_argument("--resume", action="store_true",
                   help="skip inputs whose output already exists (outputs are written atomically, "
                        "so an existing one is complete)")


def add_ray_arguments(p: argparse.ArgumentParser, description: str | None = None):
    """--ray [ADDRESS], --workers, --cpus-per-worker, --gpus-per-worker; returns their group."""
    g = p.add_argument_group("distributed (Ray; needs imgen[ray])", description)
    g.add_argument("--ray", nargs="?", const="", metavar="ADDRESS",
                   help="run on Ray: no ADDRESS starts a local instance (or joins $RAY_ADDRESS); "
                        "'auto' joins the cluster started here with `ray start --head`; HOST:PORT "
                        "a head node; ray://HOST:10001 through Ray Client")
    g.add_argument("--workers", type=positive_int, metavar="N",
                   help="with --ray: workers (model actors / video tasks) at once (default: as many "
                        "as the cluster's CPUs or GPUs fit)")
    g.add_argument("--cpus-per-worker", type=positive_float, metavar="N",
                   help="with --ray: CPUs each worker reserves, and its thread count (default 1)")
    g.add_argument("--gpus-per-worker", type=nonnegative_float, metavar="N",
                   help="with --ray: GPUs each worker reserves (default: 1 when the model runs on "
                        "CUDA/TensorRT and the cluster has GPUs, else 0)")
    return g


def check_ray_arguments(args: argparse.Namespace) -> None:
    """Reject Ray-only options given without --ray (an ImgenError names them)."""
    from ..errors import ImgenError

    if args.ray is None:
        given = [flag for flag, value in (("--workers", args.workers),
                                          ("--cpus-per-worker", args.cpus_per_worker),
                                          ("--gpus-per-worker", args.gpus_per_worker))
                 if value is not None]
        if given:
            raise ImgenError(f"{', '.join(given)} only apply with --ray")
    elif getattr(args, "threads", None) is not None:
        raise ImgenError("--threads is the local run's setting; with --ray use --cpus-per-worker")


def run_on_ray(args: argparse.Namespace, options) -> int:
    """``imgen run ... --ray``: the same job on Ray Data; prints the same report."""
    from ..distributed import run_images
    from ..imageio import pixel_limit

    summary = run_images(
        args.inputs, args.output, options.model, ext=args.ext, sigma=options.sigma,
        tile=options.tile, overlap=options.overlap, providers=options.providers,
        resume=args.resume, address=args.ray or None, workers=args.workers,
        cpus_per_worker=args.cpus_per_worker or 1, gpus_per_worker=args.gpus_per_worker,
        progress=not args.quiet, max_pixels=pixel_limit(args.max_pixels))  # the driver's $IMGEN_MAX_PIXELS too
    return print_summary(summary)
