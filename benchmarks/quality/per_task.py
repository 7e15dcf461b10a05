"""#32's table: per task, the best classical method, the learned float model and its int8 variant,
PSNR and CPU time side by side in one run, with a verdict per row.

    python benchmarks/quality/per_task.py [--shared ../shared] [--repeats 1] [--threads 2]
        [--colour-model runs/denoise-color/export.onnx] [--tasks gray colour sr jpeg deblur]

Data: Set12 (gray denoise, JPEG q10, deblur), scikit-image's colour photographs (256^2 centre
crops; colour denoise), Set5 with its MATLAB-bicubic LR files (SR x2/x3/x4, Y channel, shaved by
the scale).  Set12 and Set5 are research data, read from --shared (default $IMGEN_SHARED or
../shared), never copied.  Every method of a task runs in the same process, one after another on
each image, so the CPU times compare; the load average is printed beside them.

Verdict per row (task, level): the learned model "pays" when it is at least as good as the best
classical method at no more CPU time; "better, costlier" / "faster, worse" / "loses" otherwise.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import imgen
from imgen.bench import run
from imgen.bench.samples import builtin_samples

# task label -> (bench task, classical methods, learned float, learned int8 or None, levels)
TASKS = {
    "gray": ("denoise", ["bm3d", "wavelet"], "denoise-gray", "denoise-gray-int8", [15, 25, 50]),
    "colour": ("denoise", ["bm3d", "wavelet"], "denoise-gray", "denoise-gray-int8", [15, 25, 50]),
    "sr": ("sr", ["lanczos"], None, None, [2, 3, 4]),
    "jpeg": ("jpeg", ["bm3d"], "dejpeg-gray", "dejpeg-gray-int8", [10]),
    "deblur": ("deblur", ["wiener", "richardson_lucy"], "deblur-wiener-gray", "deblur-wiener-gray-int8", None),
}
SR_MODELS = {2: ("sr-x2", "sr-x2-int8"), 3: ("sr-x3", None), 4: ("sr-x4", None)}


def verdict(best: dict, row: dict | None) -> str:
    if row is None:
        return "–"
    dq, ratio = row["psnr"] - best["psnr"], row["cpu_s_per_mpix"] / max(best["cpu_s_per_mpix"], 1e-9)
    if dq >= 0 and ratio <= 1:
        return "**pays**"
    if dq >= 0:
        return "better, costlier"
    return "faster, worse" if ratio <= 1 else "loses"


def cell(row: dict | None) -> str:
    return "–" if row is None else f"{row['psnr']:.2f} dB, {row['cpu_s_per_mpix']:.2f} CPU s/MP"


def rows_of(result, kind: str, classical: list[str], learned: list[tuple[str, str]], task: str) -> list[str]:
    summary = [r for r in result.summary() if r["kind"] == kind]
    out = []
    for level in dict.fromkeys(r["level"] for r in summary):
        at = {r["method"]: r for r in summary if r["level"] == level}
        cands = [at[m] for m in classical if m in at]
        if not cands:
            continue
        best = max(cands, key=lambda r: r["psnr"])
        cells = [cell(at.get(name)) for _, name in learned]
        verdicts = [f"{label}: {verdict(best, at.get(name))}" for label, name in learned if name in at]
        out.append(f"| {task} | {level} | {best['method']}: {cell(best)} | " + " | ".join(cells)
                   + f" | {'; '.join(verdicts) or 'no learned model ships'} |")
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--shared", type=Path, default=Path(os.environ.get("IMGEN_SHARED", "../shared")))
    ap.add_argument("--repeats", type=int, default=1)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--colour-model", help="a colour (3-channel) candidate, run beside the shipped models")
    ap.add_argument("--tasks", nargs="+", default=list(TASKS), choices=list(TASKS))
    args = ap.parse_args()
    set12, set5 = args.shared / "data" / "set12", args.shared / "data" / "set5_sr"
    print(f"# {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, load average {os.getloadavg()}", flush=True)
    extra = ["colour candidate"] if args.colour_model else []
    print("| task | level | classical best | learned float | learned int8 | " + "".join(f"{e} | " for e in extra)
          + "verdict |")
    print("|---|---|---|---|---|" + "---|" * len(extra) + "---|")
    common = dict(repeats=args.repeats, threads=args.threads, progress=False)
    for label in args.tasks:
        task, classical, flt, q8, levels = TASKS[label]
        t0 = time.monotonic()
        if label == "sr":
            for scale in levels:
                folder = set5 / f"image_SRF_{scale}"
                f, q = SR_MODELS[scale]
                res = run(task="sr", images=folder, lr_dir=folder, levels=[scale], methods=classical,
                          models=[m for m in (f, q) if m], **common)
                sr_learned = [("float", f), ("int8", q or "")] + [("colour candidate", "")] * bool(args.colour_model)
                for line in rows_of(res, "color", classical, sr_learned, f"SR x{scale} (Y)"):
                    print(line, flush=True)
            continue
        models = [m for m in (flt, q8) if m]
        learned = [("float", flt or ""), ("int8", q8 or "")]
        if args.colour_model:  # its column: run on colour photos, "–" elsewhere
            # the bench names a model by its imgen.name, whatever the file is called
            learned.append(("colour candidate", imgen.load(args.colour_model, providers=["cpu"]).name
                            if label == "colour" else ""))
        if label == "colour":
            samples = [s for s in builtin_samples() if s.is_color]
            if args.colour_model:
                models.append(args.colour_model)
            res = run(task=task, images=samples, crop=256, levels=levels, methods=classical, models=models, **common)
            kind = "color"
        else:
            res = run(task=task, images=set12, levels=levels, methods=classical, models=models, **common)
            kind = "gray"
        name = {"gray": "gray denoise (Set12)", "colour": "colour denoise (photos 256²)",
                "jpeg": "JPEG (Set12)", "deblur": "deblur (Set12, σ 2.55)"}[label]
        for line in rows_of(res, kind, classical, learned, name):
            print(line, flush=True)
        print(f"<!-- {label}: {time.monotonic() - t0:.0f} s, load {os.getloadavg()} -->", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
