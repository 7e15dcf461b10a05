"""Working memory per pixel of what `imgen serve` runs: peak RSS of one call over its RSS before,
per pixel, for wavelet, bm3d and the shipped denoise-gray model, gray and colour uint8 images.

Each (method, channels, size) runs in a fresh subprocess: it builds the processor the server
builds (``imgen.serve.models.serve_models``, BGR images as files decode), warms it up on a 64x64
image, makes the image (seeded noise), resets the peak (``/proc/self/clear_refs``), notes VmRSS,
runs the processor on ``[image]`` and reads VmHWM.  The working bytes per pixel is the slope
between the two sizes (so the constant part, thread stacks and arenas, drops out) and the ratio at
each size; the server's table (``imgen.serve.admission.WORKING``) takes the largest ratio per
channel, rounded up, and for a model that tiles, a base plus the slope (BENCHMARKS.md).

    PYTHONPATH=python:export python benchmarks/speed/bench_serve_memory.py [--sizes 512 1024] [--methods ...]
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _status(key: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1]) * 1024
    raise KeyError(key)


def child(method: str, channels: int, size: int) -> dict:
    import numpy as np

    from imgen.serve.models import serve_models

    served = serve_models([] if method in ("bm3d", "wavelet") else [method])[method]
    proc = served.runner(sigma=25 / 255, tile=None, color_order="bgr")
    shape = (size, size) if channels == 1 else (size, size, channels)
    rng = np.random.default_rng(0)
    proc([rng.integers(0, 256, shape[:2] if channels == 1 else (64, 64, channels), dtype=np.uint8)[:64, :64]])
    image = rng.integers(0, 256, shape, dtype=np.uint8)
    Path("/proc/self/clear_refs").write_text("5")  # reset VmHWM to the current RSS
    before = _status("VmRSS")
    t = time.perf_counter()
    out = proc([image])[0]
    seconds = time.perf_counter() - t
    peak = _status("VmHWM")
    assert out.shape == image.shape
    return {"method": method, "channels": channels, "size": size, "before": before, "peak": peak,
            "seconds": seconds}


def measure(method: str, channels: int, size: int) -> dict:
    code = (f"import json, sys; sys.path.insert(0, {str(Path(__file__).parent)!r}); import bench_serve_memory as b; "
            f"print(json.dumps(b.child({method!r}, {channels}, {size})))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=900)
    if out.returncode:
        raise RuntimeError(out.stderr[-2000:])
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sizes", type=int, nargs=2, default=[512, 1024])
    p.add_argument("--methods", nargs="+", default=["wavelet", "bm3d", "denoise-gray"])
    p.add_argument("--channels", type=int, nargs="+", default=[1, 3])
    args = p.parse_args()
    print("| method | channels | side | peak over before, MiB | bytes/pixel at this size | slope bytes/pixel | s |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    for method in args.methods:
        for channels in args.channels:
            rows = [measure(method, channels, s) for s in args.sizes]
            small, large = rows
            slope = ((large["peak"] - large["before"]) - (small["peak"] - small["before"])) / (
                large["size"] ** 2 - small["size"] ** 2)
            for r in rows:
                delta = r["peak"] - r["before"]
                print(f"| {method} | {channels} | {r['size']} | {delta / 2**20:.1f} | {delta / r['size']**2:.1f} | "
                      f"{slope:.1f} | {r['seconds']:.2f} |", flush=True)


if __name__ == "__main__":
    main()
