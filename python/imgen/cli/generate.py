"""``imgen generate MODEL -n 64 --seed 0 -o OUT``: sample new images from a GAN generator or a VAE decoder."""
from __future__ import annotations

import argparse
import sys

from ..errors import ImgenError
from ..generative import Generator, generate, generate_batches, interpolate, interpolate_batches
from ._args import AtLeast, nonnegative_int, positive_int
from ._gen import add_output_arguments, add_session_arguments, check_output, load_for, write_grid, write_images


def add_parser(sub) -> None:
    p = sub.add_parser(
        "generate", help="sample images from a generator (GAN) or a VAE decoder",
        description="Sample images: latents are standard normal draws from numpy.random.default_rng(SEED), "
                    "so image k of a seed is the same whatever the batch size. With --interpolate, images "
                    "along a path through the latents of the given seeds. Files are written batch by batch.")
    p.add_argument("model", help="an .onnx file or the name of a shipped model (task generate or decode)")
    p.add_argument("-n", "--count", type=positive_int, default=64, help="images to generate (default 64)")
    p.add_argument("--seed", type=nonnegative_int, default=0, help="latent seed (default 0)")
    p.add_argument("--interpolate", type=nonnegative_int, nargs="+", action=AtLeast, const=2, metavar="SEED",
                   help="interpolate through the latents of these seeds (two or more) instead")
    p.add_argument("--steps", type=positive_int, default=8, help="--interpolate: images per segment (default 8)")
    p.add_argument("--linear", action="store_true", help="--interpolate: straight lines instead of slerp")
    p.add_argument("--batch-size", type=positive_int, default=64, help="latents per model run (default 64)")
    add_output_arguments(p)
    add_session_arguments(p)
    p.set_defaults(func=main)


def main(args: argparse.Namespace) -> int:
    if args.interpolate:
        count = (len(args.interpolate) - 1) * args.steps + 1
        check_output(args, count, f"--steps {args.steps} between {len(args.interpolate)} seeds")
    else:
        count = args.count
        check_output(args, count, f"-n {count}")
    model = load_for(args, Generator, "generate")
    try:
        if args.interpolate:
            path = dict(seeds=args.interpolate, steps=args.steps, spherical=not args.linear,
                        batch_size=args.batch_size)
            images = interpolate(model, **path) if args.grid else interpolate_batches(model, **path)
        elif args.grid:
            images = generate(model, count, seed=args.seed, batch_size=args.batch_size)
        else:
            images = generate_batches(model, count, seed=args.seed, batch_size=args.batch_size)
        if args.grid:
            write_grid(images, args)
            written = len(images)
        else:
            written = write_images(images, args)
    except ValueError as e:
        raise ImgenError(str(e)) from e
    print(f"imgen: wrote {written} image(s) to {args.output}", file=sys.stderr)
    return 0
