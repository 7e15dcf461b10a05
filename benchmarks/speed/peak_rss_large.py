"""Peak RSS of `imgen denoise --method wavelet` / `--method bm3d`, the shipped `denoise-gray` and
identity ONNX models (1- and 3-channel) on a 20000^2 gray and a 12000^2 colour image, each command in its own process under /usr/bin/time -v
(#33 item 1: goal <= 2.5 GB for any image the pixel limit admits).

    python benchmarks/speed/peak_rss_large.py [--work DIR] [--imgen CMD] [--only NAME ...] [--images IMAGE ...]

--imgen runs another checkout's CLI for a before/after comparison, e.g.
    --imgen "env PYTHONPATH=/tmp/before/python python -m imgen"
The images are a smooth pattern plus Gaussian noise (sigma 10 levels), written as PNG
(compression 1) once and reused.  Prints one Markdown row per run.
"""
from __future__ import annotations

import argparse
import re
import shlex
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

SIZES = {"gray20000": (20000, 20000, 1), "colour12000": (12000, 12000, 3)}


def make_image(path: Path, h: int, w: int, c: int) -> None:
    import cv2

    if path.exists():
        return
    out = np.empty((h, w) if c == 1 else (h, w, c), np.uint8)
    rng = np.random.default_rng(0)
    step = 1000
    x = np.arange(w)
    for y0 in range(0, h, step):
        y = np.arange(y0, min(y0 + step, h))[:, None]
        base = 128 + 60 * np.sin(x / 37.0) * np.cos(y / 53.0) + 30 * ((x // 97 + y // 71) % 2)
        for k in range(c):
            band = base + rng.normal(0, 10, base.shape)
            (out[y0:y0 + len(y)] if c == 1 else out[y0:y0 + len(y), :, k])[:] = np.clip(np.rint(band), 0, 255)
    cv2.imwrite(str(path), out, [cv2.IMWRITE_PNG_COMPRESSION, 1])


def models(work: Path) -> dict[str, Path]:
    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "tests"))
    import onnx_models as om

    out = {}
    for c in (1, 3):
        p = work / f"identity{c}.onnx"
        if not p.exists():
            om.identity(p, channels=c)
        out[f"identity{c}"] = p
    return out


def peak(cmd: list[str]) -> tuple[float, float, int]:
    """(peak RSS in GB, wall seconds, exit status) of cmd under /usr/bin/time -v."""
    t = time.perf_counter()
    res = subprocess.run(["/usr/bin/time", "-v", *cmd], capture_output=True, text=True)
    wall = time.perf_counter() - t
    m = re.search(r"Maximum resident set size \(kbytes\): (\d+)", res.stderr)
    if res.returncode != 0:
        print(res.stderr[-1500:], file=sys.stderr)
    return (int(m.group(1)) * 1024 / 1e9 if m else float("nan")), wall, res.returncode


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--work", type=Path, default=Path("/tmp/imgen-peak-rss"))
    ap.add_argument("--imgen", default=f"{sys.executable} -m imgen")
    ap.add_argument("--only", nargs="*", default=None, help="run names: wavelet, bm3d, denoise-gray, identity1, identity3")
    ap.add_argument("--images", nargs="*", default=None, choices=list(SIZES),
                    help="images to run on (default all); each is made once, ~0.4 GB of pixels")
    args = ap.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    imgen = shlex.split(args.imgen)
    nets = models(args.work)
    print("| image | command | peak RSS (GB) | wall (s) | exit |")
    print("|---|---|---|---|---|")
    for name, (h, w, c) in SIZES.items():
        if args.images and name not in args.images:
            continue
        src = args.work / f"{name}.png"
        make_image(src, h, w, c)
        runs = {m: ["denoise", str(src), "--method", m, "-o", str(args.work / "out"), "-q"] for m in ("wavelet", "bm3d")}
        runs["denoise-gray"] = ["denoise", str(src), "--model", "denoise-gray", "-o", str(args.work / "out"), "-q"]
        for key, net in nets.items():
            runs[key] = ["run", str(net), str(src), "-o", str(args.work / "out"), "-q"]
        for key, cmd in runs.items():
            if args.only and key not in args.only:
                continue
            gb, wall, rc = peak(imgen + cmd)
            print(f"| {name} | imgen {' '.join(cmd[:1] + cmd[2:4] if cmd[0] == 'denoise' else cmd[:2])} | {gb:.2f} | "
                  f"{wall:.0f} | {rc} |", flush=True)
            for f in (args.work / "out").glob("*"):
                f.unlink()
    return 0


if __name__ == "__main__":
    sys.exit(main())
