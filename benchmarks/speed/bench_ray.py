"""Images/s: the single-process ``imgen run`` against ``imgen run --ray`` with 1 and 2 actors.

    python benchmarks/speed/bench_ray.py [--images 128] [--size 512] [--repeats 3] [--address ADDRESS]

Generates a folder of PNGs and a small convolutional ONNX model (3 conv3x3 layers, 3-32-32-3
channels with ReLU, about 5.7 GFLOP per 512x512 image), then times whole jobs (model loading,
reading, running, atomic writes; for Ray also starting the actors) with the configurations
interleaved, median of the repeats.  Both sides run the same code: ``imgen run``'s file loop and
batch function locally, ``imgen.distributed.map_images`` (what ``--ray`` runs) on Ray.  The Ray
instance is started once beforehand (its start-up is reported on its own line); for Ray jobs the
table also gives the actor start (job start to the first batch) and the steady rate (images over
the span from the first batch's start to the last one's end).  --address runs the Ray side on
an existing cluster instead (every node must see the temporary folder: point TMPDIR at a shared
filesystem).
"""
from __future__ import annotations

import argparse
import json
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


class Timed:
    """Wraps a process factory: logs when each actor is ready and when each batch runs (JSON lines)."""

    def __init__(self, inner, log: str):
        self.inner, self.log = inner, log

    def __call__(self, threads: int):
        process = self.inner(threads)
        log = self.log

        def timed(images):
            start = time.time()
            out = process(images)
            with open(log, "a") as f:
                f.write(json.dumps({"start": start, "end": time.time(), "n": len(images)}) + "\n")
            return out

        return timed


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--images", type=int, default=128)
    ap.add_argument("--size", type=int, default=512)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--address", help="an existing Ray cluster (default: a local 2-CPU instance)")
    args = ap.parse_args()

    import ray

    from functools import partial

    from imgen.distributed import WorkerResources, map_images
    from imgen.imageio import plan_outputs
    from imgen.processors import ProcessorOptions, build_processor

    work = Path(tempfile.mkdtemp(prefix="bench-ray-"))
    try:
        model = conv_stack(work / "conv_stack.onnx")
        make_folder(work / "in", args.images, args.size)
        t0 = time.perf_counter()
        if args.address:
            ray.init(address=args.address)
        else:
            ray.init(num_cpus=2, include_dashboard=False)
        make_process = partial(build_processor, ProcessorOptions(model=model, providers=("cpu",), color_order="bgr"))
        print(f"Ray start-up: {time.perf_counter() - t0:.2f} s; cluster {ray.cluster_resources().get('CPU')} CPUs",
              flush=True)

        def local(threads: int):
            def run(out: Path) -> dict:
                jobs, _ = plan_outputs([work / "in"], out)
                process = make_process(threads)
                from imgen import set_num_threads
                from imgen.batch import run_files

                set_num_threads(threads)
                run_files(jobs, process, quiet=True)
                return {}
            return run

        def distributed(workers: int):
            def run(out: Path) -> dict:
                log = work / "batches.jsonl"
                log.unlink(missing_ok=True)
                jobs, _ = plan_outputs([work / "in"], out)
                started = time.time()
                map_images(jobs, Timed(make_process, str(log)),
                           resources=WorkerResources(workers=workers, cpus_per_worker=1))
                batches = [json.loads(line) for line in log.read_text().splitlines()]
                first, last = min(b["start"] for b in batches), max(b["end"] for b in batches)
                return {"startup": first - started, "steady": sum(b["n"] for b in batches) / (last - first)}
            return run

        configs = {
            "local, 1 thread": local(1),
            "local, 2 threads": local(2),
            "Ray, 1 actor x 1 CPU": distributed(1),
            "Ray, 2 actors x 1 CPU": distributed(2),
        }
        times: dict[str, list[float]] = {k: [] for k in configs}
        extra: dict[str, list[dict]] = {k: [] for k in configs}
        for r in range(args.repeats):
            for name, fn in configs.items():
                out = work / "out"
                shutil.rmtree(out, ignore_errors=True)
                t = time.perf_counter()
                extra[name].append(fn(out))
                times[name].append(time.perf_counter() - t)
                done = len(list(out.glob("*.png")))
                if done != args.images:
                    raise SystemExit(f"{name}: wrote {done} of {args.images} images")
                print(f"  repeat {r + 1} {name}: {times[name][-1]:.2f} s {extra[name][-1]}", flush=True)
        med = {k: statistics.median(v) for k, v in times.items()}
        print(f"\n{args.images} images {args.size}x{args.size}, median of {args.repeats}, load average "
              f"{os.getloadavg()[0]:.1f}")
        print(f"{'configuration':24} {'job s':>7} {'images/s':>9} {'actor start s':>14} {'steady images/s':>16}")
        for name, s in med.items():
            if extra[name][0]:
                startup = statistics.median(e["startup"] for e in extra[name])
                steady = statistics.median(e["steady"] for e in extra[name])
                print(f"{name:24} {s:7.2f} {args.images / s:9.2f} {startup:14.2f} {steady:16.2f}")
            else:
                print(f"{name:24} {s:7.2f} {args.images / s:9.2f} {'-':>14} {args.images / s:16.2f}")
        steady = {k: statistics.median(e["steady"] for e in v) for k, v in extra.items() if v[0]}
        print(f"Ray 2 actors vs 1 actor, job: {med['Ray, 1 actor x 1 CPU'] / med['Ray, 2 actors x 1 CPU']:.2f}x; "
              f"steady: {steady['Ray, 2 actors x 1 CPU'] / steady['Ray, 1 actor x 1 CPU']:.2f}x")
        print(f"Ray 1 actor vs local 1 thread, job time: {med['Ray, 1 actor x 1 CPU'] / med['local, 1 thread']:.2f}x; "
              f"steady rate: {steady['Ray, 1 actor x 1 CPU'] / (args.images / med['local, 1 thread']):.2f}x")
        print(f"Ray 2 actors vs local 2 threads, job time: {med['Ray, 2 actors x 1 CPU'] / med['local, 2 threads']:.2f}x; "
              f"steady rate: {steady['Ray, 2 actors x 1 CPU'] / (args.images / med['local, 2 threads']):.2f}x")
    finally:
        if ray.is_initialized():
            ray.shutdown()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
