"""Peak memory and time of a tiled model run on large gray uint8 images.

Each size runs in a fresh subprocess (so peak RSS belongs to that size alone): it makes a
deterministic gray uint8 image in memory, loads a tiny ONNX model (a 3x3 convolution built
here with onnx.helper, or an identity), and calls ``model(image, tile=..., overlap=...)``.
Reported: RSS before the call (image + model loaded, after a small warm-up call), the
process's peak RSS (``ru_maxrss``), the peak RSS of the call alone (VmHWM after resetting it
through /proc/self/clear_refs just before the call), the wall time of the call (median of
``--repeats`` fresh processes), and a hash of the output.

    python benchmarks/speed/bench_tiling_memory.py [--sizes 5000 10000 20000] [--tile 512]
        [--overlap 32] [--repeats 3] [--model conv|identity] [--baseline DIR]
        [--as-headroom MIB] [--json out.json]

``--baseline`` names another tree's package directory (one holding ``imgen/`` with its built
``_core``), e.g. the build before a change: it runs alternately with this tree's, same image,
same model, and the output hashes show whether the two builds agree bit for bit.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def build_model(path: Path, kind: str) -> str:
    import numpy as np
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 1, "H", "W"])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 1, "H", "W"])
    if kind == "identity":
        graph = helper.make_graph([helper.make_node("Identity", ["x"], ["y"])], "identity", [x], [y])
    else:  # a fixed 3x3 smoothing convolution
        k = np.array([[1, 2, 1], [2, 4, 2], [1, 2, 1]], np.float32) / 16
        node = helper.make_node("Conv", ["x", "w"], ["y"], pads=[1, 1, 1, 1])
        graph = helper.make_graph([node], "conv3x3", [x], [y],
                                  initializer=[numpy_helper.from_array(k[None, None], "w")])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 9
    for key, value in {"imgen.schema": "1", "imgen.task": "restore", "imgen.channels": "1"}.items():
        entry = model.metadata_props.add()
        entry.key, entry.value = key, value
    onnx.save(model, str(path))
    return str(path)


def status_kb(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return -1


def child(args) -> None:
    import numpy as np

    import imgen

    n = args.child
    # Deterministic texture: cheap to make, not constant (so the output hash means something).
    yy = (np.arange(n, dtype=np.uint32) * 2654435761 >> 24).astype(np.uint8)
    image = np.empty((n, n), np.uint8)
    for y0 in range(0, n, 1024):
        rows = yy[y0:y0 + 1024, None]
        np.add(rows, yy[None, :], out=image[y0:y0 + 1024], dtype=np.uint8, casting="unsafe")
    imgen.set_num_threads(args.threads)
    model = imgen.load(args.model_path, threads=args.threads)
    model(image[:600, :600], tile=args.tile, overlap=args.overlap)  # warm-up: threads, arenas
    rss_before = status_kb("VmRSS")
    try:  # reset VmHWM to the current RSS, so that it gives the peak of the call alone
        Path("/proc/self/clear_refs").write_text("5")
        hwm_reset = True
    except OSError:
        hwm_reset = False
    result = {"size": n, "rss_before_mb": rss_before / 1024, "input_mb": image.nbytes / 2**20}
    if args.as_headroom:  # address-space limit: this much above the process's size now
        limit = status_kb("VmSize") * 1024 + args.as_headroom * 2**20
        resource.setrlimit(resource.RLIMIT_AS, (limit, resource.RLIM_INFINITY))
    t0 = time.perf_counter()
    try:
        out = model(image, tile=args.tile, overlap=args.overlap)
    except MemoryError as e:
        out = None
        result.update(error=f"MemoryError: {e}")
    result["seconds"] = time.perf_counter() - t0
    # Peaks first: hashing must not add to them (sha256 reads the array in place, no copy).
    result.update(peak_rss_mb=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,  # KiB
                  call_peak_mb=status_kb("VmHWM") / 1024 if hwm_reset else None)
    if out is not None:
        result.update(output_mb=out.nbytes / 2**20,
                      sha256=hashlib.sha256(np.ascontiguousarray(out).data).hexdigest()[:16])
    print("RESULT " + json.dumps(result), flush=True)


def run_child(n: int, imgen_path: str, model_path: str, args) -> dict:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([imgen_path, os.environ.get("PYTHONPATH", "")]))
    cmd = [sys.executable, __file__, "--child", str(n), "--model-path", model_path,
           "--tile", str(args.tile), "--overlap", str(args.overlap), "--threads", str(args.threads)]
    if args.as_headroom:
        cmd += ["--as-headroom", str(args.as_headroom)]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True)
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT ")]
    if lines:
        return json.loads(lines[-1][len("RESULT "):])
    tail = (proc.stderr.strip().splitlines() or ["(no output)"])[-1]
    return {"size": n, "error": f"exit status {proc.returncode}: {tail}"}


def summarise(label: str, n: int, runs: list[dict]) -> dict:
    ok = [r for r in runs if "error" not in r]
    if not ok:
        row = dict(runs[-1], build=label)
        print(f"{label:>8} {n}x{n}: FAILED ({row['error']}), peak RSS "
              f"{row.get('peak_rss_mb', float('nan')):.0f} MiB", flush=True)
        return row
    row = dict(ok[0], build=label, runs=len(ok), seconds=statistics.median(r["seconds"] for r in ok),
               seconds_all=[round(r["seconds"], 3) for r in ok],
               peak_rss_mb=max(r["peak_rss_mb"] for r in ok))
    if all(r.get("call_peak_mb") for r in ok):
        row["call_peak_mb"] = max(r["call_peak_mb"] for r in ok)
        row["call_growth_mb"] = row["call_peak_mb"] - row["rss_before_mb"]
    print(f"{label:>8} {n}x{n}: {row['seconds']:.2f} s (median of {len(ok)}), RSS before "
          f"{row['rss_before_mb']:.0f} MiB, process peak {row['peak_rss_mb']:.0f} MiB, call peak "
          f"{row.get('call_peak_mb', float('nan')):.0f} MiB (+{row.get('call_growth_mb', float('nan')):.0f}); "
          f"input {row['input_mb']:.0f}, output {row['output_mb']:.0f} MiB; output {row['sha256']}",
          flush=True)
    return row


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", type=int, nargs="+", default=[5000, 10000, 20000])
    ap.add_argument("--tile", type=int, default=512)
    ap.add_argument("--overlap", type=int, default=32)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=3, help="fresh processes per size and build")
    ap.add_argument("--model", choices=["conv", "identity"], default="conv")
    ap.add_argument("--imgen-path", default=str(HERE.parents[1] / "python"),
                    help="directory holding the imgen package to measure (default: this tree)")
    ap.add_argument("--baseline", help="another directory holding an imgen package (e.g. an older "
                                       "build): measured alternately with --imgen-path")
    ap.add_argument("--as-headroom", type=int, metavar="MIB",
                    help="limit each call's address space (RLIMIT_AS) to MIB above the process's size")
    ap.add_argument("--json", help="write the results here")
    ap.add_argument("--child", type=int, help=argparse.SUPPRESS)
    ap.add_argument("--model-path", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        child(args)
        return
    builds = {"current": args.imgen_path}
    if args.baseline:
        builds = {"baseline": args.baseline, **builds}
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        model_path = build_model(Path(tmp) / f"{args.model}.onnx", args.model)
        for n in args.sizes:
            runs = {label: [] for label in builds}
            for _ in range(args.repeats):
                for label, path in builds.items():  # interleaved: drift hits both builds alike
                    runs[label].append(run_child(n, path, model_path, args))
                if all("error" in r[-1] for r in runs.values()):
                    break
            rows += [summarise(label, n, runs[label]) for label in builds]
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
