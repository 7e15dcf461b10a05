"""FFDNet width/depth against imgen's BM3D at 512x512: time only (random weights), side by side.

    PYTHONPATH=python:export python benchmarks/studies/ffdnet_shapes.py [--shapes 12x64,10x48,...] [--repeats 5] [--threads 2]

Exports each shape (export/imgen_train FFDNet, x2 pixel-unshuffle inside the graph) with random
weights to a temporary ONNX file, opens it with imgen's session options, and times it against
imgen.denoise.bm3d on a seeded 512x512 gray image, calls alternating, median of --repeats.
Prints BM3D time / model time per shape (the "faster than BM3D" ratio the 3x target names).
"""
from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import onnxruntime as ort
import torch

import imgen
from imgen import denoise
from imgen._runtime import session_options
from imgen_train.archs.ffdnet import FFDNet, FFDNetConfig
from imgen_train.export_onnx import export


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--shapes", default="12x64,10x48,12x48,8x64,10x40,12x32")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    torch.manual_seed(0)
    imgen.set_num_threads(args.threads)
    x = np.random.default_rng(0).random((1, 1, 512, 512), dtype=np.float32)
    s = np.full((1, 1, 1, 1), 25 / 255, np.float32)
    fns = {}
    with tempfile.TemporaryDirectory() as tmp:
        for shape in args.shapes.split(","):
            d, w = (int(v) for v in shape.split("x"))
            path = Path(tmp) / f"ffdnet_{shape}.onnx"
            export(FFDNet(FFDNetConfig(depth=d, width=w)).eval(), path, name=f"ffdnet-{shape}")
            sess = ort.InferenceSession(str(path), session_options(args.threads), providers=["CPUExecutionProvider"])
            fns[shape] = lambda S=sess: S.run(None, {"image": x, "sigma": s})
    fns["bm3d"] = lambda: denoise.bm3d(x[0, 0], sigma=25 / 255)
    for f in fns.values():
        f()
    times = {k: [] for k in fns}
    for _ in range(args.repeats):
        for k, f in fns.items():
            t0 = time.perf_counter()
            f()
            times[k].append(time.perf_counter() - t0)
    b = statistics.median(times["bm3d"])
    print(f"onnxruntime {ort.__version__}, 512x512, {args.threads} threads, median of {args.repeats}")
    for k, v in times.items():
        m = statistics.median(v)
        print(f"  {k:8s} {m * 1e3:8.1f} ms  BM3D / this = {b / m:.2f}x")


if __name__ == "__main__":
    main()
