"""Classical inpainting on Set12 with seeded masks: PSNR over the hole and over the image, and
time per megapixel, for Telea, Navier-Stokes and biharmonic (imgen.inpaint).

Usage: IMGEN_SHARED=/work/shared PYTHONPATH=python:export python benchmarks/quality/bench_inpaint.py
Masks: imgen_train.tasks.inpaint stroke_mask (4 strokes) and box_mask (one box), seed = image index.
"""
from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import numpy as np

import imgen
from imgen.imageio import read_image
from imgen_train.tasks.inpaint import box_mask, stroke_mask


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
    return float("inf") if mse == 0 else 10 * np.log10(255.0 ** 2 / mse)


def main() -> int:
    root = Path(os.environ.get("IMGEN_SHARED", "/work/shared")) / "data" / "set12"
    files = sorted(root.glob("*.png"))
    if not files:
        print(f"no images in {root}", file=sys.stderr)
        return 1
    for kind, make in (("strokes", lambda h, w, r: stroke_mask(h, w, r)), ("box", lambda h, w, r: box_mask(h, w, r, max_fraction=0.3))):
        rows = {m: ([], [], [], 0.0) for m in imgen.inpainting.METHODS}
        coverage = []
        for k, f in enumerate(files):
            image = read_image(f)
            if image.ndim == 3:
                image = image[..., 0]
            holes = make(*image.shape[:2], np.random.default_rng(k)) > 0
            coverage.append(holes.mean())
            for method in rows:
                start = time.perf_counter()
                out = imgen.inpaint(image, holes, method=method)
                elapsed = time.perf_counter() - start
                hole, whole, ssim, t = rows[method]
                rows[method] = (hole + [psnr(out[holes], image[holes])], whole + [psnr(out, image)],
                                ssim + [imgen.metrics.ssim(out, image)], t + elapsed / (image.size / 1e6))
        print(f"{kind}: {len(files)} images, mask coverage {100 * np.mean(coverage):.1f}% (mean)")
        for method, (hole, whole, ssim, t) in rows.items():
            print(f"  {method:10s} hole PSNR {np.mean(hole):6.2f} dB  image PSNR {np.mean(whole):6.2f} dB  "
                  f"image SSIM {np.mean(ssim):.4f}  {t / len(files):7.3f} s/MP")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
