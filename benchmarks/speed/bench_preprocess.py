"""Pre/post-processing throughput: imgen vs numpy vs cv2.dnn.blobFromImage vs a plain copy.

Side by side in one run, interleaved, median of repeats.  GB/s counts bytes read + written
(for the copy: the output size, read and written).

    python benchmarks/speed/bench_preprocess.py [--repeats 30] [--threads 2] [--json out.json]
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time

import cv2
import numpy as np

import imgen

SIZES = {"1080p": (1080, 1920), "4K": (2160, 3840)}


def numpy_to_tensor(img):
    t = img.transpose(2, 0, 1)[None].astype(np.float32)
    t *= np.float32(1 / 255)
    return t


def numpy_from_tensor(t):
    x = t[0].transpose(1, 2, 0) * np.float32(255)
    return np.clip(np.rint(x), 0, 255).astype(np.uint8)


def numpy_tile_merge(img, tile, overlap):
    """The straightforward numpy tiler: pad, cut tiles, weight with a Hann ramp, accumulate."""
    h, w, c = img.shape
    stride = tile - overlap
    ys = list(range(0, max(h - tile, 0), stride)) + [max(h - tile, 0)]
    xs = list(range(0, max(w - tile, 0), stride)) + [max(w - tile, 0)]
    ramp = np.sin(np.pi / 2 * (np.arange(overlap) + 0.5) / overlap) ** 2
    win = np.ones(tile)
    win[:overlap], win[-overlap:] = ramp, ramp[::-1]
    weight2d = np.outer(win, win).astype(np.float32)
    acc = np.zeros((c, h, w), np.float32)
    wsum = np.zeros((h, w), np.float32)
    for y in ys:
        for x in xs:
            t = img[y:y + tile, x:x + tile].transpose(2, 0, 1).astype(np.float32) / 255  # "model input"
            acc[:, y:y + tile, x:x + tile] += t * weight2d
            wsum[y:y + tile, x:x + tile] += weight2d
    out = acc / wsum
    return np.clip(np.rint(out.transpose(1, 2, 0) * 255), 0, 255).astype(np.uint8)


def imgen_tile_merge(img, tile, overlap):
    h, w, c = img.shape
    grid = imgen.plan_tiles(h, w, tile=tile, overlap=overlap)
    regions = grid.regions()
    merger = imgen.TileMerger(h, w, c, grid.row_starts, grid.col_starts, grid.tile_height, grid.tile_width, overlap,
                              dtype=np.uint8)
    for start in range(0, len(regions), 4):
        batch = regions[start:start + 4]
        merger.add(imgen.to_tensor(img, regions=batch), list(range(start, start + len(batch))))
    return merger.finish()


def median_times(fns: dict, repeats: int) -> dict:
    times = {k: [] for k in fns}
    for f in fns.values():
        f()  # warm-up: page faults, caches, thread start
    for _ in range(repeats):
        for k, f in fns.items():  # interleaved, so drift hits every column alike
            t0 = time.perf_counter()
            f()
            times[k].append(time.perf_counter() - t0)
    return {k: statistics.median(v) for k, v in times.items()}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeats", type=int, default=30)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--tile", type=int, default=512)
    ap.add_argument("--overlap", type=int, default=64)
    ap.add_argument("--json", help="write the results here")
    args = ap.parse_args()
    cv2.setNumThreads(args.threads)
    rng = np.random.default_rng(0)
    rows = []
    for label, (h, w) in SIZES.items():
        img = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
        t = imgen.to_tensor(img)
        out_f32 = np.empty_like(t)
        n_img, n_t = img.nbytes, t.nbytes
        cases = {
            "to_tensor": (n_img + n_t, {
                "imgen 1T": lambda: (imgen.set_num_threads(1), imgen.to_tensor(img, out=out_f32)),
                f"imgen {args.threads}T": lambda: (imgen.set_num_threads(args.threads), imgen.to_tensor(img, out=out_f32)),
                "numpy": lambda: numpy_to_tensor(img),
                "cv2.dnn.blobFromImage": lambda: cv2.dnn.blobFromImage(img, 1 / 255),
                "copy (output size)": lambda: np.copyto(out_f32, t),
            }),
            "from_tensor": (n_img + n_t, {
                "imgen 1T": lambda: (imgen.set_num_threads(1), imgen.from_tensor(t)),
                f"imgen {args.threads}T": lambda: (imgen.set_num_threads(args.threads), imgen.from_tensor(t)),
                "numpy": lambda: numpy_from_tensor(t),
                "copy (output size)": lambda: np.copyto(out_f32, t),
            }),
            f"tile+merge {args.tile}/{args.overlap}": (2 * (n_img + n_t), {
                "imgen 1T": lambda: (imgen.set_num_threads(1), imgen_tile_merge(img, args.tile, args.overlap)),
                f"imgen {args.threads}T": lambda: (imgen.set_num_threads(args.threads), imgen_tile_merge(img, args.tile, args.overlap)),
                "numpy": lambda: numpy_tile_merge(img, args.tile, args.overlap),
            }),
        }
        for op, (nbytes, fns) in cases.items():
            reps = args.repeats if "tile" not in op else max(5, args.repeats // 5)
            med = median_times(fns, reps)
            best_imgen = min(v for k, v in med.items() if k.startswith("imgen"))
            for k, v in med.items():
                copy_bytes = 2 * n_t
                gbs = (copy_bytes if k.startswith("copy") else nbytes) / v / 1e9
                rows.append({"size": label, "op": op, "impl": k, "ms": v * 1e3, "GB/s": gbs,
                             "imgen speed-up": v / best_imgen})
    print(f"{'size':6} {'operation':22} {'implementation':24} {'ms':>8} {'GB/s':>7} {'imgen is x faster':>18}")
    for r in rows:
        print(f"{r['size']:6} {r['op']:22} {r['impl']:24} {r['ms']:8.2f} {r['GB/s']:7.2f} {r['imgen speed-up']:18.2f}")
    meta = {"machine": platform.processor() or platform.machine(), "cores": os.cpu_count(),
            "simd": imgen._core.simd_level(), "numpy": np.__version__, "opencv": cv2.__version__,
            "threads": args.threads, "repeats": args.repeats}
    print("config:", json.dumps(meta))
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"config": meta, "rows": rows}, f, indent=2)


if __name__ == "__main__":
    main()
