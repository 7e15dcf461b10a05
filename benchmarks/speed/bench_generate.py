"""Generation throughput (images/s) of generate/decode models through onnxruntime on the CPU.

    PYTHONPATH=python python benchmarks/speed/bench_generate.py faces-dcgan faces-vae-decoder --batches 1 64

For each model and batch size: ``imgen.generate(model, n, batch_size=b)`` end to end (latents from
numpy, onnxruntime, conversion to uint8 images), n = max(64, 4 b) images per run, one warm-up
run, then the median of --repeats runs.  --threads sets onnxruntime's intra-op threads.
"""
from __future__ import annotations

import argparse
import statistics
import time

import imgen


def throughput(model: imgen.Model, batch: int, repeats: int) -> float:
    n = max(64, 4 * batch)
    imgen.generate(model, n, seed=0, batch_size=batch)
    times = []
    for k in range(repeats):
        t = time.perf_counter()
        imgen.generate(model, n, seed=k, batch_size=batch)
        times.append(time.perf_counter() - t)
    return n / statistics.median(times)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("models", nargs="+", help="generate/decode models (.onnx or shipped names)")
    p.add_argument("--batches", type=int, nargs="+", default=[1, 64])
    p.add_argument("--repeats", type=int, default=7)
    p.add_argument("--threads", type=int, help="onnxruntime threads (default: all cores)")
    args = p.parse_args(argv)
    print("| model | output | " + " | ".join(f"batch {b}" for b in args.batches) + " |")
    print("| --- | --- | " + " | ".join("---" for _ in args.batches) + " |")
    for name in args.models:
        model = imgen.load(name, providers=["cpu"], threads=args.threads)
        shape = imgen.generate(model, 1).shape[1:]
        rates = [throughput(model, b, args.repeats) for b in args.batches]
        print(f"| {model.name} | {shape[1]}x{shape[0]}x{shape[2]} uint8 | "
              + " | ".join(f"{r:,.0f} images/s" for r in rates) + " |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
