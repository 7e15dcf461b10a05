"""``imgen denoise INPUT... -o OUT``: classical (BM3D, wavelet) or learned denoising of files."""
from __future__ import annotations

import argparse

import numpy as np

from ..errors import ImgenError
from ..imageio import plan_outputs
from ._batch import run_files
from .run import add_io_arguments, sigma_for

METHODS = ("bm3d", "wavelet")


def add_parser(sub) -> None:
    p = sub.add_parser(
        "denoise", help="denoise images with BM3D, wavelet shrinkage or a learned model",
        description="Denoise image files and folders (same file handling as `imgen run`: recursive, "
                    "atomic writes, inputs never overwritten, failures listed, exit status 1 on failure).")
    add_io_arguments(p)
    how = p.add_mutually_exclusive_group()
    how.add_argument("--method", choices=METHODS, help="a classical denoiser (default: bm3d)")
    how.add_argument("--model", help="a learned denoiser: an .onnx file or a shipped model name")
    p.add_argument("--sigma", type=float, help="noise standard deviation on the 0-255 scale whatever the "
                                               "file's bit depth (default: estimated per image)")
    p.add_argument("--stage", choices=("both", "hard"), default="both", help="BM3D: both stages or the hard-threshold one")
    p.add_argument("--wavelet", default="db1", help="wavelet: basis (db1..db8, sym2..sym8, bior1.5, haar)")
    p.add_argument("--levels", type=int, help="wavelet: decomposition levels (default: as scikit-image)")
    p.add_argument("--threshold", choices=("bayes", "visu"), default="bayes", help="wavelet: BayesShrink or VisuShrink")
    p.add_argument("--mode", choices=("soft", "hard"), default="soft", help="wavelet: soft or hard thresholding")
    p.add_argument("--shifts", type=int, default=1, help="wavelet: cycle-spinning shifts (translation invariance)")
    p.add_argument("--threads", type=int, help="threads (default: all cores)")
    p.set_defaults(func=main)


def _classical(args: argparse.Namespace):
    from .. import denoise

    if args.method == "wavelet":
        def fn(img, sigma):
            return denoise.wavelet(img, sigma=sigma, wavelet=args.wavelet, levels=args.levels,
                                   method=args.threshold, mode=args.mode, shifts=args.shifts)
    else:
        def fn(img, sigma):
            return denoise.bm3d(img, sigma=sigma, stage=args.stage)
    return fn


def _rgb_view(img: np.ndarray):
    """(RGB or gray image to denoise, alpha or None) from an OpenCV BGR(A) image."""
    if img.ndim == 2 or img.shape[2] == 1:
        return img, None
    alpha = img[..., 3] if img.shape[2] == 4 else None
    return np.ascontiguousarray(img[..., 2::-1]), alpha


def _bgr(out: np.ndarray, alpha: np.ndarray | None) -> np.ndarray:
    if out.ndim == 2 or out.shape[2] == 1:
        return out
    bgr = out[..., ::-1]
    if alpha is not None:
        bgr = np.dstack([bgr, alpha])
    return np.ascontiguousarray(bgr)


def main(args: argparse.Namespace) -> int:
    if args.sigma is not None and not args.sigma >= 0:
        raise ImgenError(f"--sigma must be >= 0, got {args.sigma}")
    if args.threads is not None:
        from .. import set_num_threads

        set_num_threads(args.threads)
    jobs, problems = plan_outputs(args.inputs, args.output, args.ext)
    if args.model:
        from ..engine import load

        model = load(args.model, threads=args.threads)
        if model.info.task not in ("denoise", "restore"):
            raise ImgenError(f"{args.model} is a {model.info.task} model, not a denoiser")
        if args.sigma is not None and model.info.noise_input is None:
            raise ImgenError(f"--sigma given, but model {model.name} has no noise-level input")

        def process(images):
            kwargs = {}
            if model.info.noise_input is not None and args.sigma is not None:
                kwargs["sigma"] = [sigma_for(img, args.sigma) for img in images]
            return model(images, color_order="bgr", convert_channels=True, **kwargs)

        desc = model.name
    else:
        args.method = args.method or "bm3d"
        fn = _classical(args)

        def process(images):
            outs = []
            for img in images:
                work, alpha = _rgb_view(img)
                outs.append(_bgr(fn(work, sigma_for(img, args.sigma)), alpha))
            return outs

        desc = args.method
    summary = run_files(jobs, process, chunk=1 if not args.model else 8, desc=desc, quiet=args.quiet)
    return summary.report(problems)
