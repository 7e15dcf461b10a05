"""What a run will cost, measured before it is paid (#32 item 6).

:func:`estimate_cost` times a processor on a central crop of the first image or frame (after a
small warm-up call) and scales the time by area: a learned model's and a classical denoiser's work
grow with the pixel count.  The library only measures; the CLI says it (stderr) and names the faster
choice.  :func:`best_per_second` reads bench results: which method gains the most PSNR per CPU
second on the machine they were measured on, and which methods are on the quality/time Pareto front.
"""
from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass
from typing import Callable, Iterable, Sequence

import numpy as np

log = logging.getLogger("imgen")

#: Side of the square crop the probe times (smaller images are timed whole).  Small enough that a
#: learned model on CPU (colour: three planes) takes about a second at worst on a loaded 2-core machine.
PROBE_SIDE = 192
#: Side of the warm-up call before the timed one (session allocations, first-call overheads).
WARM_SIDE = 32

Processor = Callable[[list[np.ndarray]], Sequence[np.ndarray]]


@dataclass(frozen=True)
class CostEstimate:
    """Seconds per image (or frame) extrapolated from a timed crop, and the total for ``items``.

    per_item_s: the probe's seconds scaled by the image's area over the crop's.  probe_s: what the
    probe itself took (warm-up included).  crop: the (height, width) that was timed; size: the
    image's.  items: how many images the run has (None: unknown)."""

    per_item_s: float
    probe_s: float
    crop: tuple[int, int]
    size: tuple[int, int]
    items: int | None = None

    @property
    def total_s(self) -> float | None:
        return None if self.items is None else self.per_item_s * self.items


def central_crop(image: np.ndarray, side: int) -> np.ndarray:
    """The central side x side window of an HWC / HW image (the whole image where it is smaller),
    its sides rounded down to multiples of 16 where they exceed 16 (models' size multiples)."""
    h, w = image.shape[:2]
    ch, cw = min(h, side), min(w, side)
    ch, cw = (ch // 16 * 16 or ch), (cw // 16 * 16 or cw)
    y, x = (h - ch) // 2, (w - cw) // 2
    return np.ascontiguousarray(image[y:y + ch, x:x + cw])


def tiled_pixels(height: int, width: int, *, tile: int, overlap: int, multiple: int = 1) -> int:
    """Pixels a tiled model computes for a height x width image (tiles overlap, and the last ones
    are flush with the edge): ``imgen.plan_tiles``' grid, or the image's own area when it fits in
    one tile (tile 0: never tiled)."""
    if not tile or (height <= tile and width <= tile):
        return height * width
    from ._core import plan_tiles

    grid = plan_tiles(height, width, tile=tile, overlap=min(overlap, tile // 2), multiple=max(multiple, 1))
    return len(grid.row_starts) * len(grid.col_starts) * grid.tile_height * grid.tile_width


def estimate_cost(processor: Processor, image: np.ndarray, items: int | None = None, *,
                  side: int = PROBE_SIDE, warm: bool = True,
                  work: Callable[[int, int], int] | None = None) -> CostEstimate:
    """Time ``processor`` (``list[ndarray] -> list[ndarray]``, e.g. a FrameProcessor) on a central
    crop of ``image`` (HWC or HW, any dtype the processor takes) and scale to the whole image.

    work: the pixels the processor computes for a (height, width) image, when that is not the
    area (a tiled model: ``functools.partial(tiled_pixels, tile=..., overlap=...)``); the time is
    scaled by work(image) / work(crop).  warm: call it first on a WARM_SIDE crop, untimed.  Whatever
    the processor raises propagates (the caller decides whether a failed probe matters).  The
    outputs are thrown away: the probe costs about (crop area / image area) of one image, plus the
    warm-up."""
    if image.ndim < 2 or min(image.shape[:2]) < 1:
        raise ValueError(f"estimate_cost needs an HW or HWC image, got shape {image.shape}")
    started = time.perf_counter()
    if warm:
        processor([central_crop(image, WARM_SIDE)])
    crop = central_crop(image, side)
    t0 = time.perf_counter()
    processor([crop])
    timed = time.perf_counter() - t0
    h, w = image.shape[:2]
    ch, cw = crop.shape[:2]
    work = work or (lambda height, width: height * width)
    per_item = timed * work(h, w) / work(ch, cw)
    est = CostEstimate(per_item_s=per_item, probe_s=time.perf_counter() - started, crop=(ch, cw), size=(h, w),
                       items=items)
    log.debug("cost probe: %.4f s on %dx%d -> %.3f s per %dx%d image", timed, ch, cw, per_item, h, w)
    return est


def format_seconds(seconds: float) -> str:
    """0.042 -> '0.04 s', 95 -> '1 min 35 s', 6240 -> '1 h 44 min'."""
    if seconds < 10:
        return f"{seconds:.2g} s" if seconds < 1 else f"{seconds:.1f} s"
    if seconds < 60:
        return f"{seconds:.0f} s"
    minutes = int(round(seconds)) // 60
    if minutes < 60:
        return f"{minutes} min {int(round(seconds)) % 60} s"
    return f"{minutes // 60} h {minutes % 60} min"


# -- bench results: the best per second --------------------------------------------------------------

@dataclass(frozen=True)
class Value:
    """One bench group's (task, kind, level) verdict on value for CPU time.

    best: the method with the highest ``gain_db / cpu_s_per_mpix`` -- PSNR gained over the degraded
    input per CPU second per megapixel; ``gain_db`` and ``cpu_s_per_mpix`` are its figures.
    pareto: the methods no other method beats on both PSNR and CPU time, cheapest first (each one
    buys more PSNR than the one before it, at a price).  top: the highest-PSNR method."""

    task: str
    kind: str
    level: str
    best: str
    gain_db: float
    cpu_s_per_mpix: float
    db_per_cpu_s: float
    pareto: tuple[str, ...]
    top: str


def best_per_second(summary: Iterable[dict]) -> list[Value]:
    """Per (task, kind, level) of bench summary rows (``BenchResult.summary()`` / bench.json's
    "summary": method, family, psnr, psnr_noisy, cpu_s_per_mpix): the best value and the Pareto
    front.  Rows of the degraded input itself (family "input") and methods that made the image
    worse or took no measurable CPU time are left out of "best"; groups with no method left are
    skipped."""
    groups: dict[tuple, list[dict]] = {}
    for r in summary:
        figures = [r.get(k) for k in ("psnr", "psnr_noisy", "cpu_s_per_mpix")]
        if r.get("family") == "input" or not all(isinstance(v, (int, float)) and math.isfinite(v) for v in figures):
            continue  # the degraded input's own row; rows of older bench.json files without the figures
        level = r.get("level", r.get("sigma"))  # older bench.json files: the sigma
        groups.setdefault((r.get("task", "denoise"), r.get("kind", "?"), str(level)), []).append(r)
    out = []
    for (task, kind, level), rows in groups.items():
        scored = [(r["psnr"] - r["psnr_noisy"], max(r["cpu_s_per_mpix"], 1e-9), r) for r in rows
                  if r["psnr"] > r["psnr_noisy"] and r["cpu_s_per_mpix"] > 0]
        if not scored:
            continue
        gain, cost, best = max(scored, key=lambda g: g[0] / g[1])
        front, top_psnr = [], -math.inf
        for r in sorted(rows, key=lambda r: (r["cpu_s_per_mpix"], -r["psnr"])):
            if r["psnr"] > top_psnr:
                front.append(r["method"])
                top_psnr = r["psnr"]
        top = max(rows, key=lambda r: r["psnr"])["method"]
        out.append(Value(task, kind, level, best["method"], gain, best["cpu_s_per_mpix"], gain / cost,
                         tuple(front), top))
    return out


def value_lines(values: Sequence[Value], level_name: str = "level") -> list[str]:
    """Plain-text lines for the terminal (bench's table, imgen info)."""
    lines = []
    for v in values:
        lines.append(f"{v.kind} {level_name} {v.level}: best per CPU second: {v.best} (+{v.gain_db:.2f} dB for "
                     f"{v.cpu_s_per_mpix:.3g} CPU s/MP = {v.db_per_cpu_s:.3g} dB per CPU s/MP); "
                     f"Pareto front, cheapest first: {' < '.join(v.pareto)}; highest PSNR: {v.top}")
    return lines
