"""onnxruntime session options for a denoiser at 512x512: time per variant, side by side, as ratios.

    PYTHONPATH=python python benchmarks/studies/ort_options.py [--model denoise-gray] [--size 512] [--repeats 7]
        [--variants engine,extended,basic,...] [--profile DIR]

Every variant is one InferenceSession on the same file; calls alternate variant by variant (A B C A B C
...) so the machine's drift hits all alike; the median per variant is printed with its ratio to the
``engine`` variant (imgen's own session options, ``imgen._runtime.session_options``; > 1 = faster than
imgen's).  Input: a seeded uniform-noise gray image (N, 1, H, W) float32 in [0, 1], sigma 25/255.
--profile DIR writes onnxruntime's per-node JSON profile of the engine variant and prints the top ops.
"""
from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

import numpy as np
import onnxruntime as ort

from imgen._runtime import session_options
from imgen.engine import resolve_model_path


def _variant(name: str, threads: int) -> ort.SessionOptions:
    """The SessionOptions named by ``name`` (``engine`` = imgen's own, the others change one thing)."""
    if name == "engine":
        return session_options(threads)
    o = ort.SessionOptions()
    o.log_severity_level = 4
    o.intra_op_num_threads = threads
    o.inter_op_num_threads = 1
    o.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    if name == "all":
        pass
    elif name == "all-spin":
        o.add_session_config_entry("session.intra_op.allow_spinning", "1")
    elif name == "all-nospin":
        o.add_session_config_entry("session.intra_op.allow_spinning", "0")
    elif name == "extended":
        o.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_EXTENDED
    elif name == "basic":
        o.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_BASIC
    elif name == "none":
        o.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    elif name == "daz":
        o.add_session_config_entry("session.set_denormal_as_zero", "1")
    elif name == "no-nchwc":
        # ENABLE_ALL without the NCHWc layout transformer
        o.add_session_config_entry("optimization.disable_specified_optimizers", "NchwcTransformer")
    elif name == "parallel":
        o.execution_mode = ort.ExecutionMode.ORT_PARALLEL
    elif name == "1thread":
        o.intra_op_num_threads = 1
    elif name == "default-threads":
        o.intra_op_num_threads = 0
    else:
        raise SystemExit(f"unknown variant {name!r}")
    return o


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default="denoise-gray")
    ap.add_argument("--size", type=int, default=512)
    ap.add_argument("--repeats", type=int, default=7)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--variants", default="engine,all-spin,all-nospin,extended,basic,no-nchwc,daz,parallel")
    ap.add_argument("--profile", type=Path)
    args = ap.parse_args()
    path = resolve_model_path(args.model)
    names = args.variants.split(",")
    sessions = {n: ort.InferenceSession(path, _variant(n, args.threads), providers=["CPUExecutionProvider"]) for n in names}
    rng = np.random.default_rng(0)
    feeds = {"image": rng.random((1, 1, args.size, args.size), dtype=np.float32),
             "sigma": np.full((1, 1, 1, 1), 25 / 255, np.float32)}
    feeds = {k: v for k, v in feeds.items() if k in {i.name for i in sessions[names[0]].get_inputs()}}
    for s in sessions.values():
        s.run(None, feeds)
    times: dict[str, list[float]] = {n: [] for n in names}
    for _ in range(args.repeats):
        for n, s in sessions.items():
            t0 = time.perf_counter()
            s.run(None, feeds)
            times[n].append(time.perf_counter() - t0)
    base = statistics.median(times[names[0]])
    print(f"onnxruntime {ort.__version__}, {args.model}, {args.size}x{args.size}, {args.threads} threads, "
          f"median of {args.repeats}, ratio = {names[0]} time / variant time")
    for n in names:
        m = statistics.median(times[n])
        print(f"  {n:16s} {m * 1e3:8.1f} ms  {base / m:5.2f}x")
    if args.profile:
        _profile(path, args.threads, feeds, args.profile)


def _profile(path: str, threads: int, feeds: dict, out: Path) -> None:
    """Run the engine variant with onnxruntime's profiler and print the op types by total time."""
    out.mkdir(parents=True, exist_ok=True)
    o = session_options(threads)
    o.enable_profiling = True
    o.profile_file_prefix = str(out / "ort")
    s = ort.InferenceSession(path, o, providers=["CPUExecutionProvider"])
    for _ in range(3):
        s.run(None, feeds)
    events = json.loads(Path(s.end_profiling()).read_text())
    by_op: dict[str, float] = {}
    for e in events:
        if e.get("cat") == "Node" and e["name"].endswith("_kernel_time"):
            op = e.get("args", {}).get("op_name", "?")
            by_op[op] = by_op.get(op, 0.0) + e["dur"] / 3e3
    total = sum(by_op.values())
    print("profile (engine variant, ms per run by op type):")
    for op, ms in sorted(by_op.items(), key=lambda kv: -kv[1]):
        print(f"  {op:24s} {ms:8.1f} ms  {100 * ms / total:5.1f}%")


if __name__ == "__main__":
    main()
