"""Bench output: a terminal table, CSV and JSON files, a PSNR-vs-time chart and a crop sheet
(the HTML report is html.py).  Files are written atomically."""
from __future__ import annotations

import csv
import io
import json
import math
from dataclasses import asdict
from pathlib import Path

import numpy as np

from ..atomic import atomic_write
from ..cost import best_per_second, value_lines
from ..imageio import write_image
from .runner import BenchResult

# Marker colour per method family, in the PNG chart and its legend.
FAMILY_COLORS = {"imgen": "tab:blue", "learned": "tab:green", "peer": "tab:gray"}
FAMILY_NAMES = {"imgen": "imgen (classical)", "learned": "learned model", "peer": "peer library"}


#: What "best per second" means, printed above the verdicts (terminal and HTML).
VALUE_DEFINITION = ("Best per CPU second on this machine: the most PSNR gained over the degraded input per CPU "
                    "second per megapixel; the Pareto front lists the methods no other beats on both PSNR and "
                    "CPU time, cheapest first.")


def busy_warning(config: dict) -> str | None:
    """A warning when the machine was busy during the run (a 1-minute load average above its core
    count, before or after), else None.  Timings are then wall time shared with other work; CPU
    time is less affected."""
    load = config.get("load") or {}
    cores = (config.get("machine") or {}).get("cores")
    peaks = [v[0] for v in (load.get("before"), load.get("after")) if isinstance(v, list) and v]
    if not isinstance(cores, int) or not peaks or max(peaks) <= cores:
        return None
    return (f"the machine was busy: load average {max(peaks):.2f} > {cores} cores during the run; wall times "
            f"include waiting for the CPU, so compare CPU s/MP, or rerun on an idle machine")


def load_text(config: dict) -> str | None:
    """The load averages (1, 5, 15 min) before and after the run, as text; None if not recorded."""
    load = config.get("load") or {}
    parts = [f"{when} {' / '.join(f'{v:.2f}' for v in load[when])}" for when in ("before", "after")
             if isinstance(load.get(when), list)]
    if not parts:
        return None
    cores = (config.get("machine") or {}).get("cores")
    return ", ".join(parts) + " (1 / 5 / 15 min)" + (f" on {cores} cores" if cores else "")


def timing_scope(config: dict, records: list[dict]) -> str:
    """What the timings were measured on: the crop ("256x256 centre crops") or the images' sizes."""
    crop = config.get("crop")
    if crop:
        return f"{crop}x{crop} centre crops"
    sizes = sorted({(r["width"], r["height"]) for r in records if isinstance(r.get("width"), int)
                    and isinstance(r.get("height"), int)})
    if not sizes:
        return "whole images"
    shown = ", ".join(f"{w}x{h}" for w, h in sizes[:3]) + (" ..." if len(sizes) > 3 else "")
    return f"whole images ({shown})"


def verdicts(summary: list[dict], level_name: str = "sigma") -> list[str]:
    """One line per task, kind and level: the highest-PSNR method and the best per CPU second
    (cost.best_per_second), e.g. "on this machine, for gray sigma 25: bm3d is best (30.1 dB);
    wavelet is the best per CPU second"."""
    psnr = {(r.get("task", "denoise"), r.get("kind"), str(r.get("level", r.get("sigma"))), r["method"]): r["psnr"]
            for r in summary}
    out = []
    for v in best_per_second(summary):
        top = psnr.get((v.task, v.kind, v.level, v.top))
        task = "" if v.task == "denoise" else f"{v.task} "
        out.append(f"on this machine, for {task}{v.kind} {level_name} {v.level}: {v.top} is best"
                   + (f" ({top:.2f} dB)" if isinstance(top, float) else "")
                   + (f"; {v.best} is the best per CPU second (+{v.gain_db:.2f} dB for {v.cpu_s_per_mpix:.3g} CPU s/MP)"
                      if v.best != v.top else "; it is also the best per CPU second"))
    return out


def format_table(result: BenchResult) -> str:
    rows = result.summary()
    out = io.StringIO()
    level_name = result.config.get("level_name", "sigma")
    header = f"{'set':5} {level_name:>8} {'method':24} {'PSNR':>7} {'SSIM':>7} {'s/img':>8} {'s/MP':>8} {'CPU s/MP':>9} {'thr':>3}"
    print(header, file=out)
    print("-" * len(header), file=out)
    last = None
    for r in rows:
        key = (r["kind"], r["level"])
        if last is not None and key != last:
            print(file=out)
        last = key
        print(f"{r['kind']:5} {r['level']:>8} {r['method']:24} {r['psnr']:7.2f} {r['ssim']:7.4f} "
              f"{r['wall_s']:8.3f} {r['wall_s_per_mpix']:8.3f} {r['cpu_s_per_mpix']:9.3f} {r['threads']:3}", file=out)
    if result.config.get("task", "denoise") == "denoise":
        noisy = {}
        for r in rows:
            noisy.setdefault((r["kind"], r["sigma"]), r["psnr_noisy"])
        print("\nnoisy input PSNR: " + ", ".join(f"{k} sigma {s:g}: {v:.2f}" for (k, s), v in noisy.items()), file=out)
    published = result.config.get("method_published") or {}
    if published:
        print("\npublished figures (the models' imgen.published) beside this run's:", file=out)
        for name, text in published.items():
            measured = "; ".join(f"{r['kind']} {level_name} {r['level']}: {r['psnr']:.2f} dB"
                                 for r in rows if r["method"] == name) or "not run"
            print(f"  {name}: measured {measured}; published: {text}", file=out)
    values = best_per_second(rows)
    if values:
        print(f"\n{VALUE_DEFINITION}", file=out)
        for line in value_lines(values, level_name):
            print("  " + line, file=out)
        print("\nverdicts:", file=out)
        for line in verdicts(rows, level_name):
            print("  " + line, file=out)
    print(f"\ntimes measured on {timing_scope(result.config, result.records)}"
          + (f"; load average {load_text(result.config)}" if load_text(result.config) else ""), file=out)
    warning = busy_warning(result.config)
    if warning:
        print(f"WARNING: {warning}", file=out)
    for name, why in result.notes.items():
        print(f"skipped {name}: {why}", file=out)
    for f in result.failures:
        print(f"FAILED {f['method']} on {f['image']} at {level_name} {f['level']} ({f['stage']}): {f['error']}", file=out)
    return out.getvalue()


def write_csv(result: BenchResult, path: Path) -> None:
    fields = list(result.records[0].keys()) if result.records else []
    with atomic_write(path, mode="w") as f:
        writer = csv.DictWriter(f, fieldnames=fields)
        writer.writeheader()
        writer.writerows(result.records)


def document(result: BenchResult) -> dict:
    """What bench.json holds and the HTML report is built from: config, summary, records,
    skipped (method -> why) and failures."""
    summary = result.summary()
    return {"config": result.config, "summary": summary, "records": result.records,
            "skipped": result.notes, "failures": result.failures,
            "best_per_second": [asdict(v) for v in best_per_second(summary)]}


def write_json(result: BenchResult, path: Path) -> None:
    with atomic_write(path, mode="w") as f:
        f.write(json.dumps(document(result), indent=2))


def write_chart(result: BenchResult, path: Path) -> str | None:
    """PSNR against time per megapixel (log scale), one panel per (set, sigma), a legend for the
    family colours, labels kept inside the axes.  None if written, else why not."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return "chart skipped: matplotlib is not installed (pip install 'imgen[bench]')"
    fig = chart_figure(result)
    if fig is None:
        return "chart skipped: no method produced a result"
    with atomic_write(path) as f:
        fig.savefig(f, dpi=110, format="png")
    plt.close(fig)
    return None


def chart_figure(result: BenchResult):
    """The chart as a matplotlib Figure (None when no result is finite); needs matplotlib."""
    import matplotlib.pyplot as plt
    from matplotlib.lines import Line2D

    rows = [r for r in result.summary() if math.isfinite(r["psnr"]) and r["wall_s_per_mpix"] > 0]
    if not rows:
        return None
    panels = sorted({(r["kind"], r["level_value"]) for r in rows}, key=lambda k: (k[0] != "gray", k[1]))
    labels = {(r["kind"], r["level_value"]): r["level"] for r in rows}
    level_name = result.config.get("level_name", "sigma")
    cols = min(3, len(panels))
    nrows = math.ceil(len(panels) / cols)
    fig, axes = plt.subplots(nrows, cols, figsize=(5 * cols, 4 * nrows + 0.5), squeeze=False)
    for ax, (kind, sigma) in zip(axes.flat, panels):
        pts = [r for r in rows if (r["kind"], r["level_value"]) == (kind, sigma)]
        xs = [math.log10(r["wall_s_per_mpix"]) for r in pts]
        ys = [r["psnr"] for r in pts]
        # Room for the labels: a margin on each side, in log10 units and dB.
        x0, x1 = min(xs) - 0.25, max(xs) + 0.25
        y0, y1 = min(ys) - 0.6, max(ys) + 0.6
        for r, lx in zip(pts, xs):
            ax.scatter(r["wall_s_per_mpix"], r["psnr"], color=FAMILY_COLORS.get(r["family"], "black"), zorder=3)
            right_half = (lx - x0) / (x1 - x0) > 0.6  # label to the left there, so it stays inside
            ax.annotate(r["method"], (r["wall_s_per_mpix"], r["psnr"]), fontsize=7, zorder=4,
                        xytext=(-4 if right_half else 4, 3), textcoords="offset points",
                        ha="right" if right_half else "left", annotation_clip=True)
        ax.set_xscale("log")
        ax.set_xlim(10 ** x0, 10 ** x1)
        ax.set_ylim(y0, y1)
        ax.set_title(f"{kind}, {level_name} = {labels[(kind, sigma)]}")
        ax.set_xlabel("seconds per megapixel (log)")
        ax.set_ylabel("PSNR (dB)")
        ax.grid(True, which="both", alpha=0.3)
    for ax in list(axes.flat)[len(panels):]:
        ax.axis("off")
    families = [f for f in FAMILY_COLORS if any(r["family"] == f for r in rows)]
    handles = [Line2D([], [], marker="o", linestyle="", color=FAMILY_COLORS[f], label=FAMILY_NAMES[f])
               for f in families]
    fig.legend(handles=handles, loc="lower center", ncol=len(handles), frameon=False)
    fig.tight_layout(rect=(0, 0.5 / (4 * nrows + 0.5), 1, 1))
    return fig


def fit_label(text: str, width: int) -> tuple[str, float]:
    """The label and OpenCV font scale that fit `width` pixels: the font shrinks first (to 0.45);
    only a name too long even then loses its end (marked "~")."""
    import cv2

    def w(t: str, scale: float) -> int:
        return cv2.getTextSize(t, cv2.FONT_HERSHEY_PLAIN, scale, 1)[0][0]

    scale = 0.8
    while scale > 0.45 and w(text, scale) > width - 4:
        scale -= 0.05
    fitted = text
    while len(fitted) > 1 and w(fitted, scale) > width - 4:
        fitted = fitted[:-2] + "~"
    return fitted, scale


def _label_strip(text: str, width: int, height: int = 14) -> np.ndarray:
    """A black strip with the text in yellow (fit_label); RGB uint8."""
    import cv2

    strip = np.zeros((height, width, 3), np.uint8)
    fitted, scale = fit_label(text, width)
    cv2.putText(strip, fitted, (2, height - 4), cv2.FONT_HERSHEY_PLAIN, scale, (255, 255, 0), 1, cv2.LINE_AA)
    return strip


def write_crops(result: BenchResult, path: Path, size: int = 96) -> None:
    """A sheet: for each sigma and image a row of centre crops -- the image's name and sigma,
    clean, noisy, then each method that ran on it -- each under a label that fits its column.

    Needs a result run with keep_outputs=True."""
    from .gallery import crops_from_result

    crops = crops_from_result(result, size, max_images=None)
    if not crops:
        return
    import cv2

    names = [c.source for c in crops if c.sigma is not None and c.source != "noisy"]
    col = max(size, max((cv2.getTextSize(n, cv2.FONT_HERSHEY_PLAIN, 0.6, 1)[0][0] + 6 for n in names), default=0))
    col = min(col, 2 * size)
    clean = {c.image: c.pixels for c in crops if c.sigma is None}
    level_name = result.config.get("level_name", "sigma")
    labels = {r["level_value"]: r["level"] for r in result.records}
    rows: dict[tuple, list] = {}
    for c in crops:
        if c.sigma is not None:
            rows.setdefault((c.sigma, c.image), []).append(c)

    def cell(label: str, pixels: np.ndarray | None) -> np.ndarray:
        tile = np.full((size, col, 3), 255, np.uint8)
        if pixels is not None:
            px = pixels if pixels.ndim == 3 else np.repeat(pixels[..., None], 3, axis=2)
            tile[:px.shape[0], :px.shape[1]] = px
        return np.pad(np.concatenate([_label_strip(label, col), tile]), ((1, 1), (1, 1), (0, 0)), constant_values=255)

    blocks = []
    for (sigma, image), cs in sorted(rows.items(), key=lambda kv: kv[0][0]):
        name = cell(image, None)  # the row's name above, its sigma in the blank tile
        cv2.putText(name, f"{level_name} {labels.get(sigma, f'{sigma:g}')}", (4, 40), cv2.FONT_HERSHEY_PLAIN, 0.9, (0, 0, 0), 1, cv2.LINE_AA)
        cells = [name, cell("clean", clean.get(image))]
        cells += [cell(f"noisy {sigma:g}" if c.source == "noisy" and level_name == "sigma" else
                       "input" if c.source == "noisy" else c.source, c.pixels) for c in cs]
        blocks.append(np.concatenate(cells, axis=1))
    width = max(b.shape[1] for b in blocks)
    blocks = [np.pad(b, ((0, 0), (0, width - b.shape[1]), (0, 0)), constant_values=255) for b in blocks]
    write_image(path, np.ascontiguousarray(np.concatenate(blocks, axis=0)[..., ::-1]))
