"""The shipped learned denoiser against imgen's BM3D: time and PSNR side by side at 512x512.

    python benchmarks/speed/bench_learned_vs_bm3d.py [--model denoise-gray] [--sigma 25] [--repeats 7] [--threads 2]

Set12's 512x512 images (08-12) from $IMGEN_SHARED (default ../shared), the imgen protocol
(default_rng(0) noise per image, float32, output clipped for PSNR), both given the true sigma;
calls alternate, median of the repeats per image.
"""
from __future__ import annotations

import argparse
import os
import statistics
import time
from pathlib import Path

import cv2
import numpy as np

import imgen
from imgen import denoise, metrics

REPO = Path(__file__).resolve().parents[2]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default="denoise-gray")
    ap.add_argument("--sigma", type=float, default=25.0)
    ap.add_argument("--repeats", type=int, default=7)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    set12 = Path(os.environ.get("IMGEN_SHARED", REPO.parent / "shared")) / "data" / "set12"
    imgen.set_num_threads(args.threads)
    model = imgen.load(args.model, threads=args.threads)
    s = args.sigma / 255
    rows = []
    for p in sorted(set12.glob("*.png")):
        x = cv2.imread(str(p), cv2.IMREAD_GRAYSCALE).astype(np.float32) / 255
        if x.shape != (512, 512):
            continue
        noisy = (x + np.random.default_rng(0).normal(0, s, x.shape)).astype(np.float32)
        fns = {"learned": lambda: model(noisy, sigma=s), "bm3d": lambda: denoise.bm3d(noisy, sigma=s)}
        outs = {k: f() for k, f in fns.items()}  # warm-up
        times = {k: [] for k in fns}
        for _ in range(args.repeats):
            for k, f in fns.items():
                t0 = time.perf_counter()
                f()
                times[k].append(time.perf_counter() - t0)
        med = {k: statistics.median(v) for k, v in times.items()}
        ps = {k: metrics.psnr(x, np.clip(o, 0, 1)) for k, o in outs.items()}
        rows.append((p.stem, med, ps))
        print(f"{p.stem}: {args.model} {med['learned'] * 1e3:7.1f} ms {ps['learned']:.2f} dB | "
              f"bm3d {med['bm3d'] * 1e3:7.1f} ms {ps['bm3d']:.2f} dB | learned is {med['bm3d'] / med['learned']:.2f}x faster")
    tl = statistics.fmean(r[1]["learned"] for r in rows)
    tb = statistics.fmean(r[1]["bm3d"] for r in rows)
    print(f"mean over {len(rows)} images: {args.model} {tl * 1e3:.1f} ms, {statistics.fmean(r[2]['learned'] for r in rows):.2f} dB; "
          f"bm3d {tb * 1e3:.1f} ms, {statistics.fmean(r[2]['bm3d'] for r in rows):.2f} dB; ratio {tb / tl:.2f}x "
          f"({args.threads} threads, provider {model.provider})")


if __name__ == "__main__":
    main()
