"""``imgen reconstruct ENCODER DECODER INPUT... -o OUT``: images through a VAE (decode(encode(x)))."""
from __future__ import annotations

import argparse

from ..generative import Encoder, Generator, reconstruct
from ..imageio import plan_outputs
from ..batch import run_files
from ._report import print_summary
from ._gen import add_session_arguments, load_for
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
    p.set_defaults(func=main)


def main(args: argparse.Namespace) -> int:
    encoder = load_for(args, Encoder, "reconstruct", model=args.encoder)
    decoder = load_for(args, Generator, "reconstruct", model=args.decoder)
    jobs, problems = plan_outputs(args.inputs, args.output, args.ext)

    def process(images):
        return list(reconstruct(encoder, decoder, images, color_order="bgr", resize=args.resize))

    summary = run_files(jobs, process, desc="reconstruct", quiet=args.quiet, max_pixels=args.max_pixels)
    return print_summary(summary, problems)
