"""Classical restoration figures for docs/benchmark-results.md (#15): SR on Set5 (x2/x3/x4, PSNR on
MATLAB's Y with `scale` pixels shaved, from the given MATLAB LR files), deblurring on Set12 with the
fixed kernels at sigma_noise 2.55/255 (reflect boundary, seed 0), JPEG q=10/20/30/40 on Set12.

Run: IMGEN_SHARED=/work/shared PYTHONPATH=python python benchmarks/quality/restore_classical.py
"""
from __future__ import annotations

import os
import time
from pathlib import Path

import cv2
import numpy as np

from imgen import degrade, restoration
from imgen.metrics import psnr

data = Path(os.environ.get("IMGEN_SHARED", "../shared")) / "data"


def y_channel(bgr: np.ndarray) -> np.ndarray:
    """MATLAB's rgb2ycbcr luma on the 0-255 scale (float64)."""
    b, g, r = (bgr[..., i].astype(np.float64) for i in range(3))
    return 16.0 + (65.481 * r + 128.553 * g + 24.966 * b) / 255.0


def psnr_y(a: np.ndarray, b: np.ndarray, shave: int) -> float:
    ya, yb = y_channel(a), y_channel(b)
    if shave:
        ya, yb = ya[shave:-shave, shave:-shave], yb[shave:-shave, shave:-shave]
    return 10 * np.log10(255.0**2 / np.mean((ya - yb) ** 2))


def sr_table() -> None:
    for scale in (2, 3, 4):
        folder = data / "set5_sr" / f"image_SRF_{scale}"
        rows = {"bicubic": [], "lanczos": []}
        for hr_path in sorted(folder.glob("*_HR.png")):
            hr = cv2.imread(str(hr_path))
            lr = cv2.imread(str(hr_path).replace("_HR", "_LR"))
            for m in rows:
                rows[m].append(psnr_y(hr, restoration.upscale(lr, scale, method=m), scale))
        print(f"SR x{scale} Set5 (Y, shave {scale}): " + ", ".join(f"{m} {np.mean(v):.2f}" for m, v in rows.items()))


def set12() -> list[np.ndarray]:
    return [cv2.imread(str(p), cv2.IMREAD_GRAYSCALE) for p in sorted((data / "set12").glob("*.png"))]


def deblur_table(images) -> None:
    for name in degrade.fixed_kernels():
        blurred = [degrade.blur(im, name, 2.55 / 255, seed=0) for im in images]
        res = {"blurred": [psnr(c, b) for c, b in zip(images, blurred)]}
        for label, fn in (("wiener", lambda b: restoration.wiener(b, name, balance=0.01)),
                          ("richardson_lucy", lambda b: restoration.richardson_lucy(b, name, iterations=30))):
            t = time.perf_counter()
            res[label] = [psnr(c, fn(b)) for c, b in zip(images, blurred)]
            res[label + "_s"] = [time.perf_counter() - t]
        print(f"deblur {name} Set12 sigma 2.55: " + ", ".join(f"{k} {np.mean(v):.2f}" for k, v in res.items()))


def jpeg_table(images) -> None:
    for q in (10, 20, 30, 40):
        jpgs = [degrade.jpeg(im, q) for im in images]
        dec = np.mean([psnr(c, j) for c, j in zip(images, jpgs)])
        bm = np.mean([psnr(c, restoration.dejpeg_bm3d(j, q)) for c, j in zip(images, jpgs)])
        print(f"jpeg q={q} Set12: jpeg {dec:.2f}, bm3d {bm:.2f} (sigma {restoration.jpeg_sigma(q) * 255:.2f})")


if __name__ == "__main__":
    sr_table()
    imgs = set12()
    jpeg_table(imgs)
    deblur_table(imgs)
