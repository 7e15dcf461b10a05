"""``imgen decode MODEL LATENTS -o OUT``: latents (.npy, or .npz from ``imgen encode``, quantised
codes included) to images."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from ..errors import ImgenError
from ..generative import Generator, decode, decode_batches
from ..latent_codes import dequantize, quantizer_from
from ._args import positive_int
from ._gen import add_output_arguments, add_session_arguments, check_output, load_for, write_grid, write_images


def add_parser(sub) -> None:
    p = sub.add_parser("decode", help="decode latents to images (VAE decoder or GAN generator)",
                       description="Decode latents: a .npy array (N, *latent_shape), or a .npz written by "
                                   "`imgen encode` (its 'mean' array, or its 'codes' dequantised with the stored "
                                   "quantiser after `imgen encode --bits`; outputs named after the encoded files).")
    p.add_argument("model", help="an .onnx file or the name of a shipped model (task decode or generate)")
    p.add_argument("latents", help="a .npy or .npz file")
    p.add_argument("--key", default="mean", help=".npz: the array to decode (default: mean, or codes when there is no mean)")
    p.add_argument("--batch-size", type=positive_int, default=64, help="latents per model run (default 64)")
    add_output_arguments(p)
    add_session_arguments(p)
    p.set_defaults(func=main)


def read_latents(path: str, key: str) -> tuple[np.ndarray, list[str] | None]:
    """(latents, output names or None) from a .npy or an `imgen encode` .npz."""
    try:
        data = np.load(path, allow_pickle=False)
    except (OSError, ValueError) as e:
        raise ImgenError(f"{path}: cannot read latents ({e})") from e
    if isinstance(data, np.ndarray):
        return data, None
    with data:
        if key == "mean" and "mean" not in data.files and "codes" in data.files:
            key = "codes"
        if key not in data.files:
            raise ImgenError(f"{path} has no array {key!r} (it has: {', '.join(data.files)})")
        names = [Path(str(f)).with_suffix("").as_posix().replace("/", "_") for f in data["files"]] \
            if "files" in data.files else None
        if key != "codes":
            return data[key], names
        try:
            return dequantize(data["codes"], *quantizer_from(data)), names
        except ValueError as e:
            raise ImgenError(f"{path}: {e}") from None


def main(args: argparse.Namespace) -> int:
    z, names = read_latents(args.latents, args.key)
    count = z.shape[0] if z.ndim else 1
    check_output(args, count, f"{count} latents in {args.latents}")
    model = load_for(args, Generator, "decode")
    try:
        if args.grid:
            images = decode(model, z, batch_size=args.batch_size)
            write_grid(images, args)
            written = len(images)
        else:
            written = write_images(decode_batches(model, z, batch_size=args.batch_size), args, names)
    except ValueError as e:
        raise ImgenError(f"{args.latents}: {e}") from e
    print(f"imgen: wrote {written} image(s) to {args.output}", file=sys.stderr)
    return 0
