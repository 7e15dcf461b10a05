"""Images/s: the single-process ``imgen run`` against ``imgen run --ray`` with 1 and 2 actors.

    python benchmarks/bench_ray.py [--images 64] [--size 512] [--repeats 3] [--address ADDRESS]

Generates a folder of PNGs and a small convolutional ONNX model (3 conv3x3 layers, 3-32-32-3
channels with ReLU, about 5.7 GFLOP per 512x512 image), then times whole jobs (model loading,
reading, running, atomic writes; for Ray also starting the actors) with the configurations
interleaved, median of the repeats.  The Ray instance is started once beforehand (its start-up
is reported on its own line); a 1-image Ray job measures the fixed cost of a job (actor start,
model load, scheduling).  --address runs the Ray side on an existing cluster instead (every
node must see the temporary folder: point TMPDIR at a shared filesystem).
"""
from __future__ import annotations

import argparse
import os
import shutil
import statistics
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper


def conv_stack(path: Path, widths=(3, 32, 32, 3), seed: int = 0) -> str:
    """conv3x3 + ReLU layers between the given channel counts (no ReLU after the last)."""
    rng = np.random.default_rng(seed)
    nodes, inits, prev = [], [], "x"
    for k, (cin, cout) in enumerate(zip(widths[:-1], widths[1:])):
        w = rng.normal(0, (2 / (9 * cin)) ** 0.5, (cout, cin, 3, 3)).astype(np.float32)
        b = np.zeros(cout, np.float32)
        inits += [numpy_helper.from_array(w, f"w{k}"), numpy_helper.from_array(b, f"b{k}")]
        out = "y" if k == len(widths) - 2 else f"h{k}"
        conv = out if out == "y" else f"c{k}"
        nodes.append(helper.make_node("Conv", [prev, f"w{k}", f"b{k}"], [conv], pads=[1, 1, 1, 1]))
        if out != "y":
            nodes.append(helper.make_node("Relu", [conv], [out]))
        prev = out
    io = lambda name, c: helper.make_tensor_value_info(name, TensorProto.FLOAT, ["N", c, "H", "W"])  # noqa: E731
    graph = helper.make_graph(nodes, "conv_stack", [io("x", widths[0])], [io("y", widths[-1])], initializer=inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 9
    for key, value in {"imgen.schema": "1", "imgen.task": "restore", "imgen.channels": "3",
                       "imgen.name": "conv-stack"}.items():
        entry = model.metadata_props.add()
        entry.key, entry.value = key, value
    onnx.save(model, str(path))
    return str(path)


def make_folder(root: Path, count: int, size: int) -> None:
    rng = np.random.default_rng(1)
    root.mkdir(parents=True)
    base = rng.integers(0, 256, (size, size, 3), dtype=np.uint8)
    for i in range(count):  # smooth-ish content so PNG coding costs what it does on photographs
        img = cv2.GaussianBlur(np.roll(base, i * 7, axis=1), (0, 0), 2.0)
        cv2.imwrite(str(root / f"img{i:03d}.png"), img)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--images", type=int, default=64)
    ap.add_argument("--size", type=int, default=512)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--address", help="an existing Ray cluster (default: a local 2-CPU instance)")
    args = ap.parse_args()

    import ray

    from imgen.cli import main as imgen_main
    from imgen.distributed import run_images

    work = Path(tempfile.mkdtemp(prefix="bench-ray-"))
    try:
        model = conv_stack(work / "conv_stack.onnx")
        make_folder(work / "in", args.images, args.size)
        t0 = time.perf_counter()
        if args.address:
            ray.init(address=args.address)
        else:
            ray.init(num_cpus=2, include_dashboard=False)
        print(f"Ray start-up: {time.perf_counter() - t0:.2f} s; cluster {ray.cluster_resources().get('CPU')} CPUs",
              flush=True)

        def local(threads: int):
            return lambda out: imgen_main(["run", model, str(work / "in"), "-o", str(out), "-q",
                                           "--threads", str(threads)])

        def distributed(workers: int):
            return lambda out: run_images([work / "in"], out, model, workers=workers, cpus_per_worker=1)

        one = work / "one"
        one.mkdir()
        shutil.copy(work / "in" / "img000.png", one)
        configs = {
            "Ray, 1-image job": lambda out: run_images([one], out, model, workers=1),
            "local, 1 thread": local(1),
            "local, 2 threads": local(2),
            "Ray, 1 actor x 1 CPU": distributed(1),
            "Ray, 2 actors x 1 CPU": distributed(2),
        }
        times: dict[str, list[float]] = {k: [] for k in configs}
        for r in range(args.repeats):
            for name, fn in configs.items():
                out = work / "out"
                shutil.rmtree(out, ignore_errors=True)
                t = time.perf_counter()
                fn(out)
                times[name].append(time.perf_counter() - t)
                done, want = len(list(out.glob("*.png"))), 1 if "1-image" in name else args.images
                if done != want:
                    raise SystemExit(f"{name}: wrote {done} of {want} images")
                print(f"  repeat {r + 1} {name}: {times[name][-1]:.2f} s", flush=True)
        med = {k: statistics.median(v) for k, v in times.items()}
        print(f"\n{args.images} images {args.size}x{args.size}, median of {args.repeats}, load average "
              f"{os.getloadavg()[0]:.1f}")
        print(f"{'configuration':24} {'seconds':>8} {'images/s':>9}")
        for name, s in med.items():
            print(f"{name:24} {s:8.2f} {(1 if '1-image' in name else args.images) / s:9.2f}")
        print(f"Ray 2 actors vs 1 actor: {med['Ray, 1 actor x 1 CPU'] / med['Ray, 2 actors x 1 CPU']:.2f}x")
        print(f"overhead, Ray 1 actor vs local 1 thread: {med['Ray, 1 actor x 1 CPU'] / med['local, 1 thread']:.2f}x time")
        print(f"overhead, Ray 2 actors vs local 2 threads: {med['Ray, 2 actors x 1 CPU'] / med['local, 2 threads']:.2f}x time")
    finally:
        if ray.is_initialized():
            ray.shutdown()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
