"""PSNR / SSIM: imgen vs scikit-image, side by side in one run (median of interleaved repeats).

    python benchmarks/speed/bench_metrics.py [--repeats 15] [--threads 2]
"""
from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

import imgen
from imgen import metrics


def median_ms(fns: dict, repeats: int) -> dict:
    times = {k: [] for k in fns}
    for f in fns.values():
        f()
    for _ in range(repeats):
        for k, f in fns.items():
            t0 = time.perf_counter()
            f()
            times[k].append(time.perf_counter() - t0)
    return {k: statistics.median(v) * 1e3 for k, v in times.items()}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeats", type=int, default=15)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    rng = np.random.default_rng(0)
    print(f"{'image':22} {'metric':6} {'imgen 1T ms':>12} {f'imgen {args.threads}T ms':>12} {'skimage ms':>11} {'x faster':>9} {'|diff|':>9}")
    for label, shape, dtype in [("512x512 gray u8", (512, 512), np.uint8), ("512x512 RGB f32", (512, 512, 3), np.float32),
                                ("1080p gray u8", (1080, 1920), np.uint8), ("1080p RGB u8", (1080, 1920, 3), np.uint8)]:
        if dtype == np.uint8:
            a = rng.integers(0, 256, shape, dtype=np.uint8)
            b = np.clip(a.astype(int) + rng.integers(-20, 21, shape), 0, 255).astype(np.uint8)
            dr = 255
        else:
            a = rng.random(shape, dtype=np.float32)
            b = np.clip(a + rng.normal(0, 0.05, shape).astype(np.float32), 0, 1)
            dr = 1.0
        ch = -1 if len(shape) == 3 else None
        for name, ours, theirs in [
            ("ssim", lambda: metrics.ssim(a, b, data_range=dr),
             lambda: structural_similarity(a, b, gaussian_weights=True, sigma=1.5, use_sample_covariance=False,
                                           data_range=dr, channel_axis=ch)),
            ("psnr", lambda: metrics.psnr(a, b, data_range=dr), lambda: peak_signal_noise_ratio(a, b, data_range=dr)),
        ]:
            med = median_ms({
                "1T": lambda: (imgen.set_num_threads(1), ours()),
                "NT": lambda: (imgen.set_num_threads(args.threads), ours()),
                "sk": theirs,
            }, args.repeats)
            diff = abs(ours() - theirs())
            best = min(med["1T"], med["NT"])
            print(f"{label:22} {name:6} {med['1T']:12.2f} {med['NT']:12.2f} {med['sk']:11.2f} {med['sk'] / best:9.1f} {diff:9.1e}")


if __name__ == "__main__":
    main()
