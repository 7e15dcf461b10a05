"""Imported MatConvNet releases of DnCNN/FFDNet against the papers (docs/import.md).

    IMGEN_SHARED=/work/shared PYTHONPATH=python:export python benchmarks/quality/matconvnet_import.py

Gray: Set12 (IMGEN_SHARED/data/set12), sigma 15/25/50.  Colour: FFDNet_color on scikit-image's
colour photographs (astronaut, chelsea, coffee, rocket, immunohistochemistry; no paper figure for
these).  Noise N(0, sigma/255) from default_rng(index); outputs clipped to [0, 1]; mean PSNR in dB.
The models are imported to a temporary folder through ``imgen import`` and run with onnxruntime.
"""
from __future__ import annotations

import math
import os
import sys
import tempfile
from pathlib import Path

import cv2
import numpy as np

import imgen
from imgen.cli import main as cli_main


def psnr(out, ref) -> float:
    return 10 * math.log10(1 / np.mean((out.astype(np.float64) - ref) ** 2))


def run(model, noisy: np.ndarray, sigma: float) -> np.ndarray:
    """noisy: HWC float32 in [0, 1]; padded to even sizes (reflect) and cropped back."""
    h, w = noisy.shape[:2]
    x = np.pad(noisy, ((0, h % 2), (0, w % 2), (0, 0)), mode="reflect").transpose(2, 0, 1)[None]
    feeds = {"image": np.ascontiguousarray(x)}
    if model.info.noise_input:
        feeds["sigma"] = np.full((1, 1, 1, 1), sigma / 255, np.float32)
    return np.clip(model.run(feeds)[0][0].transpose(1, 2, 0)[:h, :w], 0, 1)


def mean_psnr(model, images, sigma) -> float:
    scores = []
    for i, x in enumerate(images):
        noisy = (x + np.random.default_rng(i).normal(0, sigma / 255, x.shape)).astype(np.float32)
        scores.append(psnr(run(model, noisy, sigma), x))
    return float(np.mean(scores))


def main() -> int:
    shared = Path(os.environ.get("IMGEN_SHARED", "../shared"))
    models = shared / "models" / "matconvnet"
    set12 = [cv2.imread(str(p), cv2.IMREAD_GRAYSCALE).astype(np.float32)[..., None] / 255
             for p in sorted((shared / "data" / "set12").glob("*.png"))]
    from skimage import data

    colour = [getattr(data, n)().astype(np.float32) / 255 for n in
              ("astronaut", "chelsea", "coffee", "rocket", "immunohistochemistry")]
    published = {"FFDNet_gray.mat": (32.75, 30.43, 27.32), "dncnn_sigma25.mat": (None, 30.44, None)}
    with tempfile.TemporaryDirectory() as tmp:
        for name, images, label in (("FFDNet_gray.mat", set12, "Set12"), ("dncnn_sigma25.mat", set12, "Set12"),
                                    ("FFDNet_color.mat", colour, "skimage colour photos")):
            out = Path(tmp) / (Path(name).stem + ".onnx")
            if cli_main(["import", str(models / name), "-o", str(out)]) != 0:
                return 1
            model = imgen.load(str(out), providers=["cpu"])
            sigmas = (25,) if name.startswith("dncnn") else (15, 25, 50)
            for k, sigma in enumerate(sigmas):
                got = mean_psnr(model, images, sigma)
                ref = published.get(name, (None,) * 3)[1 if name.startswith("dncnn") else k]
                print(f"{name:<18} {label:<22} sigma {sigma:>2}: {got:.2f} dB"
                      + (f"  (published {ref:.2f})" if ref else ""), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
