"""Bench output: a terminal table, CSV and JSON files, a PSNR-vs-time chart and a crop sheet."""
from __future__ import annotations

import csv
import io
import json
import math
from pathlib import Path

import numpy as np

from ..imageio import write_image
from .runner import BenchResult


def format_table(result: BenchResult) -> str:
    rows = result.summary()
    out = io.StringIO()
    header = f"{'set':5} {'sigma':>5} {'method':24} {'PSNR':>7} {'SSIM':>7} {'s/img':>8} {'s/MP':>8} {'CPU s/MP':>9} {'thr':>3}"
    print(header, file=out)
    print("-" * len(header), file=out)
    last = None
    for r in rows:
        key = (r["kind"], r["sigma"])
        if last is not None and key != last:
            print(file=out)
        last = key
        print(f"{r['kind']:5} {r['sigma']:5g} {r['method']:24} {r['psnr']:7.2f} {r['ssim']:7.4f} "
              f"{r['wall_s']:8.3f} {r['wall_s_per_mpix']:8.3f} {r['cpu_s_per_mpix']:9.3f} {r['threads']:3}", file=out)
    noisy = {}
    for r in rows:
        noisy.setdefault((r["kind"], r["sigma"]), r["psnr_noisy"])
    print("\nnoisy input PSNR: " + ", ".join(f"{k} sigma {s:g}: {v:.2f}" for (k, s), v in noisy.items()), file=out)
    for name, why in result.notes.items():
        print(f"skipped {name}: {why}", file=out)
    for f in result.failures:
        print(f"FAILED {f['method']} on {f['image']} at sigma {f['sigma']:g} ({f['stage']}): {f['error']}", file=out)
    return out.getvalue()


def write_csv(result: BenchResult, path: Path) -> None:
    fields = list(result.records[0].keys()) if result.records else []
    with open(path, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=fields)
        writer.writeheader()
        writer.writerows(result.records)


def write_json(result: BenchResult, path: Path) -> None:
    doc = {"config": result.config, "summary": result.summary(), "records": result.records, "skipped": result.notes,
           "failures": result.failures}
    path.write_text(json.dumps(doc, indent=2))


def write_chart(result: BenchResult, path: Path) -> str | None:
    """PSNR against time per megapixel (log scale), one panel per (set, sigma).  None if written."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return "chart skipped: matplotlib is not installed (pip install 'imgen[bench]')"
    rows = result.summary()
    if not rows:
        return "chart skipped: no method produced a result"
    panels = sorted({(r["kind"], r["sigma"]) for r in rows}, key=lambda k: (k[0] != "gray", k[1]))
    cols = min(3, len(panels))
    nrows = math.ceil(len(panels) / cols)
    fig, axes = plt.subplots(nrows, cols, figsize=(5 * cols, 4 * nrows), squeeze=False)
    colors = {"imgen": "tab:blue", "learned": "tab:green", "peer": "tab:gray"}
    for ax, (kind, sigma) in zip(axes.flat, panels):
        for r in (r for r in rows if (r["kind"], r["sigma"]) == (kind, sigma)):
            ax.scatter(r["wall_s_per_mpix"], r["psnr"], color=colors.get(r["family"], "black"))
            ax.annotate(r["method"], (r["wall_s_per_mpix"], r["psnr"]), fontsize=7,
                        xytext=(3, 3), textcoords="offset points")
        ax.set_xscale("log")
        ax.set_title(f"{kind}, sigma = {sigma:g}")
        ax.set_xlabel("seconds per megapixel (log)")
        ax.set_ylabel("PSNR (dB)")
        ax.grid(True, which="both", alpha=0.3)
    for ax in list(axes.flat)[len(panels):]:
        ax.axis("off")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return None


def write_crops(result: BenchResult, path: Path, size: int = 96) -> None:
    """A sheet: for each sigma and image a row of centre crops, clean | noisy | each method.

    Needs a result run with keep_outputs=True."""
    import cv2

    sigmas = sorted({k[0] for k in result.outputs})
    methods = result.config["methods"]
    blocks = []
    for sigma in sigmas:
        for sample in result.samples:
            name, img = sample.name, sample.image
            h, w = img.shape[:2]
            y, x = max(0, (h - size) // 2), max(0, (w - size) // 2)

            def cut(a):
                a = np.clip(a[y:y + size, x:x + size], 0, 1)
                a = a if a.ndim == 3 else np.repeat(a[..., None], 3, axis=2)
                tile = np.zeros((size, size, 3), np.float32)
                tile[:a.shape[0], :a.shape[1]] = a
                return tile

            cells = [("clean", cut(img)), (f"noisy {sigma:g}", cut(result.protocol.noisy(img, sigma)))]
            for m in methods:
                out = result.outputs.get((sigma, name, m))
                cells.append((m, cut(out) if out is not None else np.zeros((size, size, 3), np.float32)))
            row = []
            for label, tile in cells:
                tile = (tile[..., ::-1] * 255).astype(np.uint8).copy()
                cv2.rectangle(tile, (0, 0), (size - 1, 12), (0, 0, 0), thickness=-1)  # legible on white
                cv2.putText(tile, label[:14], (2, 10), cv2.FONT_HERSHEY_PLAIN, 0.7, (0, 255, 255), 1, cv2.LINE_AA)
                row.append(np.pad(tile, ((1, 1), (1, 1), (0, 0))))
            blocks.append(np.concatenate(row, axis=1))
    if blocks:
        width = max(b.shape[1] for b in blocks)
        blocks = [np.pad(b, ((0, 0), (0, width - b.shape[1]), (0, 0))) for b in blocks]
        write_image(path, np.concatenate(blocks, axis=0))
