"""Set12 PSNR of denoising models at given noise levels (the DnCNN/FFDNet papers' protocol).

    PYTHONPATH=python python benchmarks/quality/eval_denoisers.py dncnn25.onnx denoise-gray --sigmas 15 25 50

Per image: clean x = cv2.imread(gray) / 255 (float32); noisy = x + N(0, sigma/255) from
numpy.random.default_rng(seed) (a fresh generator per image; not clipped, not quantised); the
model runs on the float image with sigma = sigma/255 when it has a noise input (or an estimated
sigma with --estimate); the output is clipped to [0, 1]; PSNR against x.  Prints one line per
model and sigma with the mean over the images (--per-image for each one).
Data: $IMGEN_SHARED/data/set12 (default ../shared relative to the repo root).
"""
from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
from pathlib import Path

import cv2
import numpy as np

REPO = Path(__file__).resolve().parents[2]


def set12_dir() -> Path:
    return Path(os.environ.get("IMGEN_SHARED", REPO.parent / "shared")) / "data" / "set12"


def load_images(folder: Path) -> list[tuple[str, np.ndarray]]:
    files = sorted(p for p in folder.glob("*.png"))
    if not files:
        raise FileNotFoundError(f"no PNG images in {folder} (set IMGEN_SHARED)")
    return [(p.stem, cv2.imread(str(p), cv2.IMREAD_GRAYSCALE).astype(np.float32) / 255.0) for p in files]


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return math.inf if mse == 0 else 10 * math.log10(1.0 / mse)


def noisy_version(clean: np.ndarray, sigma: float, seed: int = 0) -> np.ndarray:
    """clean + N(0, sigma/255) as float32, from a fresh default_rng(seed)."""
    rng = np.random.default_rng(seed)
    return (clean + rng.normal(0, sigma / 255.0, clean.shape)).astype(np.float32)


def evaluate(model, images, sigma: float, *, estimate: bool = False, seed: int = 0) -> list[float]:
    """PSNR per image for one model (an imgen.Model) at one sigma (0-255 scale)."""
    scores = []
    for _, clean in images:
        noisy = noisy_version(clean, sigma, seed)
        if model.info.noise_input is not None:
            out = model(noisy, sigma=None if estimate else sigma / 255.0)
        else:
            out = model(noisy)
        scores.append(psnr(np.clip(out, 0, 1), clean))
    return scores


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("models", nargs="+", help=".onnx files or shipped model names")
    p.add_argument("--sigmas", type=float, nargs="+", default=[15, 25, 50])
    p.add_argument("--data", type=Path, default=None, help="folder of gray PNGs (default: Set12)")
    p.add_argument("--estimate", action="store_true", help="let imgen estimate sigma instead of passing it")
    p.add_argument("--per-image", action="store_true")
    p.add_argument("--threads", type=int, default=None, help="onnxruntime intra-op threads")
    p.add_argument("--json", action="store_true", help="print JSON lines")
    args = p.parse_args(argv)

    import imgen

    images = load_images(args.data or set12_dir())
    for name in args.models:
        model = imgen.load(name, providers=["cpu"], threads=args.threads)
        for sigma in args.sigmas:
            t = time.perf_counter()
            scores = evaluate(model, images, sigma, estimate=args.estimate)
            seconds = time.perf_counter() - t
            mean = sum(scores) / len(scores)
            noisy_mean = sum(psnr(noisy_version(c, sigma), c) for _, c in images) / len(images)
            if args.json:
                print(json.dumps({"model": name, "sigma": sigma, "mean_psnr": mean, "noisy_psnr": noisy_mean,
                                  "per_image": dict(zip((n for n, _ in images), scores)),
                                  "estimated_sigma": args.estimate, "seconds": seconds}))
            else:
                print(f"{name:<28} sigma {sigma:5.1f}{' (estimated)' if args.estimate else ''}: "
                      f"{mean:.3f} dB  (noisy {noisy_mean:.2f} dB, {len(images)} images, {seconds:.1f} s)")
                if args.per_image:
                    for (n, _), s in zip(images, scores):
                        print(f"    {n:<12} {s:.3f}")
            sys.stdout.flush()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
