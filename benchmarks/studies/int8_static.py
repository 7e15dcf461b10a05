"""Static (calibrated, QDQ) int8 quantisation of a gray denoiser: speed and Set12 PSNR against fp32.

Superseded (#32): imgen_train.quantize (imgen export --int8) and benchmarks/speed/int8_quality.py; this
script keeps the calibration that lost 5 dB (sigma 0-75, Conv only; docs/models.md says why).

    PYTHONPATH=python python benchmarks/studies/int8_static.py [--model denoise-gray] [--calibration minmax]
        [--shared ../shared] [--out int8.onnx]

Calibrates on 64 noisy 128x128 patches of train400 (sigma uniform in 0-75; never Set12), quantises
every Conv (per-channel int8 weights, uint8 activations) with onnxruntime.quantization, then times
both models at 512x512 (fastest of 8 alternating runs, 1 and 2 threads) and measures Set12 PSNR
at sigma 15/25/50 with the protocol of docs/models.md.
"""
from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np
import onnxruntime as ort
from onnxruntime.quantization import CalibrationDataReader, CalibrationMethod, QuantFormat, QuantType, quantize_static
from onnxruntime.quantization.shape_inference import quant_pre_process

from imgen.engine import resolve_model_path

METHODS = {"minmax": CalibrationMethod.MinMax, "entropy": CalibrationMethod.Entropy,
           "percentile": CalibrationMethod.Percentile}


class NoisyPatches(CalibrationDataReader):
    def __init__(self, files: list[Path], count: int = 64, size: int = 128, seed: int = 1):
        rng = np.random.default_rng(seed)
        self._feeds = []
        for _ in range(count):
            img = cv2.imread(str(files[rng.integers(len(files))]), cv2.IMREAD_GRAYSCALE).astype(np.float32) / 255
            y, x = rng.integers(0, np.array(img.shape) - size + 1)
            patch = img[y:y + size, x:x + size]
            s = rng.uniform(0, 75) / 255
            noisy = (patch + rng.normal(0, s, patch.shape)).astype(np.float32)
            self._feeds.append({"image": noisy[None, None], "sigma": np.full((1, 1, 1, 1), s, np.float32)})
        self._it = iter(self._feeds)

    def get_next(self):
        return next(self._it, None)


def session(path: str, threads: int) -> ort.InferenceSession:
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads
    opts.inter_op_num_threads = 1
    return ort.InferenceSession(path, opts, providers=["CPUExecutionProvider"])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default="denoise-gray")
    ap.add_argument("--calibration", choices=sorted(METHODS), default="minmax")
    ap.add_argument("--shared", default=os.environ.get("IMGEN_SHARED", "../shared"))
    ap.add_argument("--out", default=None, help="keep the int8 model here")
    args = ap.parse_args()
    shared = Path(args.shared)
    train = sorted((shared / "data/train400").glob("*.png"))[:392]  # the last 8 are validation
    set12 = sorted((shared / "data/set12").glob("*.png"))
    if not train or not set12:
        raise SystemExit(f"needs {shared}/data/train400 and {shared}/data/set12 (--shared)")
    fp32 = resolve_model_path(args.model)
    with tempfile.TemporaryDirectory() as tmp:
        pre = os.path.join(tmp, "pre.onnx")
        int8 = args.out or os.path.join(tmp, "int8.onnx")
        quant_pre_process(fp32, pre)
        quantize_static(pre, int8, NoisyPatches(train), quant_format=QuantFormat.QDQ, per_channel=True,
                        activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8,
                        calibrate_method=METHODS[args.calibration], op_types_to_quantize=["Conv"])
        paths = {"fp32": fp32, "int8": int8}
        x = np.random.default_rng(0).random((1, 1, 512, 512), np.float32)
        s = np.full((1, 1, 1, 1), 25 / 255, np.float32)
        for threads in (1, 2):
            sessions = {k: session(p, threads) for k, p in paths.items()}
            best = dict.fromkeys(sessions, float("inf"))
            for _ in range(8):
                for k, sess in sessions.items():
                    t0 = time.perf_counter()
                    sess.run(None, {"image": x, "sigma": s})
                    best[k] = min(best[k], time.perf_counter() - t0)
            print(f"512x512, {threads} thread(s): " + ", ".join(f"{k} {v * 1e3:.1f} ms" for k, v in best.items())
                  + f"; int8 speed-up {best['fp32'] / best['int8']:.2f}x")
        sessions = {k: session(p, 2) for k, p in paths.items()}
        for sigma in (15, 25, 50):
            psnr = dict.fromkeys(sessions, 0.0)
            for f in set12:
                clean = cv2.imread(str(f), cv2.IMREAD_GRAYSCALE).astype(np.float32) / 255
                noisy = (clean + np.random.default_rng(0).normal(0, sigma / 255, clean.shape)).astype(np.float32)
                feeds = {"image": noisy[None, None], "sigma": np.full((1, 1, 1, 1), sigma / 255, np.float32)}
                for k, sess in sessions.items():
                    out = np.clip(sess.run(None, feeds)[0][0, 0], 0, 1).astype(np.float64)
                    psnr[k] += 10 * np.log10(1 / np.mean((out - clean) ** 2)) / len(set12)
            print(f"Set12 sigma {sigma}: " + ", ".join(f"{k} {v:.3f} dB" for k, v in psnr.items()))


if __name__ == "__main__":
    main()
