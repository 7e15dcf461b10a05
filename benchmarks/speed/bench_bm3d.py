"""Time imgen.denoise.bm3d against the reference BM3D (PyPI `bm3d`, when installed), side by side.

    PYTHONPATH=python python benchmarks/speed/bench_bm3d.py [--runs 5] [--threads 2] [--sigma 25]
    PYTHONPATH=python python benchmarks/speed/bench_bm3d.py --quality [--sigmas 15 25 50] [--ref-cache DIR]

--quality: PSNR of imgen and of the reference on all of Set12 and four scikit-image photos
(camera, moon, astronaut and coffee, converted to gray with OpenCV) at each sigma, the
difference imgen - reference per image and as means (Set12, photos), and the time ratio
(reference / imgen, the target's "x faster").  The reference takes ~10 s per 512x512 image;
--ref-cache DIR keeps its outputs (NAME_sSIGMA_final.npy, with NAME_sSIGMA_time.txt its time)
so that a rerun only recomputes imgen.

Images: Set12 01.png (256x256) and 08.png (512x512) from $IMGEN_SHARED/data/set12 (default
../shared relative to the repository), else crops of skimage.data.camera(); colour: 512x512
skimage.data.astronaut().  Noise: N(0, sigma/255) from numpy.random.default_rng(0) added to the
[0, 1] float32 image, not clipped.  PSNR of the output clipped to [0, 1].  Times are the median
of --runs calls (the reference: --ref-runs); both use --threads threads (the reference through
its profile's num_threads).  The reference package is for comparison only (non-commercial
licence): it is never an imgen dependency, and its rows are skipped when it is absent.
"""
from __future__ import annotations

import argparse
import datetime
import os
import platform
import shlex
import sys
import time
from pathlib import Path

import numpy as np

import imgen
from imgen.denoise import bm3d

REPO = Path(__file__).resolve().parents[2]


def psnr(x: np.ndarray, ref: np.ndarray) -> float:
    return float(10 * np.log10(1.0 / np.mean((np.clip(x, 0, 1) - ref) ** 2)))


def load_images() -> list[tuple[str, np.ndarray]]:
    shared = Path(os.environ.get("IMGEN_SHARED", REPO.parent / "shared")) / "data" / "set12"
    images = []
    try:
        import cv2

        for name in ("01.png", "08.png"):
            p = shared / name
            if p.exists():
                images.append((f"set12/{name}", cv2.imread(str(p), cv2.IMREAD_GRAYSCALE).astype(np.float32) / 255))
    except ImportError:
        pass
    if len(images) < 2:
        from skimage import data

        cam = data.camera().astype(np.float32) / 255
        images = [("camera[128:384,128:384]", cam[128:384, 128:384].copy()), ("camera", cam)]
    from skimage import data

    images.append(("astronaut (RGB)", data.astronaut().astype(np.float32) / 255))
    return images


def median_time(fn, runs: int) -> tuple[float, np.ndarray]:
    times, out = [], None
    for _ in range(runs):
        t = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
    return float(np.median(times)), out


SET12 = tuple(f"{i:02d}" for i in range(1, 13))
PHOTOS = ("camera", "moon", "astronaut", "coffee")


def gray_image(name: str) -> np.ndarray:
    """A Set12 image (from $IMGEN_SHARED/data/set12) or a scikit-image photo, gray float32 0-1."""
    import cv2

    if name in SET12:
        shared = Path(os.environ.get("IMGEN_SHARED", REPO.parent / "shared")) / "data" / "set12"
        img = cv2.imread(str(shared / f"{name}.png"), cv2.IMREAD_GRAYSCALE)
        if img is None:
            raise SystemExit(f"Set12 image {name}.png not found under {shared} (set IMGEN_SHARED)")
    else:
        from skimage import data

        img = getattr(data, name)()
        if img.ndim == 3:
            img = cv2.cvtColor(img, cv2.COLOR_RGB2GRAY)
    return img.astype(np.float32) / 255


def quality(args, ref) -> None:
    """The PSNR table of imgen against the reference (see the module docstring)."""
    cache = Path(args.ref_cache) if args.ref_cache else None
    if cache:
        cache.mkdir(parents=True, exist_ok=True)
    print("| sigma | image | imgen PSNR | reference PSNR | imgen - reference (dB) | imgen (s) | reference (s) | reference / imgen time |")
    print("|---|---|---|---|---|---|---|---|")
    for sig in args.sigmas:
        s = sig / 255
        diffs: dict[str, list[float]] = {"Set12": [], "photos": []}
        times = [0.0, 0.0]
        for name in SET12 + PHOTOS:
            clean = gray_image(name)
            noisy_img = (clean + np.random.default_rng(0).normal(0, s, clean.shape)).astype(np.float32)
            t_imgen, out = median_time(lambda: bm3d(noisy_img, sigma=s), args.runs)
            f = cache / f"{name}_s{sig:g}_final.npy" if cache else None
            if f is not None and f.exists():
                out_ref = np.load(f)
                tf = f.with_name(f"{name}_s{sig:g}_time.txt")
                t_ref = float(tf.read_text()) if tf.exists() else float("nan")
            else:
                profile = ref.BM3DProfile()
                profile.num_threads = args.threads
                t = time.perf_counter()
                out_ref = np.asarray(ref.bm3d(noisy_img, s, profile), np.float32)
                t_ref = time.perf_counter() - t
                if f is not None:
                    np.save(f, out_ref)
                    f.with_name(f"{name}_s{sig:g}_time.txt").write_text(f"{t_ref:.3f}")
            p_i, p_r = psnr(out, clean), psnr(out_ref, clean)
            diffs["Set12" if name in SET12 else "photos"].append(p_i - p_r)
            diffs.setdefault("_i_" + ("Set12" if name in SET12 else "photos"), []).append(p_i)
            diffs.setdefault("_r_" + ("Set12" if name in SET12 else "photos"), []).append(p_r)
            if np.isfinite(t_ref):
                times[0] += t_imgen
                times[1] += t_ref
            ratio = f"{t_ref / t_imgen:.1f}x" if np.isfinite(t_ref) else "- (cached, untimed)"
            print(f"| {sig:g} | {name} | {p_i:.3f} | {p_r:.3f} | {p_i - p_r:+.3f} | {t_imgen:.3f} | "
                  f"{t_ref:.2f} | {ratio} |", flush=True)
        for group in ("Set12", "photos"):
            print(f"| {sig:g} | **mean {group}** | {np.mean(diffs['_i_' + group]):.3f} | "
                  f"{np.mean(diffs['_r_' + group]):.3f} | **{np.mean(diffs[group]):+.3f}** | | | |")
        if times[0] > 0:
            print(f"| {sig:g} | **all, time** | | | | {times[0]:.2f} | {times[1]:.2f} | "
                  f"**{times[1] / times[0]:.1f}x** |", flush=True)
    print()
    print("target: imgen - reference >= -0.02 dB per sigma, reference / imgen time >= 25x")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--ref-runs", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--sigma", type=float, default=25.0, help="on the 0-255 scale")
    ap.add_argument("--no-reference", action="store_true", help="skip the PyPI bm3d rows")
    ap.add_argument("--quality", action="store_true", help="the Set12 + photos PSNR table")
    ap.add_argument("--sigmas", type=float, nargs="+", default=[15, 25, 50])
    ap.add_argument("--ref-cache", help="directory keeping the reference's outputs (--quality)")
    args = ap.parse_args()

    imgen.set_num_threads(args.threads)
    ref = None
    if not args.no_reference:
        try:
            import bm3d as ref  # noqa: F811  (PyPI reference, comparison only)
        except ImportError:
            print("(PyPI bm3d not installed: reference rows skipped)")

    print(f"# bench_bm3d  {datetime.datetime.now().isoformat(timespec='seconds')}")
    print(f"command: PYTHONPATH=python python {' '.join(shlex.quote(a) for a in sys.argv)}")
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cpus, "
          f"imgen simd={imgen._core._bm3d_simd_level()}, threads={args.threads}, sigma={args.sigma:g}")
    print()
    if args.quality:
        if ref is None:
            raise SystemExit("--quality needs the PyPI bm3d package (the reference)")
        quality(args, ref)
        return
    print(f"| {'method':<14} | {'image':<24} | {'size':>11} | {'time (s)':>8} | {'PSNR (dB)':>9} | {'speed-up':>8} |")
    print(f"|{'-' * 16}|{'-' * 26}|{'-' * 13}|{'-' * 10}|{'-' * 11}|{'-' * 10}|")
    s = args.sigma / 255
    for name, clean in load_images():
        noisy_img = (clean + np.random.default_rng(0).normal(0, s, clean.shape)).astype(np.float32)
        size = "x".join(str(d) for d in clean.shape)
        t_imgen, out = median_time(lambda: bm3d(noisy_img, sigma=s), args.runs)
        rows = [("imgen", t_imgen, psnr(out, clean))]
        if ref is not None:
            profile = ref.BM3DProfile()
            profile.num_threads = args.threads
            if clean.ndim == 3:
                fn = lambda: ref.bm3d_rgb(noisy_img, s, profile, colorspace="opp")  # noqa: E731
                label = "bm3d_rgb (opp)"
            else:
                fn = lambda: ref.bm3d(noisy_img, s, profile)  # noqa: E731
                label = "bm3d (PyPI)"
            t_ref, out_ref = median_time(fn, args.ref_runs)
            rows.append((label, t_ref, psnr(np.asarray(out_ref, np.float32), clean)))
        for method, t, p in rows:
            ratio = f"{rows[-1][1] / t:7.1f}x" if ref is not None else "      -"
            print(f"| {method:<14} | {name:<24} | {size:>11} | {t:8.3f} | {p:9.2f} | {ratio:>8} |", flush=True)
    print()
    print("speed-up: the reference's time divided by the row's (the reference row reads 1.0x).")


if __name__ == "__main__":
    main()
