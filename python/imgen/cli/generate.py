"""``imgen generate MODEL -n 64 --seed 0 -o OUT``: sample new images from a GAN generator or a VAE decoder."""
from __future__ import annotations

import argparse
import sys

from ..errors import ImgenError
from ..generative import generate, interpolate
from ._gen import add_output_arguments, add_session_arguments, load_for, write_images


def add_parser(sub) -> None:
    p = sub.add_parser(
        "generate", help="sample images from a generator (GAN) or a VAE decoder",
        description="Sample images: latents are standard normal draws from numpy.random.default_rng(SEED), "
                    "so image k of a seed is the same whatever the batch size. With --interpolate, images "
                    "along a path through the latents of the given seeds.")
    p.add_argument("model", help="an .onnx file or the name of a shipped model (task generate or decode)")
    p.add_argument("-n", "--count", type=int, default=64, help="images to generate (default 64)")
    p.add_argument("--seed", type=int, default=0, help="latent seed (default 0)")
    p.add_argument("--interpolate", type=int, nargs="+", metavar="SEED",
                   help="interpolate through the latents of these seeds (two or more) instead")
    p.add_argument("--steps", type=int, default=8, help="--interpolate: images per segment (default 8)")
    p.add_argument("--linear", action="store_true", help="--interpolate: straight lines instead of slerp")
    p.add_argument("--batch-size", type=int, default=64, help="latents per model run (default 64)")
    add_output_arguments(p)
    add_session_arguments(p)
    p.set_defaults(func=main)


def main(args: argparse.Namespace) -> int:
    model = load_for(args, ("generate", "decode"), "generate")
    try:
        if args.interpolate:
            images = interpolate(model, args.interpolate, args.steps, spherical=not args.linear,
                                 batch_size=args.batch_size)
        else:
            if args.count < 1:
                raise ImgenError(f"-n must be >= 1, got {args.count}")
            images = generate(model, args.count, seed=args.seed, batch_size=args.batch_size)
    except ValueError as e:
        raise ImgenError(str(e)) from e
    paths = write_images(images, args)
    print(f"imgen: wrote {len(images)} image(s) to {paths[0] if args.grid else args.output}", file=sys.stderr)
    return 0
