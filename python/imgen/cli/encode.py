"""``imgen encode MODEL INPUT... -o latents.npz``: images to VAE latents (mean and log-variance), or
with ``--bits N`` to quantised codes of the means (compression; imgen.latent_codes)."""
from __future__ import annotations

import argparse
import sys

import numpy as np

from ..errors import ImgenError
from ..generative import Encoder, encode
from ..latent_codes import DEFAULT_RANGE, MAX_BITS, quantize, quantizer_arrays
from ..imageio import ImageFileError, find_images, pixel_limit, read_image
from ._gen import add_session_arguments, load_for, save_npz
from ._args import add_max_pixels_argument


def add_parser(sub) -> None:
    p = sub.add_parser("encode", help="encode images to VAE latents (.npz)",
                       description="Encode images and folders with a VAE encoder into one .npz: 'mean' and "
                                   "'logvar' (N, latent) float32 and 'files' (the inputs' relative paths). "
                                   "Nothing is written if any input fails. With --bits N: 'codes' (uint8/uint16) "
                                   "instead, the means quantised uniformly over --range, with the quantiser's "
                                   "parameters stored so that `imgen decode` reproduces them exactly.")
    p.add_argument("model", help="an .onnx file or the name of a shipped model (task encode)")
    p.add_argument("inputs", nargs="+", metavar="INPUT", help="image files or folders")
    p.add_argument("-o", "--output", required=True, help="the .npz file to write")
    p.add_argument("--resize", action="store_true", help="resize images to the encoder's size (else an error)")
    p.add_argument("--bits", type=int, default=None,
                   help=f"quantise the means to N bits per latent value (1-{MAX_BITS}; rate: N x latent size per image)")
    p.add_argument("--range", type=float, nargs=2, default=DEFAULT_RANGE, metavar=("LOW", "HIGH"),
                   help="--bits: the quantised interval (values outside are clipped; default -3 3, the prior's +-3 sd)")
    add_session_arguments(p)
    add_max_pixels_argument(p)
    p.set_defaults(func=main)


def read_inputs(inputs: list[str], *, max_pixels: int | None = None) -> tuple[list[np.ndarray], list[str]]:
    """(images as read, relative names); ImgenError listing every input that failed."""
    try:
        max_pixels = pixel_limit(max_pixels)
    except ValueError as e:
        raise ImgenError(str(e)) from e
    found, problems = find_images(inputs)
    images, names = [], []
    for path, rel in found:
        try:
            images.append(read_image(path, max_pixels=max_pixels))
            names.append(rel.as_posix())
        except ImageFileError as e:
            problems.append(str(e))
    if problems:
        raise ImgenError("cannot read the inputs:\n  " + "\n  ".join(problems))
    return images, names


def main(args: argparse.Namespace) -> int:
    if not args.output.endswith(".npz"):
        raise ImgenError(f"-o must name a .npz file, got {args.output}")
    if args.bits is not None:
        try:
            quantizer_arrays(args.bits, *args.range)
        except ValueError as e:
            raise ImgenError(f"--bits/--range: {e}") from None
    model = load_for(args, Encoder, "encode")
    images, names = read_inputs(args.inputs, max_pixels=args.max_pixels)
    means, logvars, problems = [], [], []
    for name, img in zip(names, images):
        try:
            mean, logvar = encode(model, [img], color_order="bgr", resize=args.resize)
            means.append(mean)
            logvars.append(logvar)
        except (ValueError, TypeError) as e:
            problems.append(f"{name}: {e}".replace("images[0]", "the image"))
    if problems:
        raise ImgenError("nothing written; failed:\n  " + "\n  ".join(problems))
    mean = np.concatenate(means)
    if args.bits is not None:
        codes = quantize(mean, args.bits, *args.range)
        save_npz(args.output, codes=codes, files=np.array(names), **quantizer_arrays(args.bits, *args.range))
        bits = args.bits * int(np.prod(mean.shape[1:]))
        print(f"imgen: encoded {len(names)} image(s) to {args.output} ({bits} bits each)", file=sys.stderr)
        return 0
    save_npz(args.output, mean=mean, logvar=np.concatenate(logvars), files=np.array(names))
    print(f"imgen: encoded {len(names)} image(s) to {args.output}", file=sys.stderr)
    return 0
