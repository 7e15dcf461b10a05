"""Tiled-run throughput: the merger alone, an identity model, and a small real model, for this
tree's ``_core`` against a baseline build, side by side in one run.

    python benchmarks/speed/bench_tiling.py --baseline DIR [--rounds 3] [--repeats 2] [--threads 2]

``--baseline`` names a package directory holding ``imgen/`` with another build of ``_core``
(e.g. a copy of ``python/`` made before a change).  Each case runs ``--rounds`` times in a fresh
subprocess per build (the builds alternate, first one then the other), ``--repeats`` timed calls
per process; reported: the fastest and the median call per build over all rounds, the ratio of
the fastest calls baseline / this tree (> 1: this tree is faster; the fastest call is the one
least disturbed by other load on a shared machine), and whether the outputs agree bit for bit.
Cases:

- ``merge``: ``TileMerger.add`` + ``finish`` of precomputed tiles, 4096x4096x3 float32, tile 512,
  overlap 32 and 64 (the merger's cost alone);
- ``identity``: ``model(image, tile=512, overlap=...)`` with an ONNX Identity model on the same
  image (tiling, to_tensor, onnxruntime's copy, the merge);
- ``denoise-gray``: the shipped ``denoise-gray`` model on a 2048x2048 gray uint8 image, tile 512,
  overlap 32 and 64, sigma 25/255.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
TREE = HERE.parents[1] / "python"


def identity_model(path: Path, channels: int) -> str:
    import onnx
    from onnx import TensorProto, helper

    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", channels, "H", "W"])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", channels, "H", "W"])
    graph = helper.make_graph([helper.make_node("Identity", ["x"], ["y"])], "identity", [x], [y])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 9
    for key, value in {"imgen.schema": "1", "imgen.task": "restore", "imgen.channels": str(channels)}.items():
        entry = model.metadata_props.add()
        entry.key, entry.value = key, value
    onnx.save(model, str(path))
    return str(path)


def child(case: str, overlap: int, repeats: int, threads: int, model_path: str | None) -> dict:
    import numpy as np

    import imgen

    imgen.set_num_threads(threads)
    rng = np.random.default_rng(0)
    times, out = [], None
    if case == "merge":
        n, c, tile = 4096, 3, 512
        grid = imgen.plan_tiles(n, n, tile=tile, overlap=overlap)
        tiles = rng.random((len(grid), c, tile, tile), dtype=np.float32)
        for _ in range(repeats):
            t0 = time.perf_counter()
            m = imgen.TileMerger(n, n, c, grid.row_starts, grid.col_starts, tile, tile, overlap)
            for start in range(0, len(grid), 4):  # the engine's batches: 4 tiles of 512
                idx = list(range(start, min(start + 4, len(grid))))
                m.add(tiles[idx], idx)
            out = m.finish()
            times.append(time.perf_counter() - t0)
    else:
        if case == "identity":
            image = rng.random((4096, 4096, 3), dtype=np.float32)
            model = imgen.load(model_path, threads=threads)
            kwargs = {}
        else:
            image = (rng.random((2048, 2048)) * 255).astype(np.uint8)
            model = imgen.load("denoise-gray", threads=threads)
            kwargs = {"sigma": 25 / 255}
        model(image[:600, :600], tile=512, overlap=overlap, **kwargs)  # warm-up
        for _ in range(repeats):
            t0 = time.perf_counter()
            out = model(image, tile=512, overlap=overlap, **kwargs)
            times.append(time.perf_counter() - t0)
    return {"median_s": statistics.median(times), "times_s": times,
            "sha256": hashlib.sha256(np.ascontiguousarray(out).tobytes()).hexdigest()[:16]}


def run_child(pkg: str, case: str, overlap: int, args, model_path: str) -> dict:
    env = dict(os.environ, PYTHONPATH=pkg)
    cmd = [sys.executable, __file__, "--child", case, "--overlap", str(overlap), "--repeats",
           str(args.repeats), "--threads", str(args.threads), "--model-path", model_path]
    res = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
    if res.returncode != 0:
        raise SystemExit(f"{case} overlap {overlap} with {pkg} failed:\n{res.stderr[-2000:]}")
    return json.loads(res.stdout.strip().splitlines()[-1])


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--baseline", help="package directory of the build to compare against")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--repeats", type=int, default=2)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--cases", nargs="+", default=["merge", "identity", "denoise-gray"])
    p.add_argument("--overlaps", nargs="+", type=int, default=[32, 64])
    p.add_argument("--json", help="write the results here too")
    p.add_argument("--child", help=argparse.SUPPRESS)
    p.add_argument("--overlap", type=int, help=argparse.SUPPRESS)
    p.add_argument("--model-path", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.child:
        print(json.dumps(child(args.child, args.overlap, args.repeats, args.threads, args.model_path)))
        return
    if not args.baseline or not (Path(args.baseline) / "imgen").is_dir():
        raise SystemExit("--baseline must name a directory holding imgen/ (another build's package)")
    builds = {"baseline": str(Path(args.baseline).resolve()), "this": str(TREE)}
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        model_path = identity_model(Path(tmp) / "identity3.onnx", 3)
        for case in args.cases:
            for overlap in args.overlaps:
                times = {name: [] for name in builds}
                digests = set()
                for r in range(args.rounds):
                    for name in (list(builds) if r % 2 == 0 else list(builds)[::-1]):
                        res = run_child(builds[name], case, overlap, args, model_path)
                        times[name] += res["times_s"]
                        digests.add(res["sha256"])
                best = {name: min(t) for name, t in times.items()}
                med = {name: statistics.median(t) for name, t in times.items()}
                ratio = best["baseline"] / best["this"]
                same = len(digests) == 1
                rows.append({"case": case, "overlap": overlap, "threads": args.threads,
                             "baseline_s": times["baseline"], "this_s": times["this"],
                             "speedup_fastest": ratio, "speedup_median": med["baseline"] / med["this"],
                             "identical": same})
                print(f"{case:13s} overlap {overlap:3d}: fastest baseline {best['baseline'] * 1e3:8.1f} ms, "
                      f"this {best['this'] * 1e3:8.1f} ms, speed-up x{ratio:.2f} "
                      f"(medians {med['baseline'] * 1e3:.1f} / {med['this'] * 1e3:.1f} ms, "
                      f"x{med['baseline'] / med['this']:.2f}); outputs {'identical' if same else 'DIFFER'}",
                      flush=True)
    if args.json:
        sys.path.insert(0, str(TREE))
        from imgen.atomic import atomic_write  # noqa: PLC0415  (only when asked)
        with atomic_write(args.json, mode="w") as f:
            f.write(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
