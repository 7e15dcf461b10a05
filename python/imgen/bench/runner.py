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

from .methods import Method, resolve
from .protocol import Protocol
from .samples import Sample, builtin_samples, center_crop, folder_samples


@dataclass
class BenchResult:
    """Per-image records, the summary per (kind, sigma, method), the configuration, notes on
    methods that could not run here, and failures: {"method", "image", "sigma", "error"} for each
    run that raised (the rest of the grid still ran)."""

    records: list[dict]
    config: dict
    notes: dict[str, str] = field(default_factory=dict)
    failures: list[dict] = field(default_factory=list)
    outputs: dict = field(default_factory=dict, repr=False)  # (sigma, image, method) -> image, for crops
    samples: list[Sample] = field(default_factory=list, repr=False)
    protocol: Protocol = field(default_factory=Protocol, repr=False)

    def summary(self) -> list[dict]:
        groups: dict[tuple, list[dict]] = {}
        for r in self.records:
            groups.setdefault((r["kind"], r["sigma"], r["method"]), []).append(r)
        rows = []
        for (kind, sigma, method), rs in groups.items():
            mpix = sum(r["megapixels"] for r in rs)
            rows.append({
                "kind": kind, "sigma": sigma, "method": method, "family": rs[0]["family"],
                "images": len(rs),
                "psnr": statistics.fmean(r["psnr"] for r in rs),
                "ssim": statistics.fmean(r["ssim"] for r in rs),
                "psnr_noisy": statistics.fmean(r["psnr_noisy"] for r in rs),
                "wall_s": statistics.fmean(r["wall_s"] for r in rs),
                "cpu_s": statistics.fmean(r["cpu_s"] for r in rs),
                "wall_s_per_mpix": sum(r["wall_s"] for r in rs) / mpix,
                "cpu_s_per_mpix": sum(r["cpu_s"] for r in rs) / mpix,
                "threads": rs[0]["threads"],
            })
        order = {"gray": 0, "color": 1}
        rows.sort(key=lambda r: (order.get(r["kind"], 2), r["sigma"], -r["psnr"]))
        return rows


# Timed runs stop early once they add up to this many seconds: a slow method's single run is
# already long against the machine's noise, and the default grid must finish in minutes.
TIME_BUDGET_S = 1.0
# With no images given, the bundled photographs are centre-cropped to this size.
DEFAULT_SAMPLE_CROP = 256


def _time(method: Method, noisy: np.ndarray, sigma: float, repeats: int):
    walls, cpus, out = [], [], None
    for _ in range(repeats):
        c0, t0 = time.process_time(), time.perf_counter()
        out = method.run(noisy, sigma)
        walls.append(time.perf_counter() - t0)
        cpus.append(time.process_time() - c0)
        if sum(walls) >= TIME_BUDGET_S:
            break
    return out, statistics.median(walls), statistics.median(cpus)


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
    sigmas: Sequence[float] = (15, 25, 50),
    protocol: Protocol = Protocol(),
    crop: int | None = None,
    repeats: int = 3,
    threads: int | None = None,
    keep_outputs: bool = False,
    progress: bool = True,
) -> BenchResult:
    """Benchmark denoisers on a grid; returns per-image records and a summary.

    images: a folder, a list of Samples, or None for scikit-image's bundled photographs (centre
        256x256 crops unless `crop` says otherwise, so that the default grid takes minutes).
    methods: names from methods.CLASSICAL + methods.PEERS (None = all); models: learned models by
    name or path (None = the shipped ones).  sigmas on the 0-255 scale.  Each method is warmed
    up on a small crop, then timed as the median of up to `repeats` runs per image (wall and CPU;
    fewer once the runs add up to a second).
    A method that raises is recorded in ``failures`` (one that fails its warm-up is not run
    again) and the rest of the grid goes on.
    Raises ValueError for bad options (sigma <= 0, empty folder, unknown method).
    """
    from .. import get_num_threads, set_num_threads

    sigmas = [float(s) for s in sigmas]
    if not sigmas or any(not (s > 0 and np.isfinite(s)) for s in sigmas):
        raise ValueError(f"sigmas must be positive numbers, got {sigmas}")
    if repeats < 1:
        raise ValueError(f"repeats must be >= 1, got {repeats}")
    if crop is not None and crop < 16:
        raise ValueError(f"crop must be at least 16 pixels, got {crop}")
    threads = threads or os.cpu_count() or 1
    if images is None:
        samples = builtin_samples()
        crop = DEFAULT_SAMPLE_CROP if crop is None else crop
    elif isinstance(images, (str, os.PathLike)):
        samples = folder_samples(images)
    else:
        samples = list(images)
    if not samples:
        raise ValueError("no images to benchmark")
    if crop:
        samples = [center_crop(s, crop) for s in samples]
    previous_threads = get_num_threads()
    set_num_threads(threads)
    try:
        chosen, notes = resolve(methods, models, threads)
        for m in chosen:
            if not any(m.supports(s.image) for s in samples):
                notes[m.name] = "no image of the kind it takes (gray/colour)"
        tasks = [(sig, s, m) for sig in sigmas for s in samples for m in chosen if m.supports(s.image)]
        records, outputs, failures = [], {}, []
        warmed: set[str] = set()
        broken: set[str] = set()  # failed their warm-up: skipped for the rest of the grid
        with tqdm(total=len(tasks), desc="bench", unit="run", disable=not progress, file=sys.stderr) as bar:
            for sigma, sample, method in tasks:
                bar.set_postfix_str(f"sigma {sigma:g} {sample.name} {method.name}")
                if method.name in broken:
                    bar.update(1)
                    continue
                noisy = protocol.noisy(sample.image, sigma)
                try:
                    if method.name not in warmed:
                        stage = "warm-up"
                        method.run(np.ascontiguousarray(noisy[:64, :64]), sigma / 255.0)
                        warmed.add(method.name)
                    stage = "run"
                    out, wall, cpu = _time(method, noisy, sigma / 255.0, repeats)
                    out = np.asarray(out, np.float32)
                    if out.shape != sample.image.shape:
                        raise RuntimeError(f"returned shape {out.shape} for {sample.image.shape}")
                except Exception as e:  # one method's failure must not end the benchmark
                    failures.append({"method": method.name, "image": sample.name, "sigma": sigma,
                                     "stage": stage, "error": f"{type(e).__name__}: {e}"})
                    if stage == "warm-up":
                        broken.add(method.name)
                    bar.update(1)
                    continue
                h, w = sample.image.shape[:2]
                records.append({
                    "sigma": sigma, "image": sample.name, "kind": "color" if sample.is_color else "gray",
                    "method": method.name, "family": method.family, "height": h, "width": w,
                    "psnr": protocol.psnr(sample.image, out), "ssim": protocol.ssim(sample.image, out),
                    "psnr_noisy": protocol.psnr(sample.image, noisy),
                    "wall_s": wall, "cpu_s": cpu, "megapixels": h * w / 1e6, "threads": method.threads,
                })
                if keep_outputs:
                    outputs[(sigma, sample.name, method.name)] = out
                bar.update(1)
    finally:
        set_num_threads(previous_threads)
    config = {
        "sigmas": sigmas, "images": [s.name for s in samples],
        "image_source": "scikit-image samples" if images is None else str(images) if isinstance(images, (str, os.PathLike)) else "given",
        "methods": [m.name for m in chosen], "method_notes": {m.name: m.note for m in chosen if m.note},
        "protocol": asdict(protocol), "crop": crop, "repeats": repeats, "threads": threads,
        "machine": _machine(),
        "versions": _versions(), "date": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
    }
    return BenchResult(records, config, notes, failures, outputs, samples if keep_outputs else [], protocol)
