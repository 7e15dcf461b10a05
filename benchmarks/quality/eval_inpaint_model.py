"""Hole PSNR of a gated_inpaint checkpoint vs Telea on Set12 with the fixed bench masks (imgen.bench.inpaint.bench_mask, seed 0):
    IMGEN_SHARED=../shared PYTHONPATH=python:export python benchmarks/quality/eval_inpaint_model.py RUN/best.pt
The model runs in torch on the whole image (reflect-padded to a multiple of 4), its output rounded to 8 bits."""
import glob
import os
import sys

import cv2
import numpy as np
import torch

from imgen.bench.inpaint import LEVELS, bench_mask, hole_psnr
from imgen.inpainting import fill
from imgen_train.train import load_model
ckpt = sys.argv[1]
model, state = load_model(ckpt)
torch.set_num_threads(2)
rows = {}
for path in sorted(glob.glob(os.environ.get("IMGEN_SHARED", "/work/shared") + "/data/set12/*.png")):
    name = os.path.splitext(os.path.basename(path))[0]
    img = cv2.imread(path, 0)
    ref = img.astype(np.float32) / 255
    for level in LEVELS:
        m = bench_mask(img.shape, level, name=name)
        h, w = img.shape
        x = torch.from_numpy(ref)[None, None]
        mm = torch.from_numpy(m.astype(np.float32))[None, None]
        ph, pw = (-h) % 4, (-w) % 4
        if ph or pw:
            x = torch.nn.functional.pad(x, (0, pw, 0, ph), mode="reflect")
            mm = torch.nn.functional.pad(mm, (0, pw, 0, ph))
        with torch.no_grad():
            out = model(x, mm)[0, 0, :h, :w].clamp(0, 1).numpy()
        out = np.rint(out * 255) / 255  # as an 8-bit file
        t = fill(img, m, "telea").astype(np.float32) / 255
        rows.setdefault(level, []).append((hole_psnr(ref, out, m), hole_psnr(ref, t, m)))
for kind in ("strokes", "boxes"):
    vals = [v for lv, vs in rows.items() if lv.startswith(kind) for v in vs]
    g, t = np.mean([v[0] for v in vals]), np.mean([v[1] for v in vals])
    print(f"{kind}: gated {g:.2f} dB  telea {t:.2f} dB  diff {g - t:+.2f} dB  (n={len(vals)})")
for lv, vs in rows.items():
    print(f"  {lv}: gated {np.mean([v[0] for v in vs]):.2f}  telea {np.mean([v[1] for v in vs]):.2f}")
print("step", state["step"])
