"""Run a grid of methods x noise levels x images and collect per-image records."""
from __future__ import annotations

import os
import platform
import statistics
import sys
import time
from dataclasses import asdict, dataclass, field
from typing import Sequence

import numpy as np
from tqdm import tqdm

from .methods import Method
from .protocol import Protocol
from .samples import Sample, builtin_samples, center_crop, folder_samples, paired_samples
from .task_base import Case
from .tasks import get as get_task


@dataclass
class BenchResult:
    """Per-image records, the summary per (task, level, kind, method), the configuration, notes on
    methods that could not run here, and failures: {"method", "image", "level", "sigma", "error"}
    for each run that raised (the rest of the grid still ran).  ``level`` is the task's grid value
    as text ("25" for sigma 25, "2" for SR x2, "10" for JPEG quality 10, "motion19") and
    ``level_value`` as a number (the level, or its place in the grid for named levels); ``sigma``
    the input's noise level (0-255 scale; 0 where there is none); ``psnr_noisy`` the degraded
    input's PSNR (SR: its bicubic enlargement's)."""

    records: list[dict]
    config: dict
    notes: dict[str, str] = field(default_factory=dict)
    failures: list[dict] = field(default_factory=list)
    outputs: dict = field(default_factory=dict, repr=False)  # (level_value, image, method) -> image, for crops
    samples: list[Sample] = field(default_factory=list, repr=False)
    protocol: Protocol = field(default_factory=Protocol, repr=False)

    def summary(self) -> list[dict]:
        groups: dict[tuple, list[dict]] = {}
        for r in self.records:
            groups.setdefault((r["task"], r["level"], r["kind"], r["method"]), []).append(r)
        rows = []
        for (task, level, kind, method), rs in groups.items():
            mpix = sum(r["megapixels"] for r in rs)
            rows.append({
                "task": task, "level": level, "level_value": rs[0]["level_value"], "kind": kind,
                "sigma": rs[0]["sigma"], "method": method,
                "family": rs[0]["family"],
                "images": len(rs),
                "psnr": statistics.fmean(r["psnr"] for r in rs),
                "ssim": statistics.fmean(r["ssim"] for r in rs),
                "psnr_noisy": statistics.fmean(r["psnr_noisy"] for r in rs),
                "wall_s": statistics.fmean(r["wall_s"] for r in rs),
                "cpu_s": statistics.fmean(r["cpu_s"] for r in rs),
                "wall_s_per_mpix": sum(r["wall_s"] for r in rs) / mpix,
                "cpu_s_per_mpix": sum(r["cpu_s"] for r in rs) / mpix,
                "threads": rs[0]["threads"],
                # a task's own scores (inpaint: psnr_image, ssim_image, coverage), averaged the same way
                **{k: statistics.fmean(r[k] for r in rs) for k in _TASK_SCORES if all(k in r for r in rs)},
            })
        order = {"gray": 0, "color": 1}
        levels = {}
        for r in self.records:  # the grid's order
            levels.setdefault(r["level"], len(levels))
        rows.sort(key=lambda r: (order.get(r["kind"], 2), levels[r["level"]], -r["psnr"]))
        return rows


# Scores some tasks add to their records (BenchTask.score), averaged into the summary too.
_TASK_SCORES = ("psnr_image", "ssim_image", "coverage")

# Timed runs stop early once they add up to this many seconds: a slow method's single run is
# already long against the machine's noise, and the default grid must finish in minutes.
TIME_BUDGET_S = 1.0
# With no images given, the bundled photographs are centre-cropped to this size.
DEFAULT_SAMPLE_CROP = 256


def _time(method: Method, degraded: np.ndarray, param, repeats: int):
    walls, cpus, out = [], [], None
    for _ in range(repeats):
        c0, t0 = time.process_time(), time.perf_counter()
        out = method.run(degraded, param)
        walls.append(time.perf_counter() - t0)
        cpus.append(time.process_time() - c0)
        if sum(walls) >= TIME_BUDGET_S:
            break
    return out, statistics.median(walls), statistics.median(cpus)


def _warm_up_input(case: Case) -> np.ndarray:
    """A small crop of the degraded input (8-pixel aligned, so JPEG blocks and SR grids stay whole)."""
    return np.ascontiguousarray(case.degraded[:64, :64])


# CPU features that decide which kernels run (x86 flags from /proc/cpuinfo, Arm "Features").
SIMD_FLAGS = ("sse2", "ssse3", "sse4_1", "sse4_2", "avx", "avx2", "fma", "f16c", "avx512f", "avx512bw",
              "avx512vl", "avx512_vnni", "avx512_bf16", "amx_tile", "neon", "asimd", "sve")


def _machine() -> dict:
    """Platform, processor, model name, core count and the SIMD flags the CPU reports (Linux:
    /proc/cpuinfo; elsewhere the flags list is empty)."""
    model, flags = platform.processor() or platform.machine(), []
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                key, _, value = line.partition(":")
                key = key.strip()
                if key == "model name" and value.strip():
                    model = value.strip()
                elif key in ("flags", "Features") and not flags:
                    present = set(value.split())
                    flags = [name for name in SIMD_FLAGS if name in present]
    except OSError:  # not Linux
        pass
    return {"platform": platform.platform(), "processor": model, "cores": os.cpu_count(), "cpu_flags": flags}


def load_average() -> list[float] | None:
    """The 1, 5 and 15 minute load averages (os.getloadavg), None where the platform has none."""
    try:
        return [round(v, 2) for v in os.getloadavg()]
    except (AttributeError, OSError):  # Windows
        return None


def _versions() -> dict:
    import cv2
    import onnxruntime

    from .. import __version__, _core

    v = {"imgen": __version__, "numpy": np.__version__, "opencv": cv2.__version__,
         "onnxruntime": onnxruntime.__version__, "python": sys.version.split()[0], "simd": _core.simd_level()}
    from importlib.metadata import PackageNotFoundError, version

    for key, dist in (("skimage", "scikit-image"), ("bm3d", "bm3d"), ("torch", "torch")):
        try:
            v[key] = version(dist)
        except PackageNotFoundError:  # optional peers
            pass
    return v


def run(
    *,
    images: str | os.PathLike | Sequence[Sample] | None = None,
    methods: Sequence[str] | None = None,
    models: Sequence[str] | None = None,
    sigmas: Sequence[float] | None = None,
    protocol: Protocol = Protocol(),
    crop: int | None = None,
    repeats: int = 3,
    threads: int | None = None,
    keep_outputs: bool = False,
    progress: bool = True,
    task: str = "denoise",
    levels: Sequence | None = None,
    lr_dir: str | os.PathLike | None = None,
) -> BenchResult:
    """Benchmark a restoration task on a grid of methods x levels x images; returns per-image
    records and a summary.

    task: a name from bench.tasks.TASKS ("denoise" (default), "sr", "deblur", "jpeg"); levels: its
        grid (denoise: sigmas on the 0-255 scale, also accepted as ``sigmas``; sr: scales; jpeg:
        qualities; deblur: kernel names); None = the task's default.
    images: a folder, a list of Samples, or None for scikit-image's bundled photographs (centre
        256x256 crops unless `crop` says otherwise, so that the default grid takes minutes).
    lr_dir: SR only: a folder of low-resolution images paired with ``images`` by name (a clean
        file ``X_HR.png`` pairs with ``X_LR.png``, others with the same name), used instead of
        downscaling.
    methods: the task's classical/peer method names (None = all); models: learned models by name
    or path (None = the shipped ones of the task).  Each method is warmed up on a small crop,
    then timed as the median of up to `repeats` runs per image (wall and CPU; fewer once the runs
    add up to a second).  The degraded input itself is a row (``bicubic``, ``jpeg``, ``blurred``)
    for the restoration tasks.  A method that raises is recorded in ``failures`` (one that fails
    its warm-up is not run again) and the rest of the grid goes on.
    Raises ValueError for bad options (bad levels, empty folder, unknown task or method).
    """
    from .. import get_num_threads, set_num_threads

    bench_task = get_task(task)
    if sigmas is not None and levels is not None:
        raise ValueError("give sigmas or levels, not both")
    if sigmas is not None and task != "denoise":
        raise ValueError(f"sigmas are the denoise task's levels; task {task} takes levels "
                         f"({bench_task.level_name})")
    grid = bench_task.check_levels(sigmas if sigmas is not None else
                                   levels if levels is not None else bench_task.default_levels)
    if repeats < 1:
        raise ValueError(f"repeats must be >= 1, got {repeats}")
    if crop is not None and crop < 16:
        raise ValueError(f"crop must be at least 16 pixels, got {crop}")
    if lr_dir is not None and task != "sr":
        raise ValueError(f"lr_dir (paired low-resolution files) is for task sr, not {task}")
    threads = threads or os.cpu_count() or 1
    if images is None:
        if lr_dir is not None:
            raise ValueError("lr_dir needs images (the high-resolution folder it pairs with)")
        samples = builtin_samples()
        crop = DEFAULT_SAMPLE_CROP if crop is None else crop
    elif isinstance(images, (str, os.PathLike)):
        samples = folder_samples(images) if lr_dir is None else paired_samples(images, lr_dir, grid)
    else:
        samples = list(images)
    if not samples:
        raise ValueError("no images to benchmark")
    if crop:
        if lr_dir is not None:
            raise ValueError("crop cannot be used with paired LR files (they would no longer match)")
        samples = [center_crop(s, crop) for s in samples]
    load_before = load_average()
    previous_threads = get_num_threads()
    set_num_threads(threads)
    try:
        chosen, notes = bench_task.methods(methods, models, threads)
        for m in chosen:
            if not any(m.supports(s.image) for s in samples):
                notes[m.name] = "no image of the kind it takes (gray/colour)"
            elif not any(m.takes_level(level) for level in grid):
                notes[m.name] = (f"runs at {bench_task.level_name} {', '.join(map(str, m.levels))} only, "
                                 f"not in this run's grid")
        records, outputs, failures = [], {}, []
        n_runs = sum(1 + sum(m.supports(s.image) and m.takes_level(level) for m in chosen)
                     for level in grid for s in samples)
        warmed: set[str] = set()
        broken: set[str] = set()  # failed their warm-up: skipped for the rest of the grid
        with tqdm(total=n_runs, desc=f"bench {task}", unit="run", disable=not progress, file=sys.stderr) as bar:
            for level in grid:
                label = bench_task.level_label(level)
                value = float(level) if isinstance(level, (int, float)) else float(grid.index(level) + 1)
                scoring = bench_task.protocol(protocol, level)
                for sample in samples:
                    case = bench_task.case(sample, level, scoring)
                    as_is = np.asarray(bench_task.as_output(case), np.float32)
                    base_scores = bench_task.score(scoring, case, as_is)
                    h, w = case.reference.shape[:2]

                    def record(name: str, family: str, scores: dict, wall: float, cpu: float, threads_: int) -> dict:
                        return {"task": task, "level": label, "level_value": value, "sigma": case.sigma, "image": sample.name,
                                "kind": "color" if sample.is_color else "gray", "method": name, "family": family,
                                "height": h, "width": w, **scores, "psnr_noisy": base_scores["psnr"],
                                "wall_s": wall, "cpu_s": cpu, "megapixels": h * w / 1e6, "threads": threads_}

                    if bench_task.input_row is not None:
                        records.append(record(bench_task.input_row, "input", base_scores, 0.0, 0.0, 1))
                        if keep_outputs:
                            outputs[(value, sample.name, bench_task.input_row)] = as_is
                    bar.update(1)
                    for method in chosen:
                        if not method.supports(sample.image) or not method.takes_level(level):
                            continue
                        bar.set_postfix_str(f"{bench_task.level_name} {label} {sample.name} {method.name}")
                        if method.name in broken:
                            bar.update(1)
                            continue
                        try:
                            if method.name not in warmed:
                                stage = "warm-up"
                                method.run(_warm_up_input(case), case.param)
                                warmed.add(method.name)
                            stage = "run"
                            out, wall, cpu = _time(method, case.degraded, case.param, repeats)
                            out = np.asarray(out, np.float32)
                            if out.shape != case.reference.shape:
                                raise RuntimeError(f"returned shape {out.shape} for {case.reference.shape}")
                        except Exception as e:  # one method's failure must not end the benchmark
                            failures.append({"method": method.name, "image": sample.name, "level": label,
                                             "sigma": case.sigma, "stage": stage, "error": f"{type(e).__name__}: {e}"})
                            if stage == "warm-up":
                                broken.add(method.name)
                            bar.update(1)
                            continue
                        records.append(record(method.name, method.family, bench_task.score(scoring, case, out),
                                              wall, cpu, method.threads))
                        if keep_outputs:
                            outputs[(value, sample.name, method.name)] = out
                        bar.update(1)
    finally:
        set_num_threads(previous_threads)
    config = {
        "task": task, "level_name": bench_task.level_name, "levels": grid,
        "sigmas": grid if task == "denoise" else [], "images": [s.name for s in samples],
        "image_source": "scikit-image samples" if images is None else str(images) if isinstance(images, (str, os.PathLike)) else "given",
        "lr_dir": None if lr_dir is None else str(lr_dir),
        "methods": ([bench_task.input_row] if bench_task.input_row else []) + [m.name for m in chosen],
        "method_notes": {m.name: m.note for m in chosen if m.note},
        "method_published": {m.name: m.published for m in chosen if m.published},
        "method_arch": {m.name: m.arch for m in chosen if m.arch},
        "protocol": asdict(protocol), "crop": crop, "repeats": repeats, "threads": threads,
        "machine": _machine(),
        # the machine's load when the run began and ended: timings on a busy machine are wall time
        # shared with other work (report.busy_warning)
        "load": {"before": load_before, "after": load_average()},
        "versions": _versions(), "date": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
    }
    return BenchResult(records, config, notes, failures, outputs, samples if keep_outputs else [], protocol)
