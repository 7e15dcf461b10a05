"""onnxruntime against OpenVINO on the shipped restoration models: CPU, 512x512 input, ratios side by side.

    PYTHONPATH=python:export python benchmarks/speed/ort_vs_openvino.py [--threads 2] [--repeats 9] [--size 512]
        [--models denoise-gray,dejpeg-gray,sr-x2,sr-x3,sr-x4] [--before DIR] [--ort-only]

For every model the runtimes alternate call by call (order rotating, a pause before each call: ``race``),
each fastest of ``--repeats`` after a warm-up:
onnxruntime and OpenVINO (f32) on the shipped file and, with ``--before DIR`` (the earlier files of the
same names, e.g. extracted with ``git show REV:python/imgen/models/sr-x2.onnx``), on the earlier file
too, plus OpenVINO's default precision.  Wall and process-CPU time per call are printed with the
ratios: ORT/OV before, ORT/OV now (1.00 = as fast; > 1 = onnxruntime slower; each pair on the same
file), and the differences of the outputs: the earlier file against the shipped one (0 for an exact
rewrite, larger for a retrained model), and each OpenVINO run against onnxruntime on the same file.  onnxruntime runs
with imgen's own session options (``imgen._runtime.session_options``); OpenVINO compiles the same
file for the CPU device with ``INFERENCE_NUM_THREADS`` = threads, the latency hint and the model
reshaped to the static input shape (its best case), once with ``INFERENCE_PRECISION_HINT`` f32 (the
peer: same arithmetic as onnxruntime) and once with its default, which is bf16 on a CPU with
AVX512_BF16 (this one) and differs from fp32 by ~1e-2 (the "OV-default diff" column).  Input: a seeded natural-looking gray image
(a smoothed random field, float32 in [0, 1]), sigma 25/255 where the model takes one.  The load
average before and after is printed: the machine is shared, so compare ratios, not milliseconds.
"""
from __future__ import annotations

import argparse
import os
import resource
import time
from pathlib import Path

import numpy as np
import onnxruntime as ort

from imgen._runtime import session_options
from imgen.engine import resolve_model_path

MODELS = ("denoise-gray", "dejpeg-gray", "sr-x2", "sr-x3", "sr-x4", "deblur-wiener-gray")


def _cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def _image(size: int) -> np.ndarray:
    rng = np.random.default_rng(0)
    x = rng.random((size // 8 + 2, size // 8 + 2)).astype(np.float32)
    x = np.kron(x, np.ones((8, 8), np.float32))[:size, :size]   # blocky field ...
    k = np.ones(5, np.float32) / 5                            # ... smoothed a little, plus texture
    x = np.apply_along_axis(lambda r: np.convolve(r, k, "same"), 1, x)
    x = np.apply_along_axis(lambda c: np.convolve(c, k, "same"), 0, x)
    x += rng.normal(0, 0.03, x.shape).astype(np.float32)
    return np.clip(x, 0, 1)[None, None].astype(np.float32)


def _feeds(names: list[str], image: np.ndarray) -> dict:
    feeds = {names[0]: image}
    if len(names) > 1:
        feeds[names[1]] = np.full((image.shape[0], 1, 1, 1), 25 / 255, np.float32)
    return feeds


def ort_runner(path: str, threads: int, feeds: dict):
    sess = ort.InferenceSession(path, session_options(threads), providers=["CPUExecutionProvider"])
    return lambda: sess.run(None, feeds)[0]


def ov_runner(path: str, threads: int, feeds: dict, precision: str | None = "f32"):
    """OpenVINO on the CPU; ``precision`` None = its default (bf16 where the CPU has AVX512_BF16)."""
    import openvino as ov

    core = ov.Core()
    model = core.read_model(path)
    model.reshape({name: list(v.shape) for name, v in feeds.items()})
    config = {"INFERENCE_NUM_THREADS": threads, "PERFORMANCE_HINT": "LATENCY"}
    if precision:
        config["INFERENCE_PRECISION_HINT"] = precision
    compiled = core.compile_model(model, "CPU", config)
    request = compiled.create_infer_request()
    out = compiled.outputs[0]
    return lambda: request.infer(feeds)[out]


def race(runners: dict, repeats: int, pause: float = 0.1) -> dict[str, tuple[float, float]]:
    """Fastest wall and CPU seconds per runner over ``repeats`` rounds (after one warm-up).  The order
    rotates each round and ``pause`` seconds pass before each call: onnxruntime's pool threads spin
    for a while after a run and would otherwise slow whichever runner comes next (measured: the same
    file ran 12-20% slower when timed right after another onnxruntime session)."""
    for run in runners.values():
        run()
    best = {k: (float("inf"), float("inf")) for k in runners}
    keys = list(runners)
    for r in range(repeats):
        for k in keys[r % len(keys):] + keys[:r % len(keys)]:
            time.sleep(pause)
            c0, t0 = _cpu(), time.perf_counter()
            runners[k]()
            wall, cpu = time.perf_counter() - t0, _cpu() - c0
            if wall < best[k][0]:
                best[k] = (wall, cpu)
    return best


def _formatters(best: dict, outs: dict, reference: str):
    """Table cells: time (CPU time), ratio of a runner to the fastest of others, max |difference|."""
    def cell(k: str) -> str:
        return f"{best[k][0] * 1e3:.0f} ms ({best[k][1] * 1e3:.0f} cpu)" if k in best else "-"

    def ratio(a: str, *bs: str) -> str:
        bs = [b for b in bs if b in best]
        return f"{best[a][0] / min(best[b][0] for b in bs):.2f}" if a in best and bs else "-"

    def diff(k: str, against: str = reference) -> str:
        return f"{float(np.max(np.abs(outs[k] - outs[against]))):.2g}" if k in outs and against in outs else "-"

    return cell, ratio, diff


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=9)
    ap.add_argument("--size", type=int, default=512)
    ap.add_argument("--models", default=",".join(MODELS))
    ap.add_argument("--before", type=Path, help="a folder with the earlier files of the same names")
    ap.add_argument("--ort-only", action="store_true", help="skip OpenVINO (compare --before with now)")
    args = ap.parse_args()
    import openvino as ov

    print(f"onnxruntime {ort.__version__}, openvino {ov.__version__}, {args.threads} threads, "
          f"{args.size}x{args.size}, fastest of {args.repeats}; load average {os.getloadavg()}")
    image = _image(args.size)
    head = ("| model | ORT before | ORT now | OV f32 before | OV f32 now | OV default (bf16) | before: ORT/OV | "
            "now: ORT/OV f32 | now: ORT/OV default | ORT before/now | diff now-before | diff OV-f32 | diff OV-bf16 |")
    print(head)
    print("|" + " --- |" * (head.count("|") - 1))
    for name in args.models.split(","):
        path = resolve_model_path(name)
        before = str(args.before / f"{name}.onnx") if args.before else None
        names = [i.name for i in ort.InferenceSession(path, providers=["CPUExecutionProvider"]).get_inputs()]
        feeds = _feeds(names, image)
        runners = {}
        if before:
            runners["ort-before"] = ort_runner(before, args.threads, feeds)
        runners["ort"] = ort_runner(path, args.threads, feeds)
        if not args.ort_only:
            if before:
                runners["ov-before"] = ov_runner(before, args.threads, feeds)
            runners["ov"] = ov_runner(path, args.threads, feeds)
            runners["ov-bf16"] = ov_runner(path, args.threads, feeds, precision=None)
        outs = {k: run() for k, run in runners.items()}
        best = race(runners, args.repeats)

        cell, ratio, diff = _formatters(best, outs, "ort")
        print(f"| {name} | {cell('ort-before')} | {cell('ort')} | {cell('ov-before')} | {cell('ov')} | {cell('ov-bf16')} | "
              f"{ratio('ort-before', 'ov-before')} | {ratio('ort', 'ov')} | {ratio('ort', 'ov-bf16')} | "
              f"{ratio('ort-before', 'ort')} | {diff('ort-before')} | {diff('ov')} | {diff('ov-bf16')} |",
              flush=True)
    print(f"load average after: {os.getloadavg()}")


if __name__ == "__main__":
    main()
