"""How should a 1-channel (gray) model treat colour images?  Measures the candidates on the
bundled colour photographs with i.i.d. Gaussian noise per RGB channel:

- per-channel: the model runs on R, G and B separately (what imgen does);
- luma:        the model runs on BT.601 luma Y only, chroma kept as it came (noisy);
- ycbcr:       the model runs on Y, Cb and Cr separately, each with its own noise level.

    python benchmarks/quality/gray_model_on_colour.py [--model denoise-gray] [--sigmas 15 25 50] [--crop 256]

Prints PSNR (RGB, dB) per photo, sigma and strategy, and the mean per sigma.
"""
from __future__ import annotations

import argparse

import numpy as np

import imgen
from imgen.metrics import psnr

# BT.601 full-range RGB -> YCbCr (JPEG's), offsets 0.5 on Cb/Cr for float images in [0, 1].
RGB_TO_YCC = np.array([[0.299, 0.587, 0.114],
                       [-0.168736, -0.331264, 0.5],
                       [0.5, -0.418688, -0.081312]], np.float64)
YCC_TO_RGB = np.linalg.inv(RGB_TO_YCC)
OFFSET = np.array([0.0, 0.5, 0.5])


def photos(crop: int) -> dict[str, np.ndarray]:
    from skimage import data

    out = {}
    for name in ("astronaut", "coffee", "chelsea"):
        img = getattr(data, name)().astype(np.float32) / 255.0
        h, w = img.shape[:2]
        y, x = (h - crop) // 2, (w - crop) // 2
        out[name] = np.ascontiguousarray(img[y:y + crop, x:x + crop])
    return out


def per_channel(model, noisy, sigma):
    planes = [np.ascontiguousarray(noisy[..., c]) for c in range(3)]
    return np.stack(model(planes, sigma=[sigma] * 3), axis=2)


def to_ycc(rgb):
    return (rgb.astype(np.float64) @ RGB_TO_YCC.T + OFFSET).astype(np.float32)


def from_ycc(ycc):
    return ((ycc.astype(np.float64) - OFFSET) @ YCC_TO_RGB.T).astype(np.float32)


def luma(model, noisy, sigma):
    ycc = to_ycc(noisy)
    s_y = sigma * float(np.linalg.norm(RGB_TO_YCC[0]))
    ycc[..., 0] = model(np.ascontiguousarray(ycc[..., 0]), sigma=s_y)
    return from_ycc(ycc)


def ycbcr(model, noisy, sigma):
    ycc = to_ycc(noisy)
    planes = [np.ascontiguousarray(ycc[..., c]) for c in range(3)]
    sig = [sigma * float(np.linalg.norm(RGB_TO_YCC[c])) for c in range(3)]
    return from_ycc(np.stack(model(planes, sigma=sig), axis=2))


STRATEGIES = {"per-channel": per_channel, "luma": luma, "ycbcr": ycbcr}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default="denoise-gray")
    ap.add_argument("--sigmas", nargs="+", type=float, default=[15, 25, 50])
    ap.add_argument("--crop", type=int, default=256)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    model = imgen.load(args.model)
    if model.info.channels != 1:
        raise SystemExit(f"{args.model} is not a 1-channel model")
    imgs = photos(args.crop)
    print(f"{'photo':10} {'sigma':>5} " + " ".join(f"{s:>12}" for s in STRATEGIES))
    for sigma in args.sigmas:
        means = {s: [] for s in STRATEGIES}
        for name, clean in imgs.items():
            rng = np.random.default_rng(args.seed)
            noisy = (clean + rng.normal(0, sigma / 255.0, clean.shape)).astype(np.float32)
            row = []
            for s, fn in STRATEGIES.items():
                out = np.clip(fn(model, noisy, sigma / 255.0), 0, 1)
                p = psnr(clean, out.astype(np.float32), data_range=1.0)
                means[s].append(p)
                row.append(f"{p:12.2f}")
            print(f"{name:10} {sigma:5g} " + " ".join(row))
        print(f"{'mean':10} {sigma:5g} " + " ".join(f"{np.mean(v):12.2f}" for v in means.values()))


if __name__ == "__main__":
    main()
