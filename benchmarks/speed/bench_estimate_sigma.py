"""Time of imgen.denoise.estimate_sigma (the noise estimate a model uses when no sigma is given),
this tree's against another tree's, on the same images, alternating, in one run.

    python benchmarks/speed/bench_estimate_sigma.py --baseline DIR [--size 2048] [--repeats 15]

``--baseline`` names a directory holding another version's ``imgen/denoise/_sigma.py`` tree,
e.g. ``git archive 9bc5059 python | tar -x -C /tmp/old`` then ``--baseline /tmp/old/python``
(only that pure-Python module is loaded from it, as a sibling of this tree's imgen.denoise).  Prints the median time of each and the two
estimates, which must agree.
"""
from __future__ import annotations

import argparse
import importlib.util
import statistics
import time
from pathlib import Path

import numpy as np

from imgen.denoise import estimate_sigma


def load_baseline(root: Path):
    spec = importlib.util.spec_from_file_location("imgen.denoise._baseline_sigma", root / "imgen" / "denoise" / "_sigma.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.estimate_sigma


def median_ms(fn, image, repeats: int) -> tuple[float, float]:
    fn(image)
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        value = fn(image)
        times.append(time.perf_counter() - t0)
    return statistics.median(times) * 1e3, value


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--baseline", type=Path, required=True)
    ap.add_argument("--size", type=int, default=2048)
    ap.add_argument("--repeats", type=int, default=15)
    args = ap.parse_args()
    baseline = load_baseline(args.baseline)
    rng = np.random.default_rng(0)
    print(f"{'image':24} {'baseline ms':>12} {'current ms':>11} {'ratio':>6}  estimates agree")
    for dtype in (np.uint8, np.uint16, np.float32):
        for channels in (1, 3):
            shape = (args.size, args.size) + ((channels,) if channels > 1 else ())
            if dtype == np.float32:
                image = rng.random(shape, dtype=np.float32)
            else:
                image = rng.integers(0, np.iinfo(dtype).max, shape).astype(dtype)
            old_ms, old_v = median_ms(baseline, image, args.repeats)
            new_ms, new_v = median_ms(estimate_sigma, image, args.repeats)
            name = f"{np.dtype(dtype).name} {'x'.join(map(str, shape))}"
            print(f"{name:24} {old_ms:12.1f} {new_ms:11.1f} {old_ms / new_ms:6.2f}  {old_v == new_v}")


if __name__ == "__main__":
    main()
