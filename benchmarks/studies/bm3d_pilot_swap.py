"""Which stage makes imgen's BM3D trail the reference `bm3d` package: the two basic estimates swapped
as pilots of each other's Wiener stage (imgen's through stage="wiener", pilot=...).

    PYTHONPATH=python python benchmarks/studies/bm3d_pilot_swap.py [--sigma 25] [--images 01 02 camera]

For each image (Set12 names from $IMGEN_SHARED/data/set12, or a scikit-image gray photo name), the
imgen protocol noise (default_rng(0), float32, sigma/255), then PSNR of: imgen basic / final; the
reference's basic / final (profile 'np': for white noise it takes lambda 3.0 and mu2 0.4 itself);
the reference's Wiener stage with imgen's basic estimate as pilot; imgen's Wiener stage with the
reference's basic estimate as pilot.  If a stage given the other's pilot matches the other's
final, the pilot is the gap; if not, the Wiener stage is.
"""
from __future__ import annotations

import argparse
import os
from pathlib import Path

import cv2
import numpy as np

from imgen import denoise, metrics

REPO = Path(__file__).resolve().parents[2]


def _image(name: str) -> np.ndarray:
    set12 = Path(os.environ.get("IMGEN_SHARED", REPO.parent / "shared")) / "data" / "set12"
    p = set12 / f"{name}.png"
    if p.exists():
        return cv2.imread(str(p), cv2.IMREAD_GRAYSCALE).astype(np.float32) / 255
    from skimage import data
    img = getattr(data, name)()
    if img.ndim == 3:
        img = cv2.cvtColor(img, cv2.COLOR_RGB2GRAY)
    return img.astype(np.float32) / 255


def main() -> None:
    import bm3d as ref

    ap = argparse.ArgumentParser()
    ap.add_argument("--sigma", type=float, default=25.0)
    ap.add_argument("--images", nargs="+", default=["01", "02", "camera"])
    args = ap.parse_args()
    s = args.sigma / 255
    print(f"sigma {args.sigma:g}: PSNR dB")
    print("image | imgen basic | imgen final | ref basic | ref final | ref Wiener on imgen basic | "
          "imgen Wiener on ref basic")
    for name in args.images:
        x = _image(name)
        noisy = (x + np.random.default_rng(0).normal(0, s, x.shape)).astype(np.float32)
        p = lambda y: metrics.psnr(x, np.clip(np.asarray(y, np.float32), 0, 1))  # noqa: E731
        ib = denoise.bm3d(noisy, sigma=s, stage="hard")
        i_f = denoise.bm3d(noisy, sigma=s)
        rb = ref.bm3d(noisy, s, stage_arg=ref.BM3DStages.HARD_THRESHOLDING)
        rf = ref.bm3d(noisy, s, stage_arg=rb)
        rw = ref.bm3d(noisy, s, stage_arg=ib.astype(np.float64))
        iw = denoise.bm3d(noisy, sigma=s, stage="wiener", pilot=np.asarray(rb, np.float32))
        print(f"{name} | {p(ib):.3f} | {p(i_f):.3f} | {p(rb):.3f} | {p(rf):.3f} | {p(rw):.3f} | {p(iw):.3f}",
              flush=True)


if __name__ == "__main__":
    main()
