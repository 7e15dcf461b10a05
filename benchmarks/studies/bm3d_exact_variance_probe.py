"""Is the reference `bm3d` package's better pilot its exact variances?  A Python hard stage run on the
reference's own groups, with the 2007 threshold (lambda sigma) and with the 2020 exact variances of
overlapping blocks (docs/history/benchmarks-bm3d.md: #18 item 3, experiment 9).

    PYTHONPATH=python IMGEN_SHARED=/work/shared python benchmarks/studies/bm3d_exact_variance_probe.py [--image 01]

Prints, for each variant, the basic estimate's PSNR, its rms difference to the reference's basic
estimate (0-255 scale) and the PSNR of imgen's Wiener stage on it (stage="wiener", pilot=..., mu2
0.4 and tau_match_wiener 3200: the reference's mu2).  Slow (a Python loop over ~7000 groups of a
256x256 image, about a minute per variant).  Comparison only: the reference is never an imgen
dependency.
"""
from __future__ import annotations

import argparse

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from bm3d_pilot_swap import _image
from imgen import _core, denoise, metrics


def main() -> None:
    import bm3d as ref
    import bm4d

    ap = argparse.ArgumentParser()
    ap.add_argument("--image", default="01")
    ap.add_argument("--sigma", type=float, default=25.0)
    args = ap.parse_args()
    s = args.sigma / 255
    x = _image(args.image)
    z = (x + np.random.default_rng(0).normal(0, s, x.shape)).astype(np.float32)
    profile = ref.BM3DProfile()
    profile.num_threads = 1
    rb, (bm, _) = ref.bm3d(z, s, profile, stage_arg=ref.BM3DStages.HARD_THRESHOLDING, blockmatches=(True, False))
    rb = np.asarray(rb, np.float32)
    sizes, positions, _ = bm.get_python_structs()
    pos = np.array(positions).reshape(-1, 16, 3)[:, :, :2]
    sizes = np.array(sizes)

    tf = np.array(bm4d._get_transf_matrix(8, "bior1.5", 0, False)[0])  # the reference's matrix
    ti = np.linalg.inv(tf)
    win = np.outer(np.kaiser(8, 2.0), np.kaiser(8, 2.0))
    haar = {g: _core._bm3d_haar(np.eye(g, dtype=np.float32)).astype(np.float64)
            for g in (1, 2, 4, 8, 16)}  # haar[g][q, m]: coefficient q of block m
    # autocorrelation of each 2-D basis function (row i x row j) at shift (dy, dx)
    a1 = np.array([[np.sum(tf[i, max(0, -d):8 - max(0, d)] * tf[i, max(0, d):8 - max(0, -d)])
                    for d in range(-7, 8)] for i in range(8)])
    auto = np.einsum("iy,jx->ijyx", a1, a1)
    blocks = sliding_window_view(z.astype(np.float64), (8, 8))
    spec = np.einsum("ij,yxjk,lk->yxil", tf, blocks, tf)

    def hard(exact: bool, lam: float = 3.0) -> np.ndarray:
        num = np.zeros(z.shape)
        den = np.zeros(z.shape)
        seen = set()
        for k in range(min(len(pos), len(sizes))):
            g = int(sizes[k])
            if g not in haar or (pos[k, 0, 0], pos[k, 0, 1]) in seen or len({tuple(p) for p in pos[k, :g]}) < g:
                continue
            seen.add((pos[k, 0, 0], pos[k, 0, 1]))
            xx, yy = pos[k, :g, 0], pos[k, :g, 1]
            h = haar[g]
            grp = np.einsum("qm,mij->qij", h, spec[yy, xx])
            if exact:
                dy, dx = yy[None, :] - yy[:, None], xx[None, :] - xx[:, None]
                near = (np.abs(dy) < 8) & (np.abs(dx) < 8)
                cov = np.zeros((8, 8, g, g))
                cov[:, :, near] = auto[:, :, dy[near] + 7, dx[near] + 7]
                var = np.einsum("qm,qn,ijmn->qij", h, h, cov)
            else:
                var = np.broadcast_to(auto[:, :, 7, 7], (g, 8, 8))
            keep = grp**2 > lam**2 * s**2 * var
            est = np.einsum("qm,qij->mij", h, grp * keep)  # Haar is orthonormal: inverse = transpose
            est = np.einsum("ij,mjk,lk->mil", ti, est, ti)
            w = 1.0 / max((keep * var).sum(), 1e-9)
            for m in range(g):
                num[yy[m]:yy[m] + 8, xx[m]:xx[m] + 8] += w * win * est[m]
                den[yy[m]:yy[m] + 8, xx[m]:xx[m] + 8] += w * win
        return (num / den).astype(np.float32)

    def psnr(y: np.ndarray) -> float:
        return metrics.psnr(x, np.clip(y, 0, 1))

    def final(pilot: np.ndarray) -> float:
        return psnr(denoise.bm3d(z, sigma=s, stage="wiener", pilot=pilot, mu2=0.4, tau_match_wiener=3200))

    print(f"image {args.image}, sigma {args.sigma:g}: reference basic {psnr(rb):.3f} dB, imgen Wiener on it {final(rb):.3f} dB")
    for exact in (False, True):
        b = hard(exact)
        rms = float(np.sqrt(np.mean((b - rb) ** 2)) * 255)
        print(f"reference's groups, {'exact variances' if exact else 'lambda sigma'}: basic {psnr(b):.3f} dB, "
              f"rms to the reference's basic {rms:.2f}/255, imgen Wiener on it {final(b):.3f} dB", flush=True)


if __name__ == "__main__":
    main()
