"""Image folders on Ray Data: a dataset of file paths, ``map_batches`` over a pool of model actors.

Each actor builds the batch function once (one loaded model per actor), then for every batch
reads the files, runs the model and writes the outputs atomically itself, so no pixels travel
back to the driver: only one small status row per file does.  The driver turns the rows into the
same ``Summary`` (and report, and exit status) as the single-machine file loop.
"""
from __future__ import annotations

import logging
import os
import sys
import warnings
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable, Iterator, Mapping, Sequence

import numpy as np
from tqdm import tqdm

from ..batch import Process, Summary, run_chunk, skip_done
from ..errors import ImgenError
from ..imageio import Job, plan_outputs
from . import _ray
from ._resources import WorkerResources, decide_gpus, fit_workers

log = logging.getLogger("imgen")

#: Builds a worker's batch function once per worker; called with the worker's thread count.
ProcessFactory = Callable[[int], Process]


class ImageWorker:
    """A Ray Data actor: one batch function (one loaded model) for its lifetime.

    Sets imgen's thread pool to ``threads`` (onnxruntime's comes from the factory), then on each
    batch of ``{"index", "source", "target"}`` rows reads, processes and writes the files exactly
    as the local loop does, and returns ``{"index", "error", "notes"}`` rows ("" = written).
    """

    def __init__(self, make_process: ProcessFactory, threads: int, max_pixels: int | None = None):
        from .. import set_num_threads

        set_num_threads(threads)
        self._process = make_process(threads)
        self._max_pixels = max_pixels

    def __call__(self, batch: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        jobs = [Job(Path(s), Path(t)) for s, t in zip(batch["source"], batch["target"])]
        try:
            summary = run_chunk(jobs, self._process, max_pixels=self._max_pixels)
        except Exception:  # noqa: BLE001 - an error run_chunk does not expect: isolate the file
            summary = Summary()
            for job in jobs:
                try:
                    summary.merge(run_chunk([job], self._process, max_pixels=self._max_pixels))
                except Exception as e:  # noqa: BLE001 - reported against the file
                    summary.failures.append((str(job.source), f"{type(e).__name__}: {e}"))
        failed = dict(summary.failures)
        notes = "\n".join(sorted(summary.notes | set(getattr(self._process, "notes", ()))))
        return {
            "index": np.asarray(batch["index"]),
            "error": np.array([failed.get(str(j.source), "") for j in jobs], dtype=object),
            "notes": np.array([notes] * len(jobs), dtype=object),
        }


def map_images(
    jobs: Sequence[Job],
    make_process: ProcessFactory,
    *,
    resources: WorkerResources = WorkerResources(),
    batch_size: int = 8,
    progress: bool = False,
    desc: str = "images",
    max_pixels: int | None = None,
) -> Summary:
    """Run ``make_process``'s batch function over jobs on the connected Ray cluster.

    make_process: picklable; called once per actor with its thread count, returns a function
        list[HWC image] -> list[HWC image] (optionally with a ``notes`` set, as ``imgen run``'s).
    Batches are up to ``batch_size`` consecutive jobs, as in the local loop.  An actor that dies is
    restarted and its batch retried (``resources.max_retries`` times); files of a batch that
    still fails are retried one per batch, then reported as failures.  Needs ``ray.init`` (or
    ``connected``) first.  max_pixels: images over this many pixels are refused (default: each
    worker's $IMGEN_MAX_PIXELS, else imageio.DEFAULT_MAX_PIXELS).  Returns the Summary, failures
    in job order.
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    summary = Summary()
    if not jobs:
        return summary
    indexed = list(enumerate(jobs))
    with tqdm(total=len(jobs), unit="img", desc=desc, disable=not progress, file=sys.stderr) as bar:
        rows = _run_dataset(indexed, make_process, resources, batch_size, bar, max_pixels)
        missing = [(i, job) for i, job in indexed if i not in rows]
        if missing and batch_size > 1:
            log.warning("%d file(s) lost with a failing worker; retrying them one per batch", len(missing))
            rows.update(_run_dataset(missing, make_process, resources, 1, bar, max_pixels))
    failures = []
    for i, job in indexed:
        row = rows.get(i)
        if row is None:
            failures.append((str(job.source), f"the worker process died while processing it (tried "
                                              f"{resources.max_retries + 1} time(s) on its own); not written"))
            continue
        error, notes = row
        summary.notes.update(n for n in notes.split("\n") if n)
        if error:
            failures.append((str(job.source), error))
        else:
            summary.done += 1
    summary.failures.extend(failures)
    return summary


def _run_dataset(indexed: list[tuple[int, Job]], make_process: ProcessFactory, resources: WorkerResources,
                 batch_size: int, bar: tqdm, max_pixels: int | None = None) -> dict[int, tuple[str, str]]:
    """One pass of the Ray Data pipeline; {job index: (error, notes)} for the rows that came back."""
    data = _ray.ray_data_module()
    items = [{"index": i, "source": os.path.abspath(job.source), "target": os.path.abspath(job.target)}
             for i, job in indexed]
    # About one block per batch, so that the actors share the work and a retry redoes one batch.
    blocks = -(-len(items) // batch_size)
    per_block = -(-len(items) // blocks)
    actors = min(resources.workers or fit_workers(resources, blocks), blocks)
    threads = max(1, int(resources.cpus_per_worker))
    ctx = data.DataContext.get_current()
    saved = (ctx.enable_progress_bars, ctx.print_on_execution_start, ctx.max_errored_blocks)
    ctx.enable_progress_bars, ctx.print_on_execution_start = False, False
    ctx.max_errored_blocks = -1  # a batch whose worker keeps dying must not stop the others
    rows: dict[int, tuple[str, str]] = {}
    try:
        with _quiet_ray_data(), warnings.catch_warnings():
            # Bounded retries after a worker died still go through Ray's remote args in Ray 2.60-2.63
            # (deprecated there, hence the filter); Ray Data's own default retries forever.
            warnings.filterwarnings("ignore", message=".*ray_remote_args.* is deprecated")
            ds = data.from_items(items, override_num_blocks=blocks).map_batches(
                ImageWorker,
                fn_constructor_kwargs={"make_process": make_process, "threads": threads,
                                       "max_pixels": max_pixels},
                batch_size=per_block,
                batch_format="numpy",
                compute=data.ActorPoolStrategy(size=actors, max_tasks_in_flight_per_actor=1),
                num_cpus=resources.cpus_per_worker,
                num_gpus=resources.gpus_per_worker or None,
                max_restarts=-1,
                max_task_retries=resources.max_retries,
            )
            log.info("Ray Data: %d file(s) in %d batch(es) on %d actor(s), %g CPU / %g GPU each",
                     len(items), blocks, actors, resources.cpus_per_worker, resources.gpus_per_worker)
            for row in ds.iter_rows():
                rows[int(row["index"])] = (str(row["error"]), str(row["notes"]))
                bar.update(1)
    except _ray.ray_module().exceptions.RayError as e:
        # E.g. an actor whose model does not load on its node: every batch would fail alike.
        lines = [line.strip() for line in str(e).strip().splitlines() if line.strip()]
        raise ImgenError(f"the Ray workers failed: {lines[-1] if lines else type(e).__name__}") from e
    finally:
        ctx.enable_progress_bars, ctx.print_on_execution_start, ctx.max_errored_blocks = saved
    return rows


@contextmanager
def _quiet_ray_data() -> Iterator[None]:
    """Ray Data's info lines (and its note that its progress bars are off) only with imgen -v."""
    names = ("ray.data", "ray.data._internal.progress")
    saved = [logging.getLogger(n).level for n in names]
    if not log.isEnabledFor(logging.INFO):
        logging.getLogger(names[0]).setLevel(logging.WARNING)
        logging.getLogger(names[1]).setLevel(logging.ERROR)
    try:
        yield
    finally:
        for name, level in zip(names, saved):
            logging.getLogger(name).setLevel(level)


def run_images(
    inputs: Sequence[str | os.PathLike],
    output: str | os.PathLike,
    model: str | os.PathLike,
    *,
    ext: str | None = None,
    sigma: float | None = None,
    tile: int | None = None,
    overlap: int | None = None,
    providers: Sequence[str] | None = None,
    resume: bool = False,
    address: str | None = None,
    runtime_env: Mapping[str, Any] | None = None,
    workers: int | None = None,
    cpus_per_worker: float = 1,
    gpus_per_worker: float | None = None,
    batch_size: int = 8,
    max_retries: int = 3,
    progress: bool = False,
    max_pixels: int | None = None,
) -> Summary:
    """``imgen run`` on a Ray cluster: same outputs, naming, atomic writes and failure report.

    inputs/output/ext: as ``imgen run`` (folders recursive, relative paths kept); every node
        must see these paths (a shared filesystem).  sigma on the 0-255 scale.
    resume: skip jobs whose output already exists.  address: see ``connected`` (None = a local
        instance, or the cluster already connected to).  workers: actors (default: as many as
        the cluster's CPUs or GPUs fit).  cpus_per_worker: CPUs each actor reserves, and its
        onnxruntime and imgen thread count.  gpus_per_worker: default 1 when the model would run
        on CUDA/TensorRT and the cluster has GPUs, else 0 (and actors then run on the CPU).
    max_pixels: images over this many pixels are refused (see map_images).
    Returns a Summary whose ``problems`` lists inputs that could not be planned; raises
    ImgenError (ModelError) when the model does not load or does not fit the settings.
    """
    from dataclasses import replace
    from functools import partial

    from ..processors import FrameProcessor, ProcessorOptions, build_processor

    options = ProcessorOptions(model=_model_ref(model), sigma=sigma, tile=tile, overlap=overlap,
                               providers=tuple(providers) if providers else None, color_order="bgr")
    checked = FrameProcessor(replace(options, providers=("cpu",), threads=1))  # fail early, once
    jobs, problems = plan_outputs(inputs, output, ext)
    skipped = 0
    if resume:
        jobs, skipped = skip_done(jobs)
    with _ray.connected(address, runtime_env=runtime_env):
        gpus = decide_gpus(providers, gpus_per_worker)
        if not gpus and providers is None:
            options = replace(options, providers=("cpu",))
        resources = WorkerResources(workers, cpus_per_worker, gpus, max_retries)
        summary = map_images(jobs, partial(build_processor, options), resources=resources, batch_size=batch_size,
                             progress=progress, desc=checked.name, max_pixels=max_pixels)
    summary.problems.extend(problems)
    summary.skipped = skipped
    return summary


def _model_ref(model: str | os.PathLike) -> str:
    """A model file as an absolute path (workers may run elsewhere); a shipped name as it is."""
    path = os.fspath(model)
    return os.path.abspath(path) if os.path.exists(path) else path
