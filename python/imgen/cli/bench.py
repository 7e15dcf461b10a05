"""``imgen bench``: classical-vs-learned benchmark of a restoration task (denoise, sr, deblur, jpeg)
over a grid of methods x levels x images."""
from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path

from ..errors import ImgenError


def add_parser(sub) -> None:
    p = sub.add_parser(
        "bench", help="classical-vs-learned restoration benchmark (denoise, sr, deblur, jpeg)",
        description="Degrade a set of images (noise by default; --task sr|deblur|jpeg), restore them with "
                    "imgen's classical and learned methods and the peers that are installed; report PSNR/SSIM and time, and write "
                    "CSV, JSON, a PSNR-vs-time chart, a crop sheet and a self-contained HTML report "
                    "(index.html).  With no options it runs on centre 256x256 crops of scikit-image's "
                    "bundled photographs at sigma 15, 25, 50.")
    p.add_argument("--task", default="denoise", choices=list(bench_tasks()),
                   help="what to restore (default: denoise): sr (MATLAB-bicubic downscaling), deblur (fixed "
                        "kernels + noise sigma 2.55), jpeg (real JPEG round trips)")
    p.add_argument("--images", help="a folder of clean images (default: scikit-image's bundled photographs)")
    p.add_argument("--lr-dir", help="--task sr: a folder of low-resolution files paired with --images by name "
                                    "(X_HR.png with X_LR.png, else the same name) instead of downscaling")
    p.add_argument("--methods", nargs="+", help="classical/peer methods of the task (default: all that are "
                                                "installed); denoise: bm3d wavelet wavelet-ti opencv-nlm "
                                                "skimage-wavelet skimage-nlm bm3d-ref; sr: lanczos; deblur: wiener "
                                                "richardson_lucy; jpeg: bm3d")
    p.add_argument("--models", nargs="*", help="learned models by name or path (default: the shipped ones of the task)")
    p.add_argument("--sigmas", nargs="+", type=float, help="--task denoise: noise levels, 0-255 scale (default: 15 25 50)")
    p.add_argument("--scale", nargs="+", type=int, help="--task sr: scale factors (default: 2)")
    p.add_argument("--quality", nargs="+", type=int, help="--task jpeg: JPEG qualities (default: 10)")
    p.add_argument("--kernels", nargs="+", help="--task deblur: kernel names (default: all of "
                                                "imgen.degrade.fixed_kernels)")
    p.add_argument("--masks", nargs="+", help="--task inpaint: mask kinds and coverage bands (default: strokes5-15 "
                                              "strokes15-30 boxes5-15 boxes15-30)")
    p.add_argument("--out", default="bench-out", help="folder for the CSV, JSON and PNG files")
    p.add_argument("--threads", type=int, help="threads for imgen, OpenCV and onnxruntime (default: all cores)")
    p.add_argument("--repeats", type=int, default=3, help="timed runs per image and method, median "
                                                         "(fewer once they add up to a second)")
    p.add_argument("--seed", type=int, default=0, help="noise seed (default_rng(seed) per image)")
    p.add_argument("--quantize", action="store_true", help="round noisy inputs to 8 bits")
    p.add_argument("--shave", type=int, default=0, help="border pixels left out of the scores (--task sr: "
                                                          "the scale, with --y-channel, unless given)")
    p.add_argument("--y-channel", action="store_true", help="score colour images on BT.601 luma (--task sr: always)")
    p.add_argument("--crop", type=int, help="centre-crop every image to this size (default: 256 for the "
                                             "bundled photographs, none for --images)")
    p.add_argument("--report", metavar="DIR", help="run nothing: rebuild DIR/index.html from an earlier run's "
                                                   "DIR/bench.json (and its crops, report-crops.npz)")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=main)


# Options that change what a run measures, in the order the command line given back lists them.
_RUN_OPTIONS = ("task", "images", "lr_dir", "methods", "models", "sigmas", "scale", "quality", "kernels", "masks", "threads", "repeats", "seed", "quantize", "shave",
                "y_channel", "crop")


def command_line(args: argparse.Namespace, config: dict | None = None) -> str:
    """The run as one command line, defaults spelled out: what the report shows to repeat it.

    config: the run's (BenchResult.config): the values the options left to their defaults took
    there -- the task's levels, the thread count, the crop of the bundled photographs."""
    parts = ["imgen", "bench"]
    config = config or {}
    taken = {"threads": config.get("threads"), "crop": config.get("crop")}
    own = LEVEL_OPTIONS.get(args.task)
    if own and config.get("levels"):
        taken[own] = list(config["levels"])
    for name in _RUN_OPTIONS:
        value = getattr(args, name)
        if value is None and taken.get(name) is not None:
            value = taken[name]
        flag = "--" + name.replace("_", "-")
        if value is None or value is False or (name == "task" and value == "denoise"):
            continue
        if value is True:
            parts.append(flag)
        elif isinstance(value, list):
            parts += [flag] + [f"{v:g}" if isinstance(v, float) else str(v) for v in value]
        else:
            parts += [flag, str(value)]
    return shlex.join(parts)


def bench_tasks() -> tuple[str, ...]:
    from ..bench.tasks import TASKS

    return tuple(TASKS)


# The option that holds each task's levels (the others must not be given with it).
LEVEL_OPTIONS = {"denoise": "sigmas", "sr": "scale", "jpeg": "quality", "deblur": "kernels", "inpaint": "masks"}


def levels_of(args: argparse.Namespace) -> list | None:
    """The grid of ``--task``'s levels from its option; ImgenError for another task's option."""
    own = LEVEL_OPTIONS.get(args.task)
    for task, name in LEVEL_OPTIONS.items():
        if name != own and getattr(args, name) is not None:
            flag = "--" + name
            raise ImgenError(f"{flag} is for --task {task}, not --task {args.task}")
    return getattr(args, own) if own else None


def rebuild_report(folder: str) -> int:
    from ..bench import html

    try:
        page, note = html.write_from_folder(folder)
    except ValueError as e:
        raise ImgenError(str(e)) from e
    if note:
        print(f"imgen: {note}", file=sys.stderr)
    print(f"wrote {page}", file=sys.stderr)
    return 0


def main(args: argparse.Namespace) -> int:
    if args.report is not None:
        return rebuild_report(args.report)
    from ..bench import Protocol, gallery, html, report, run

    out = Path(args.out)
    try:
        protocol = Protocol(seed=args.seed, quantize=args.quantize, shave=args.shave, y_channel=args.y_channel)
        result = run(task=args.task, images=args.images, lr_dir=args.lr_dir, methods=args.methods,
                     models=args.models, levels=levels_of(args), protocol=protocol, crop=args.crop,
                     repeats=args.repeats, threads=args.threads, keep_outputs=True, progress=not args.quiet)
    except (ValueError, ImportError) as e:
        raise ImgenError(str(e)) from e
    result.config["command"] = command_line(args, result.config)
    print(report.format_table(result))
    out.mkdir(parents=True, exist_ok=True)
    report.write_csv(result, out / "bench.csv")
    report.write_json(result, out / "bench.json")
    note = report.write_chart(result, out / "psnr_vs_time.png")
    report.write_crops(result, out / "crops.png")
    crops = gallery.crops_from_result(result)
    gallery.save(out / html.CROPS_FILE, crops)
    html.write(out / "index.html", report.document(result), crops)
    if note:
        print(note, file=sys.stderr)
    print(f"wrote {out / 'index.html'} (open it in a browser), {out / 'bench.csv'}, {out / 'bench.json'}, "
          f"{out / 'psnr_vs_time.png'}, {out / 'crops.png'}", file=sys.stderr)
    if result.failures:
        failed = sorted({f["method"] for f in result.failures})
        print(f"imgen: {len(result.failures)} run(s) failed ({', '.join(failed)}); the others are in the report",
              file=sys.stderr)
        return 1
    return 0
