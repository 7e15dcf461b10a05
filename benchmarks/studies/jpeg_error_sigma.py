"""The standard deviation of JPEG's error at each quality on train400 (gray), and a fit of it,
which sets BM3D's sigma for JPEG artefact removal (imgen.restore.jpeg_sigma).

Run: IMGEN_SHARED=/work/shared PYTHONPATH=python python benchmarks/studies/jpeg_error_sigma.py
"""
from __future__ import annotations

import os
from pathlib import Path

import cv2
import numpy as np

from imgen import degrade

folder = Path(os.environ.get("IMGEN_SHARED", "../shared")) / "data" / "train400"
files = sorted(folder.glob("*.png"))[::4]   # 100 of the 400
images = [cv2.imread(str(f), cv2.IMREAD_GRAYSCALE) for f in files]
qs = [5, 10, 15, 20, 25, 30, 40, 50, 60, 70, 80, 90]
stds = []
for q in qs:
    err = np.concatenate([(degrade.jpeg(im, q).astype(np.float64) - im).ravel() for im in images])
    stds.append(err.std())
    print(f"q={q:3d}  error std {err.std():6.3f} (0-255)")
# fit log(std) = a + b*log(q)
b, a = np.polyfit(np.log(qs), np.log(stds), 1)
print(f"fit: std = {np.exp(a):.3f} * q^{b:.4f}")
for q, s in zip(qs, stds):
    print(f"q={q:3d} measured {s:6.3f} fit {np.exp(a) * q**b:6.3f}")
