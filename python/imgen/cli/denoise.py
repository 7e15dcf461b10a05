"""``imgen denoise INPUT... -o OUT``: classical (BM3D, wavelet) or learned denoising of files."""
from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path

from ..imageio import IMAGE_EXTENSIONS, plan_outputs
from ..denoise import WAVELETS
from ..processors import METHODS, MODES, STAGES, THRESHOLDS, FrameProcessor, ProcessorOptions
from ..restoration import METHODS as TASK_METHODS
from ..restoration import TASKS
from ._args import add_info_argument, positive_float, positive_int, sigma_255, thread_count
from ..batch import Summary, run_files, skip_done
from ._distributed import add_ray_arguments, add_resume_argument, check_ray_arguments
from ._report import print_summary
from .run import add_io_arguments


def add_parser(sub) -> None:
    p = sub.add_parser(
        "denoise", help="denoise images with BM3D, wavelet shrinkage or a learned model",
        description="Denoise image files and folders (same file handling as `imgen run`: recursive, "
                    "atomic writes, inputs never overwritten, failures listed, exit status 1 on failure).")
    add_io_arguments(p)
    add_method_arguments(p, required=False)
    p.add_argument("--threads", type=thread_count,
                   help="threads (default: all cores; with --ray see --cpus-per-worker)")
    add_resume_argument(p)
    add_ray_arguments(p, "BM3D is the slow one worth spreading out: each worker denoises one file at a time "
                         "(a learned --model gets batches of 8, as locally).")
    p.set_defaults(func=main)


def add_method_arguments(p: argparse.ArgumentParser, *, required: bool, tasks: bool = False) -> None:
    """--method/--model, --sigma and the classical denoisers' options (shared with `imgen video`);
    with ``tasks``, also --task and the restoration tasks' options (`imgen restore`, `imgen video`)."""
    how = p.add_mutually_exclusive_group(required=required)
    methods = METHODS if tasks else TASK_METHODS["denoise"]
    how.add_argument("--method", choices=methods,
                     help=("a classical method: " + "; ".join(f"{t}: {', '.join(m)}" for t, m in TASK_METHODS.items())
                           if tasks else "a classical denoiser") + ("" if required else " (default: the task's first)"))
    how.add_argument("--model", help="a learned model: an .onnx file or a shipped model name")
    add_info_argument(p)
    p.add_argument("--sigma", type=sigma_255,
                   help="noise standard deviation on the 0-255 scale whatever the file's bit depth (default: "
                        "estimated per image)")
    p.add_argument("--stage", choices=STAGES, default="both", help="BM3D: both stages or the hard-threshold one")
    p.add_argument("--wavelet", default="db1", choices=WAVELETS, metavar="NAME",
                   help=f"wavelet: basis, one of {', '.join(WAVELETS)} (default db1)")
    p.add_argument("--levels", type=positive_int, help="wavelet: decomposition levels (default: as scikit-image)")
    p.add_argument("--threshold", choices=THRESHOLDS, default="bayes", help="wavelet: BayesShrink or VisuShrink")
    p.add_argument("--mode", choices=MODES, default="soft", help="wavelet: soft or hard thresholding")
    p.add_argument("--shifts", type=positive_int, default=1,
                   help="wavelet: cycle-spinning shifts (translation invariance)")
    if tasks:
        add_task_arguments(p)


def add_task_arguments(p: argparse.ArgumentParser) -> None:
    """--task and what the restoration tasks need: --scale, --kernel, --quality, --balance, --iterations."""
    p.add_argument("--task", choices=TASKS, default="denoise", help="what to restore (default: denoise)")
    p.add_argument("--scale", type=positive_int, help="sr: the enlargement factor (classical methods need it; "
                                                      "checked against a model's)")
    p.add_argument("--kernel", help="deblur: the known blur kernel, a fixed kernel's name (gauss1.6, gauss3, "
                                    "motion19, motion25) or a .npy file holding a 2-D array")
    p.add_argument("--quality", type=positive_int, help="jpeg: the quality the images were saved at (sets BM3D's "
                                                        "sigma; default: read from each JPEG file's quantisation "
                                                        "tables, else sigma estimated per image).  --task jpeg "
                                                        "writes PNG unless --ext or -o says otherwise")
    p.add_argument("--balance", type=positive_float, default=0.01, help="deblur, wiener: regularisation (default 0.01)")
    p.add_argument("--iterations", type=positive_int, default=30,
                   help="deblur, richardson_lucy: iterations (default 30)")


def _kernel(text: str | None):
    """--kernel: a fixed kernel's name as is, or a .npy file's 2-D array."""
    if text is None or not text.endswith(".npy"):
        return text
    import numpy as np

    from ..errors import ImgenError

    try:
        return np.load(text, allow_pickle=False)
    except (OSError, ValueError) as e:
        raise ImgenError(f"--kernel {text}: cannot read a 2-D array from it ({e})") from None

def processor_options(args: argparse.Namespace, *, color_order: str) -> ProcessorOptions:
    """ProcessorOptions from the arguments of :func:`add_method_arguments` (+ --tile etc. if present)."""
    task = getattr(args, "task", "denoise")
    return ProcessorOptions(
        model=args.model, method=None if args.model else (args.method or TASK_METHODS[task][0]), sigma=args.sigma,
        tile=getattr(args, "tile", None), overlap=getattr(args, "overlap", None),
        batch_size=getattr(args, "batch_size", None), info=tuple(args.info),
        providers=getattr(args, "providers", None), threads=args.threads, stage=args.stage,
        wavelet=args.wavelet, levels=args.levels, threshold=args.threshold, mode=args.mode,
        shifts=args.shifts, color_order=color_order, task=task, scale=getattr(args, "scale", None),
        kernel=_kernel(getattr(args, "kernel", None)), quality=getattr(args, "quality", None),
        balance=getattr(args, "balance", 0.01), iterations=getattr(args, "iterations", 30),
        whole_pixels=getattr(args, "whole_pixels", None),
    )


def main(args: argparse.Namespace) -> int:
    """`imgen denoise` and `imgen restore`: the options, then the folder run of `imgen run`."""
    check_ray_arguments(args)
    options = processor_options(args, color_order="bgr")
    if args.ray is not None:
        from ._distributed import run_on_ray

        if args.model:
            _check_denoiser(args, threads=1)
        return run_on_ray(args, options, batch_size=_chunk(args))
    if args.threads is not None:
        from .. import set_num_threads

        set_num_threads(args.threads)
    jpeg = options.task == "jpeg"
    ext = args.ext
    if jpeg and ext is None and Path(args.output).suffix.lower() not in IMAGE_EXTENSIONS:
        ext = ".png"  # a restored JPEG written as JPEG again gets artefacts of its own
    jobs, problems = plan_outputs(args.inputs, args.output, ext)
    skipped = 0
    if args.resume:
        jobs, skipped = skip_done(jobs)
    model = _check_denoiser(args, threads=args.threads) if args.model else None
    summary, notes = Summary(), set()
    for quality, group in _by_quality(jobs, options, notes):
        opts = options if quality == options.quality else dataclasses.replace(options, quality=quality)
        process = FrameProcessor(opts, model=model)
        part = run_files(group, process, chunk=_chunk(args), desc=process.name, quiet=args.quiet,
                         max_pixels=args.max_pixels)
        summary.merge(part)
        summary.notes.update(process.notes)
    summary.notes.update(notes)
    if jpeg:
        _note_jpeg_outputs(jobs, ext, args.ext, summary.notes)
    summary.skipped = skipped
    return print_summary(summary, problems)


def _by_quality(jobs, options: ProcessorOptions, notes: set[str]):
    """(quality, jobs) groups for one run each: --task jpeg with BM3D and no --quality takes each
    file's quality from its quantisation tables (restoration.estimate_quality), noted; otherwise
    one group at the options' quality."""
    if options.task != "jpeg" or options.model is not None or options.quality is not None or options.sigma is not None:
        return [(options.quality, jobs)]
    from ..restoration.jpeg import estimate_quality, jpeg_sigma

    groups: dict[int | None, list] = {}
    found: dict[int | None, bool] = {}
    for job in jobs:
        got = estimate_quality(job.source)
        q = None if got is None else got[0]
        groups.setdefault(q, []).append(job)
        found[q] = found.get(q, True) and (got is None or got[1])
    for q, group in groups.items():
        files = f"{len(group)} file(s)"
        if q is None:
            notes.add(f"no JPEG quantisation tables in {files}: BM3D's sigma estimated from the image")
        else:
            how = "" if found[q] else " (the nearest: the tables are not libjpeg's scaled standard ones)"
            notes.add(f"JPEG quality {q} estimated from the quantisation tables of {files}{how}: BM3D sigma "
                      f"{jpeg_sigma(q) * 255:.1f}/255 (--quality sets it)")
    return sorted(groups.items(), key=lambda item: -1 if item[0] is None else item[0])


def _note_jpeg_outputs(jobs, ext: str | None, asked: str | None, notes: set[str]) -> None:
    """Say what format --task jpeg wrote: PNG unless asked otherwise, and JPEG's own cost if asked."""
    suffixes = {job.target.suffix.lower() for job in jobs}
    if ext == ".png" and asked is None:
        notes.add("outputs written as PNG (lossless): written as JPEG again they would get artefacts of their "
                  "own; --ext .jpg writes JPEG (quality 95)")
    if suffixes & {".jpg", ".jpeg"}:
        notes.add("outputs written as JPEG at quality 95 (OpenCV's default), which adds artefacts of its own; "
                  "--ext .png writes losslessly")


def _chunk(args: argparse.Namespace) -> int:
    """Files per model call: 8 for a learned model, 1 for a classical method (one image at a time)."""
    return 8 if args.model else 1


def _check_denoiser(args: argparse.Namespace, *, threads: int | None):
    """The model opened as a denoiser (ModelError naming what was expected if it is not one)."""
    from ..engine import Model
    from ..image_model import ImageModel

    model = Model.open(args.model, threads=threads, metadata=dict(args.info))
    task = getattr(args, "task", None) or "denoise"  # imgen restore --task sr|deblur|jpeg: models of that task too
    tasks = ("denoise", "restore") + ((task,) if task != "denoise" else ())
    return ImageModel.adopt(model, f"imgen {getattr(args, 'command', 'denoise')}", tasks=tasks)
