"""``imgen reconstruct ENCODER DECODER INPUT... -o OUT``: images through a VAE (decode(encode(x)));
``--ray`` spreads the files over a Ray cluster as ``imgen run`` does."""
from __future__ import annotations

import argparse

from ..jobs import ReconstructJob
from ._args import add_io_arguments
from ._distributed import add_ray_arguments, add_resume_argument, check_ray_arguments
from ._folder import run_job
from ._gen import add_session_arguments


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
    return run_job(args, job(args))  # both models' tasks are checked where the job is built
