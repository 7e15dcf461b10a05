"""The shipped learned denoiser against imgen's BM3D: time and PSNR side by side at 512x512.

    python benchmarks/speed/bench_learned_vs_bm3d.py [--model denoise-gray] [--sigma 25] [--repeats 7] [--threads 2]
    python benchmarks/speed/bench_learned_vs_bm3d.py --colour --model denoise-color.onnx   # against CBM3D

Set12's 512x512 images (08-12) from $IMGEN_SHARED (default ../shared); --colour: scikit-image's
astronaut, coffee and rocket, resized to 512x512 RGB.  The imgen protocol (default_rng(0) noise per
image, float32, output clipped for PSNR), both given the true sigma; calls alternate, median of the
repeats per image, wall and process CPU time (all threads).
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
    ap.add_argument("--colour", action="store_true", help="colour photographs (and CBM3D) instead of Set12")
    args = ap.parse_args()
    set12 = Path(os.environ.get("IMGEN_SHARED", REPO.parent / "shared")) / "data" / "set12"
    imgen.set_num_threads(args.threads)
    model = imgen.load(args.model, threads=args.threads)
    s = args.sigma / 255
    rows = []
    for name, x in (_colour_photos() if args.colour else _set12_512(set12)):
        noisy = (x + np.random.default_rng(0).normal(0, s, x.shape)).astype(np.float32)
        fns = {"learned": lambda noisy=noisy: model(noisy, sigma=s), "bm3d": lambda noisy=noisy: denoise.bm3d(noisy, sigma=s)}
        outs = {k: f() for k, f in fns.items()}  # warm-up
        times: dict[str, list[float]] = {k: [] for k in fns}
        cpu: dict[str, list[float]] = {k: [] for k in fns}
        for _ in range(args.repeats):
            for k, f in fns.items():
                t0, c0 = time.perf_counter(), time.process_time()
                f()
                times[k].append(time.perf_counter() - t0)
                cpu[k].append(time.process_time() - c0)
        med = {k: statistics.median(v) for k, v in times.items()}
        mcpu = {k: statistics.median(v) for k, v in cpu.items()}
        ps = {k: metrics.psnr(x, np.clip(o, 0, 1)) for k, o in outs.items()}
        rows.append((name, med, ps, mcpu))
        print(f"{name}: {args.model} {med['learned'] * 1e3:7.1f} ms ({mcpu['learned'] * 1e3:.0f} CPU) {ps['learned']:.2f} dB | "
              f"bm3d {med['bm3d'] * 1e3:7.1f} ms ({mcpu['bm3d'] * 1e3:.0f} CPU) {ps['bm3d']:.2f} dB | "
              f"learned is {med['bm3d'] / med['learned']:.2f}x faster ({mcpu['bm3d'] / mcpu['learned']:.2f}x in CPU time)")
    tl = statistics.fmean(r[1]["learned"] for r in rows)
    tb = statistics.fmean(r[1]["bm3d"] for r in rows)
    cl = statistics.fmean(r[3]["learned"] for r in rows)
    cb = statistics.fmean(r[3]["bm3d"] for r in rows)
    print(f"mean over {len(rows)} images: {args.model} {tl * 1e3:.1f} ms ({cl * 1e3:.0f} CPU), "
          f"{statistics.fmean(r[2]['learned'] for r in rows):.2f} dB; bm3d {tb * 1e3:.1f} ms ({cb * 1e3:.0f} CPU), "
          f"{statistics.fmean(r[2]['bm3d'] for r in rows):.2f} dB; ratio {tb / tl:.2f}x wall, {cb / cl:.2f}x CPU "
          f"({args.threads} threads, provider {model.provider}, load average {os.getloadavg()[0]:.1f})")


def _set12_512(folder: Path):
    """(name, (512, 512) float32 in [0, 1]) for Set12's 512x512 images."""
    for p in sorted(folder.glob("*.png")):
        x = cv2.imread(str(p), cv2.IMREAD_GRAYSCALE).astype(np.float32) / 255
        if x.shape == (512, 512):
            yield p.stem, x


def _colour_photos():
    """(name, (512, 512, 3) RGB float32 in [0, 1]) from scikit-image's bundled photographs."""
    from skimage import data

    for name in ("astronaut", "coffee", "rocket"):
        rgb = getattr(data, name)()
        yield name, cv2.resize(rgb, (512, 512), interpolation=cv2.INTER_AREA).astype(np.float32) / 255


if __name__ == "__main__":
    main()
