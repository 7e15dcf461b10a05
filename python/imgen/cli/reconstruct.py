"""``imgen reconstruct ENCODER DECODER INPUT... -o OUT``: images through a VAE (decode(encode(x)));
``--ray`` spreads the files over a Ray cluster as ``imgen run`` does."""
from __future__ import annotations

import argparse

from ..batch import run_files, skip_done
from ..distributed.jobs import ReconstructJob
from ..imageio import plan_outputs
from ._distributed import add_ray_arguments, add_resume_argument, check_ray_arguments
from ._gen import add_session_arguments
from ._report import print_summary
from .run import add_io_arguments


def add_parser(sub) -> None:
    p = sub.add_parser("reconstruct", help="VAE reconstructions of images and folders",
                       description="Encode each image with a VAE encoder and decode the mean latent. Outputs "
                                   "have the encoder's size; written atomically, inputs never overwritten, bad "
                                   "files reported (exit status 1).")
    p.add_argument("encoder", help="a VAE encoder (.onnx or shipped name)")
    p.add_argument("decoder", help="the matching VAE decoder")
    add_io_arguments(p)
    p.add_argument("--resize", action="store_true", help="resize images to the encoder's size (else an error)")
    add_session_arguments(p)
    add_resume_argument(p)
    add_ray_arguments(p, "Each worker loads the encoder and decoder once and gets batches of 8 files, as locally.")
    p.set_defaults(func=main)


def job(args: argparse.Namespace) -> ReconstructJob:
    """What is done to each file (the same object locally and on each Ray worker)."""
    return ReconstructJob(args.encoder, args.decoder, resize=args.resize,
                          providers=tuple(args.providers) if args.providers else None, info=tuple(args.info))


def main(args: argparse.Namespace) -> int:
    check_ray_arguments(args)
    if args.ray is not None:
        from ._distributed import run_on_ray

        return run_on_ray(args, job(args))
    process = job(args)(args.threads)  # both models' tasks are checked here
    jobs, problems = plan_outputs(args.inputs, args.output, args.ext)
    skipped = 0
    if args.resume:
        jobs, skipped = skip_done(jobs)
    summary = run_files(jobs, process, desc="reconstruct", quiet=args.quiet, max_pixels=args.max_pixels)
    summary.skipped = skipped
    return print_summary(summary, problems)
