"""Which block distance the reference `bm3d` package matches on: its own groups (blockmatches) against
the top-K candidates under candidate distances (docs/history/benchmarks-bm3d.md: #18 item 3, experiment 7).

    PYTHONPATH=python IMGEN_SHARED=/work/shared python benchmarks/studies/bm3d_match_probe.py [--image 01] [--sigma 25]

Hard stage, imgen protocol noise (default_rng(0), float32, unclipped).  For --refs reference blocks
whose group is full (16 distinct blocks), the number of the reference's blocks that each distance's
top 16 (within the 39x39 window) shares, and the fraction of identical groups.  Comparison only: the
reference package is never an imgen dependency.
"""
from __future__ import annotations

import argparse

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from bm3d_pilot_swap import _image


def main() -> None:
    import bm3d as ref
    import bm4d

    ap = argparse.ArgumentParser()
    ap.add_argument("--image", default="01")
    ap.add_argument("--sigma", type=float, default=25.0)
    ap.add_argument("--refs", type=int, default=200)
    args = ap.parse_args()
    s = args.sigma / 255
    x = _image(args.image)
    z = (x + np.random.default_rng(0).normal(0, s, x.shape)).astype(np.float32)
    profile = ref.BM3DProfile()
    profile.num_threads = 1
    _, (bm, _) = ref.bm3d(z, s, profile, stage_arg=ref.BM3DStages.HARD_THRESHOLDING, blockmatches=(True, False))
    sizes, positions, _ = bm.get_python_structs()
    pos = np.array(positions).reshape(-1, 16, 3)[:, :, :2]  # (x, y) per block, the reference first
    sizes = np.array(sizes)
    tf = np.array(bm4d._get_transf_matrix(8, "bior1.5", 0, False)[0])
    norms = np.linalg.norm(tf, axis=1)
    unit = tf / norms[:, None]
    H, W = z.shape
    blocks = sliding_window_view(z.astype(np.float64), (8, 8))
    spec = np.einsum("ij,yxjk,lk->yxil", unit, blocks, unit)
    features = {
        "spatial SSD": blocks,
        "SSD of unit-norm bior1.5 spectra": spec,
        "SSD of the reference's bior1.5 spectra": spec * np.outer(norms, norms),
        **{f"spectra hard-thresholded at {g:g} sigma": np.where(np.abs(spec) > g * s, spec, 0) for g in (1, 2, 3)},
    }
    rng = np.random.default_rng(1)
    picks = [k for k in rng.permutation(min(len(pos), len(sizes)))
             if sizes[k] == 16 and len({tuple(p) for p in pos[k]}) == 16][: args.refs]
    for name, f in features.items():
        shared = []
        for k in picks:
            x0, y0 = pos[k, 0]
            ys = slice(max(0, y0 - 19), min(H - 8, y0 + 19) + 1)
            xs = slice(max(0, x0 - 19), min(W - 8, x0 + 19) + 1)
            d = ((f[ys, xs] - f[y0, x0]) ** 2).sum(axis=(2, 3))
            d[y0 - ys.start, x0 - xs.start] = -1  # the reference block first
            yy, xx = np.unravel_index(np.argsort(d, axis=None, kind="stable")[:16], d.shape)
            mine = {(c + xs.start, r + ys.start) for r, c in zip(yy, xx)}
            shared.append(len(mine & {tuple(p) for p in pos[k]}))
        shared = np.array(shared)
        print(f"{name:40s} {shared.mean():5.2f} of 16 shared, {np.mean(shared == 16):4.0%} identical groups", flush=True)


if __name__ == "__main__":
    main()
