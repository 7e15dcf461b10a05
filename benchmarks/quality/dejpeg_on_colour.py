"""How should a 1-channel JPEG artefact remover treat colour JPEGs?  Measures the candidates on
the bundled colour photographs compressed by ``imgen.degrade.jpeg`` (libjpeg, 4:2:0):

- ycbcr:       the model runs on Y, Cb and Cr separately (what imgen does for any 1-channel model);
- luma:        the model runs on BT.601 luma Y only, Cb and Cr kept as decoded;
- per-channel: the model runs on R, G and B separately.

    python benchmarks/quality/dejpeg_on_colour.py [--model dejpeg-gray] [--qualities 10 20] [--crop 256]

Prints PSNR (RGB, dB, 8-bit outputs) per photo, quality and strategy, the decoded JPEG's as the
first column, and the mean per quality.
"""
from __future__ import annotations

import argparse

import numpy as np

import imgen
from imgen import degrade
from imgen.metrics import psnr

from gray_model_on_colour import OFFSET, RGB_TO_YCC, YCC_TO_RGB  # noqa: E402  (this folder; BT.601 JPEG YCbCr)


def photos(crop: int) -> dict[str, np.ndarray]:
    """Centre crops (uint8 RGB, crop x crop, crop a multiple of 8) of scikit-image's photos."""
    from skimage import data

    out = {}
    for name in ("astronaut", "coffee", "chelsea"):
        img = getattr(data, name)()
        h, w = img.shape[:2]
        y, x = ((h - crop) // 2) // 8 * 8, ((w - crop) // 2) // 8 * 8
        out[name] = np.ascontiguousarray(img[y:y + crop, x:x + crop])
    return out


def to_ycc(rgb):
    return rgb.astype(np.float64) @ RGB_TO_YCC.T + OFFSET


def from_ycc(ycc):
    return (ycc - OFFSET) @ YCC_TO_RGB.T


def per_channel(model, rgb):
    planes = [np.ascontiguousarray(rgb[..., c]) for c in range(3)]
    return np.stack(model(planes), axis=2)


def luma(model, rgb):
    ycc = to_ycc(rgb)
    ycc[..., 0] = model(np.ascontiguousarray(ycc[..., 0], dtype=np.float32))
    return from_ycc(ycc)


def ycbcr(model, rgb):
    ycc = to_ycc(rgb)
    planes = [np.ascontiguousarray(ycc[..., c], dtype=np.float32) for c in range(3)]
    return from_ycc(np.stack(model(planes), axis=2))


STRATEGIES = {"ycbcr": ycbcr, "luma": luma, "per-channel": per_channel}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default="dejpeg-gray")
    ap.add_argument("--qualities", nargs="+", type=int, default=[10])
    ap.add_argument("--crop", type=int, default=256)
    args = ap.parse_args()
    model = imgen.load(args.model)
    if model.info.channels != 1:
        raise SystemExit(f"{args.model} is not a 1-channel model")
    imgs = photos(args.crop)
    cols = ["jpeg", *STRATEGIES]
    print(f"{'photo':10} {'q':>3} " + " ".join(f"{s:>12}" for s in cols))
    for q in args.qualities:
        means = {s: [] for s in cols}
        for name, clean in imgs.items():
            decoded = degrade.jpeg(clean, q).astype(np.float32) / 255.0
            outs = {"jpeg": decoded, **{s: fn(model, decoded) for s, fn in STRATEGIES.items()}}
            row = []
            for s, out in outs.items():
                out8 = np.clip(np.rint(np.asarray(out) * 255), 0, 255).astype(np.uint8)
                p = psnr(clean, out8)
                means[s].append(p)
                row.append(f"{p:12.2f}")
            print(f"{name:10} {q:3d} " + " ".join(row), flush=True)
        print(f"{'mean':10} {q:3d} " + " ".join(f"{np.mean(v):12.2f}" for v in means.values()))


if __name__ == "__main__":
    main()
