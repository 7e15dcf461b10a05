"""int8 against float for an imgen model: quality on its test set and speed at 512x512, side by side.

    PYTHONPATH=python:export python benchmarks/speed/int8_quality.py FLOAT.onnx INT8.onnx [INT8b.onnx ...]
        [--sigmas 15,25,50] [--threads 2] [--repeats 7] [--no-speed] [--shared DIR]

Quality, by the model's task (imgen.task): a denoiser on Set12 with Gaussian noise (numpy seed 0
per image, as docs/models.md) at each sigma, the true sigma fed; dejpeg on Set12 JPEG round trips
at quality 10/20/30/40; SR on Set12 bicubic-downscaled (cv2 INTER_CUBIC) by the model's scale, PSNR
on the whole image.  Mean PSNR per file and the loss against the first file are printed.
Speed: the files alternate call by call on one 512x512 input (2 threads, imgen's session options),
fastest of --repeats, wall and process-CPU ms, and the speed-up over the first file.  The load
average is printed: the machine is shared, compare ratios.
"""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import cv2
import numpy as np
import onnxruntime as ort

from imgen._runtime import session_options

sys.path.insert(0, str(Path(__file__).parent))
from ort_vs_openvino import _image, race  # noqa: E402


def _session(path: str, threads: int) -> ort.InferenceSession:
    return ort.InferenceSession(path, session_options(threads), providers=["CPUExecutionProvider"])


def _psnr(a: np.ndarray, b: np.ndarray) -> float:
    return float(10 * np.log10(1 / np.mean((np.clip(a, 0, 1).astype(np.float64) - b) ** 2)))


def cases(task: str, scale: int, sigmas: list[int], set12: list[Path]):
    """(label, [(feeds-without-names: image, sigma or None, clean)]) per condition."""
    images = [cv2.imread(str(f), cv2.IMREAD_GRAYSCALE).astype(np.float32) / 255 for f in set12]
    if task == "jpeg":
        from imgen_train.quantize import _jpeg

        for q in (10, 20, 30, 40):
            yield f"q{q}", [(_jpeg(c, q), None, c) for c in images]
    elif task == "sr":
        out = []
        for c in images:
            h, w = c.shape[0] // scale * scale, c.shape[1] // scale * scale
            c = c[:h, :w]
            out.append((cv2.resize(c, (w // scale, h // scale), interpolation=cv2.INTER_CUBIC), None, c))
        yield f"x{scale}", out
    else:
        for s in sigmas:
            out = []
            for c in images:
                noisy = (c + np.random.default_rng(0).normal(0, s / 255, c.shape)).astype(np.float32)
                out.append((noisy, s / 255, c))
            yield f"sigma {s}", out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("models", nargs="+")
    ap.add_argument("--sigmas", default="15,25,50")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=7)
    ap.add_argument("--no-speed", action="store_true")
    ap.add_argument("--shared", default=os.environ.get("IMGEN_SHARED", "../shared"))
    args = ap.parse_args()
    set12 = sorted((Path(args.shared) / "data/set12").glob("*.png"))
    if not set12:
        raise SystemExit(f"needs {args.shared}/data/set12")
    sessions = {m: _session(m, args.threads) for m in args.models}
    first = sessions[args.models[0]]
    meta = first.get_modelmeta().custom_metadata_map
    task, scale = meta.get("imgen.task", "denoise"), int(meta.get("imgen.scale", "1"))
    names = [i.name for i in first.get_inputs()]
    mult = int(meta.get("imgen.size_multiple", "1"))
    print(f"load average {os.getloadavg()}; task {task}; onnxruntime {ort.__version__}")
    for label, items in cases(task, scale, [int(s) for s in args.sigmas.split(",")], set12):
        psnr = {}
        for m, sess in sessions.items():
            total = 0.0
            for image, sigma, clean in items:
                h, w = image.shape[0] // mult * mult, image.shape[1] // mult * mult
                feeds = {names[0]: image[None, None, :h, :w]}
                if len(names) > 1:
                    feeds[names[1]] = np.full((1, 1, 1, 1), sigma, np.float32)
                out = sess.run(None, feeds)[0][0, 0]
                total += _psnr(out, clean[:out.shape[0], :out.shape[1]])
            psnr[m] = total / len(items)
        ref = psnr[args.models[0]]
        print(f"{label}: " + "; ".join(f"{Path(m).name} {v:.3f} dB ({v - ref:+.3f})" for m, v in psnr.items()),
              flush=True)
    if args.no_speed:
        return
    image = _image(512)
    feeds = {names[0]: image}
    if len(names) > 1:
        feeds[names[1]] = np.full((1, 1, 1, 1), 25 / 255, np.float32)
    runners = {m: (lambda s=s: s.run(None, feeds)) for m, s in sessions.items()}
    best = race(runners, args.repeats)
    base = best[args.models[0]][0]
    print(f"512x512, {args.threads} threads, fastest of {args.repeats}: " + "; ".join(
        f"{Path(m).name} {w * 1e3:.0f} ms (cpu {c * 1e3:.0f}) speed-up {base / w:.2f}x" for m, (w, c) in best.items()))
    print(f"load average after {os.getloadavg()}")


if __name__ == "__main__":
    main()
