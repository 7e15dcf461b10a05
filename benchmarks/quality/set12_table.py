"""Run imgen bench on Set12 (and the colour samples) and write the published result table.

    python benchmarks/quality/set12_table.py [--shared ../shared] [--out docs/benchmark-results.md] [--repeats 1]

Set12 is research data: it is read from --shared (default $IMGEN_SHARED or ../shared), never copied.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

from imgen.bench import run
from imgen.bench.samples import builtin_samples

# Mean PSNR (dB) on Set12 reported by the papers (gray, AWGN sigma 15 / 25 / 50).
PUBLISHED = {
    "BM3D (Dabov et al. 2007)": {15: 32.37, 25: 29.97, 50: 26.72},
    "DnCNN-S (Zhang et al. 2017)": {15: 32.86, 25: 30.44, 50: 27.18},
    "FFDNet (Zhang et al. 2018)": {15: 32.75, 25: 30.43, 50: 27.32},
}


def table(result, sigmas, kind, published=None) -> str:
    rows = [r for r in result.summary() if r["kind"] == kind]
    methods = []
    for r in rows:
        if r["method"] not in methods:
            methods.append(r["method"])
    head = "| method | " + " | ".join(f"σ={s:g} PSNR / SSIM" for s in sigmas) + " | s/MP (σ=25) | threads |"
    lines = [head, "|" + " --- |" * (len(sigmas) + 3)]
    by = {(r["method"], r["sigma"]): r for r in rows}
    for m in methods:
        cells = []
        for s in sigmas:
            r = by.get((m, s))
            cells.append(f"{r['psnr']:.2f} / {r['ssim']:.4f}" if r else "–")
        t = by.get((m, 25.0)) or next(r for r in rows if r["method"] == m)
        lines.append(f"| {m} | " + " | ".join(cells) + f" | {t['wall_s_per_mpix']:.3f} | {t['threads']} |")
    for name, vals in (published or {}).items():
        lines.append(f"| *{name}, published* | " + " | ".join(f"{vals.get(int(s), float('nan')):.2f}" for s in sigmas) + " | | |")
    noisy = {r["sigma"]: r["psnr_noisy"] for r in rows}
    lines.append("| *noisy input* | " + " | ".join(f"{noisy.get(s, float('nan')):.2f}" for s in sigmas) + " | | |")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--shared", default=os.environ.get("IMGEN_SHARED", "../shared"))
    ap.add_argument("--out", default="docs/benchmark-results.md")
    ap.add_argument("--repeats", type=int, default=1)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    set12 = Path(args.shared) / "data" / "set12"
    if not set12.is_dir():
        sys.exit(f"Set12 not found at {set12} (pass --shared)")
    sigmas = [15.0, 25.0, 50.0]
    gray = run(images=set12, sigmas=sigmas, repeats=args.repeats, threads=args.threads)
    color = run(images=builtin_samples(gray=False), sigmas=sigmas, repeats=args.repeats, threads=args.threads)
    cfg = gray.config
    doc = [
        "# Denoising results",
        "",
        f"Made by `python benchmarks/quality/set12_table.py --repeats {args.repeats} --threads {args.threads}` on "
        f"{cfg['date']} ({cfg['machine']['processor']}, {cfg['machine']['cores']} cores; imgen "
        f"{cfg['versions']['imgen']}, onnxruntime {cfg['versions']['onnxruntime']}, OpenCV "
        f"{cfg['versions']['opencv']}, scikit-image {cfg['versions'].get('skimage', '–')}, bm3d "
        f"{cfg['versions'].get('bm3d', 'not installed')}).",
        "",
        "Protocol: clean image x in [0, 1] float32; noisy = x + `default_rng(0).normal(0, σ/255)` per image, "
        "float32, not clipped or quantised; PSNR/SSIM of the output clipped to [0, 1] (SSIM: Gaussian window, "
        "as scikit-image). Every method is given the true σ. Time: median wall time per megapixel after a "
        "warm-up. Published figures are the papers' Set12 tables (their noise draws differ from ours).",
        "",
        "## Set12, gray",
        "",
        table(gray, sigmas, "gray", PUBLISHED),
        "",
        "## Colour: scikit-image's bundled photographs (" + ", ".join(s for s in color.config["images"]) + ")",
        "",
        table(color, sigmas, "color"),
        "",
        "Method notes: " + "; ".join(f"{k}: {v}" for k, v in {**gray.config["method_notes"], **color.config["method_notes"]}.items()) + ".",
    ]
    skipped = {**gray.notes, **color.notes}
    if skipped:
        doc += ["", "Not run: " + "; ".join(f"{k} ({v})" for k, v in skipped.items()) + "."]
    Path(args.out).write_text("\n".join(doc) + "\n")
    print(f"wrote {args.out} ({time.strftime('%H:%M:%S')})")


if __name__ == "__main__":
    main()
