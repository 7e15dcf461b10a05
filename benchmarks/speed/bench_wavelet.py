"""Wavelet denoising: imgen.denoise.wavelet against scikit-image's denoise_wavelet.

    tools/dev-build && PYTHONPATH=python python benchmarks/speed/bench_wavelet.py [--threads 2] [--repeats 15]

Both run side by side in one process on a 512x512 gray image (Set12 08.png, or
skimage.data.camera() when the shared data is absent) and a 512x512 colour image
(skimage.data.astronaut()), sigma = 25/255, float32, noise from default_rng(0).  skimage runs
BayesShrink, soft, db1 (its defaults; colour with convert2ycbcr=True, channel_axis=-1); imgen runs
the same algorithm.  Calls alternate (skimage, imgen, skimage, ...) so load from other processes
hits both alike; the median of the repeats is printed with the ratio and each side's PSNR.
skimage and numpy may use more threads than imgen does (2 by default), never fewer.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np


def psnr(out: np.ndarray, clean: np.ndarray) -> float:
    err = np.clip(out.astype(np.float64), 0, 1) - clean.astype(np.float64)
    return float(10 * np.log10(1.0 / np.mean(err * err)))


def load_images() -> dict[str, np.ndarray]:
    from skimage import data, io

    shared = Path(os.environ.get("IMGEN_SHARED", Path(__file__).resolve().parents[3] / "shared"))
    gray_path = shared / "data" / "set12" / "08.png"
    if gray_path.exists():
        gray, gray_name = io.imread(gray_path), "Set12/08.png"
    else:
        gray, gray_name = data.camera(), "skimage camera"
    return {
        f"gray 512x512 ({gray_name})": gray[:512, :512].astype(np.float32) / 255,
        "colour 512x512x3 (skimage astronaut)": data.astronaut()[:512, :512].astype(np.float32) / 255,
    }


def time_pair(fa, fb, repeats: int) -> tuple[float, float]:
    fa(), fb()  # warm-up
    ta, tb = [], []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fa()
        ta.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        fb()
        tb.append(time.perf_counter() - t0)
    return statistics.median(ta), statistics.median(tb)


def time_one(f, repeats: int) -> float:
    f()
    ts = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        f()
        ts.append(time.perf_counter() - t0)
    return statistics.median(ts)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=15)
    ap.add_argument("--sigma", type=float, default=25.0, help="noise sigma in 0-255 units")
    ap.add_argument("--shifts", type=int, nargs="+", default=[8, 16])
    args = ap.parse_args()

    import warnings

    from skimage.restoration import denoise_wavelet

    import imgen
    import imgen.denoise

    imgen.set_num_threads(args.threads)
    print("command: PYTHONPATH=python python " + " ".join(sys.argv))
    print(f"imgen threads {imgen.get_num_threads()}, kernels {imgen._core.wavelet_simd_level()}, "
          f"cores {imgen._core.available_cores()}, repeats {args.repeats} (median), sigma {args.sigma}")
    warnings.simplefilter("ignore")
    for name, clean in load_images().items():
        noisy = (clean + np.random.default_rng(0).normal(0, args.sigma / 255, clean.shape)).astype(np.float32)
        colour = clean.ndim == 3
        kw = {"channel_axis": -1, "convert2ycbcr": True} if colour else {}

        def sk(s=None):
            return denoise_wavelet(noisy, sigma=s, method="BayesShrink", mode="soft", rescale_sigma=True, **kw)

        print(f"\n{name}")
        for label, s_sk, s_ours in [("sigma estimated", None, None), ("sigma given", args.sigma / 255, args.sigma / 255)]:
            t_sk, t_ours = time_pair(lambda: sk(s_sk), lambda: imgen.denoise.wavelet(noisy, sigma=s_ours), args.repeats)
            p_sk, p_ours = psnr(sk(s_sk), clean), psnr(imgen.denoise.wavelet(noisy, sigma=s_ours), clean)
            if s_sk is None:
                t_sk_default = t_sk
            print(f"  {label:16s} skimage {t_sk * 1e3:7.2f} ms {p_sk:6.3f} dB | imgen {t_ours * 1e3:6.2f} ms "
                  f"{p_ours:6.3f} dB | speed-up {t_sk / t_ours:5.1f}x")
        for n in args.shifts:
            t = time_one(lambda: imgen.denoise.wavelet(noisy, shifts=n), max(3, args.repeats // 3))
            p = psnr(imgen.denoise.wavelet(noisy, shifts=n), clean)
            print(f"  imgen shifts={n:<3d}  {t * 1e3:7.2f} ms {p:6.3f} dB "
                  f"(+{p - psnr(sk(), clean):.2f} dB over skimage, in {t / t_sk_default:4.2f}x its time)")


if __name__ == "__main__":
    main()
