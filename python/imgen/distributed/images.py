"""Image folders on Ray: a fixed pool of actors, each holding one loaded model, fed batches of paths.

Each actor builds the batch function once (one loaded model per actor), then for every batch
reads the files, runs the model and writes the outputs atomically itself, so no pixels travel
through Ray: only the paths in and one small status row per file out.  The driver turns the rows
into the same ``Summary`` (and report, and exit status) as the single-machine file loop.

Plain Ray actors, not Ray Data: their constructor arguments (a picklable factory, a few hundred
bytes) travel inline with the creation task, so an actor restarted after its worker or node died
never depends on an object that may have gone out of scope with it.
"""
from __future__ import annotations

import logging
import os
import sys
import time
from collections import deque
from pathlib import Path
from typing import Any, Callable, Sequence

from tqdm import tqdm

from ..batch import JobLike, Process, Summary, as_job, plan_files, run_chunk
from ..errors import ImgenError, error_reason
from ..imageio import Job
from . import _ray
from ._resources import ClusterOptions, WorkerResources, fit_workers

log = logging.getLogger("imgen")

#: Builds a worker's batch function once per worker; called with the worker's thread count.
ProcessFactory = Callable[[int], Process]

#: Times a batch is sent again to an actor that is restarting (ActorUnavailableError), pausing
#: 0.5, 1, 1.5 ... (at most 5) s before each: up to ~80 s for a restart before the batch is lost.
UNAVAILABLE_RETRIES = 20

#: A batch as sent to an actor: (job index, source path, target path) per file.
Item = tuple[int, str, str]


class ImageWorker:
    """A Ray actor: one batch function (one loaded model) for its lifetime.

    Sets imgen's thread pool to ``threads`` (onnxruntime's comes from the factory), then
    :meth:`run` reads, processes and writes a batch of files exactly as the local loop does.
    """

    def __init__(self, make_process: ProcessFactory, threads: int, max_pixels: int | None = None):
        from .. import set_num_threads

        set_num_threads(threads)
        self._process = make_process(threads)
        self._per_file = bool(getattr(make_process, "per_file", False))
        self._max_pixels = max_pixels

    def run(self, items: Sequence[Item]) -> list[tuple[int, str, str]]:
        """(index, error, notes) per item: error "" when written; notes newline-separated."""
        jobs = [Job(Path(s), Path(t)) for _, s, t in items]
        if self._per_file:
            summary = self._one_by_one(jobs)
        else:
            try:
                summary = run_chunk(jobs, self._process, max_pixels=self._max_pixels)
            except Exception:  # noqa: BLE001 - an error run_chunk does not expect: isolate the file
                summary = self._one_by_one(jobs)
        failed = dict(summary.failures)
        notes = "\n".join(sorted(summary.notes | set(getattr(self._process, "notes", ()))))
        return [(i, failed.get(str(job.source), ""), notes) for (i, _, _), job in zip(items, jobs)]

    def _one_by_one(self, jobs: list[Job]) -> Summary:
        summary = Summary()
        for job in jobs:
            try:
                if self._per_file:  # e.g. its own mask, found by the file's name
                    self._process.name = job.source.name
                summary.merge(run_chunk([job], self._process, max_pixels=self._max_pixels))
            except Exception as e:  # noqa: BLE001 - reported against the file
                summary.failures.append((str(job.source), error_reason(e)))
        return summary


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
        A factory with ``per_file = True`` gets each file on its own, the function's ``name``
        set to the file's name first (``imgen inpaint --mask-dir``: a mask per image by name).
    Batches are up to ``batch_size`` consecutive jobs, as in the local loop.  An actor whose
    worker process or node dies is restarted (elsewhere if need be) and its batch retried
    (``resources.max_retries`` times); files of a batch that still fails are retried one per
    batch, then reported as failures.  Needs ``ray.init`` (or ``connected``) first.
    max_pixels: images over this many pixels are refused (default: each worker's
    $IMGEN_MAX_PIXELS, else imageio.DEFAULT_MAX_PIXELS).  Returns the Summary, failures in job
    order; raises ImgenError when the actors cannot start (e.g. the model does not load there).
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    summary = Summary()
    if not jobs:
        return summary
    indexed = [(i, os.path.abspath(job.source), os.path.abspath(job.target)) for i, job in enumerate(jobs)]
    with tqdm(total=len(jobs), unit="img", desc=desc, disable=not progress, file=sys.stderr) as bar:
        rows = _run_pool(indexed, make_process, resources, batch_size, bar, max_pixels)
        missing = [item for item in indexed if item[0] not in rows]
        if missing and batch_size > 1:
            log.warning("%d file(s) lost with a failing worker; retrying them one per batch", len(missing))
            rows.update(_run_pool(missing, make_process, resources, 1, bar, max_pixels))
    for i, job in enumerate(jobs):
        row = rows.get(i)
        if row is None:
            summary.failures.append((str(job.source), f"the worker process died while processing it (tried "
                                                      f"{resources.max_retries + 1} time(s) on its own); not written"))
            continue
        error, notes = row
        summary.notes.update(n for n in notes.split("\n") if n)
        if error:
            summary.failures.append((str(job.source), error))
        else:
            summary.done += 1
    return summary


def _run_pool(items: list[Item], make_process: ProcessFactory, resources: WorkerResources, batch_size: int,
              bar: tqdm, max_pixels: int | None) -> dict[int, tuple[str, str]]:
    """One pass over ``items`` on a pool of actors; {job index: (error, notes)} for the batches
    that came back (a batch whose actor died more than ``max_retries`` times does not)."""
    ray = _ray.ray_module()
    batches = deque(items[k:k + batch_size] for k in range(0, len(items), batch_size))
    size = min(resources.workers or fit_workers(resources, len(batches)), len(batches))
    threads = max(1, int(resources.cpus_per_worker))
    actor_class = ray.remote(ImageWorker).options(
        num_cpus=resources.cpus_per_worker, num_gpus=resources.gpus_per_worker,
        max_restarts=-1, max_task_retries=resources.max_retries)
    idle = [actor_class.remote(make_process, threads, max_pixels) for _ in range(size)]
    log.info("Ray: %d file(s) in %d batch(es) on %d actor(s), %g CPU / %g GPU each",
             len(items), len(batches), size, resources.cpus_per_worker, resources.gpus_per_worker)
    inflight: dict[Any, tuple[Any, list[Item]]] = {}
    rows: dict[int, tuple[str, str]] = {}
    unavailable: dict[int, int] = {}  # first job index of a batch: times its actor was restarting
    died: dict[int, int] = {}  # ... and times its actor died under it
    try:
        while batches or inflight:
            while batches and idle:
                actor, batch = idle.pop(), batches.popleft()
                inflight[actor.run.remote(batch)] = (actor, batch)
            if not batches:
                # Nothing left to hand out: release the idle actors' CPUs/GPUs, so that an actor
                # restarting after its node died finds room on the nodes that are left.
                for actor in idle:
                    ray.kill(actor, no_restart=True)
                idle.clear()
            done, _ = ray.wait(list(inflight), num_returns=1)
            for ref in done:
                actor, batch = inflight.pop(ref)
                try:
                    result = ray.get(ref)
                except ray.exceptions.RayActorError as e:
                    if getattr(e, "actor_init_failed", False):
                        raise ImgenError(f"the Ray workers failed to start: {_last_line(e)}") from None
                    first = batch[0][0]
                    if isinstance(e, ray.exceptions.ActorUnavailableError) and _again(e, first, unavailable, died,
                                                                                      resources.max_retries):
                        batches.appendleft(batch)
                        idle.append(actor)
                        continue
                    log.info("a worker died %d time(s) on a batch of %d file(s): %s", resources.max_retries + 1,
                             len(batch), _last_line(e))
                    result = []
                except ray.exceptions.RayError as e:
                    raise ImgenError(f"the Ray workers failed: {_last_line(e)}") from None
                rows.update((i, (error, notes)) for i, error, notes in result)
                bar.update(len(batch))
                idle.append(actor)
    finally:
        for ref in inflight:
            ray.cancel(ref, force=True)
        for actor in idle + [a for a, _ in inflight.values()]:
            ray.kill(actor, no_restart=True)
    return rows


def _again(error: Exception, first: int, restarting: dict[int, int], died: dict[int, int], max_retries: int) -> bool:
    """Whether a batch whose actor was unavailable (Ray's ActorUnavailableError) is sent again, after
    a pause.  Sent while the actor was restarting after another batch killed it ("The actor is
    restarting" / "was restarted"): not this batch's fault, so up to UNAVAILABLE_RETRIES times,
    pausing longer each time (a restart on a loaded machine takes seconds).  Its actor died under
    it (e.g. "socket closed"): ``max_retries`` times, as a batch that kills its worker."""
    if "restart" in str(error).lower():
        restarting[first] = restarting.get(first, 0) + 1
        if restarting[first] > UNAVAILABLE_RETRIES:
            return False
        time.sleep(min(0.5 * restarting[first], 5.0))
        return True
    died[first] = died.get(first, 0) + 1
    if died[first] > max_retries:
        return False
    time.sleep(0.5 * died[first])
    return True


def _last_line(error: Exception) -> str:
    lines = [line.strip() for line in str(error).strip().splitlines() if line.strip()]
    return lines[-1] if lines else type(error).__name__


def run_images(
    inputs: Sequence[str | os.PathLike],
    output: str | os.PathLike,
    processor: JobLike,
    *,
    ext: str | None = None,
    resume: bool = False,
    cluster: ClusterOptions = ClusterOptions(),
    batch_size: int = 8,
    progress: bool = False,
    max_pixels: int | None = None,
) -> Summary:
    """``imgen run`` / ``denoise`` / ``restore`` / ``inpaint`` / ``reconstruct`` on a Ray cluster:
    same outputs, naming, atomic writes and report as the local twin, ``imgen.batch.run_images``.

    processor: what to do to each image, a :class:`imgen.jobs.Job` --
        ``imgen.processors.ProcessorOptions`` (a model or a classical method; its colour order
        should be "bgr", as files are read), ``InpaintJob``, ``ReconstructJob`` -- or a model file /
        shipped model name, run as ``imgen run`` runs it.  Each actor builds its processor once
        (``job(threads)``).
    inputs/output/ext: as ``imgen run`` (folders recursive, relative paths kept); every node
        must see these paths (a shared filesystem).
    resume: skip jobs whose output already exists.  cluster: where and how wide
    (:class:`ClusterOptions`: workers are actors, by default as many as the cluster's CPUs or GPUs
    fit; each reserves cpus_per_worker CPUs, also its onnxruntime and imgen thread count, and
    gpus_per_worker GPUs, by default 1 when the model would run on CUDA/TensorRT and the cluster
    has GPUs, else 0, the actors then running on the CPU; max_retries: retries of a batch whose
    worker died).  batch_size: files per actor call.  max_pixels: images over this many pixels are refused (see map_images).
    Returns a Summary whose ``problems`` lists inputs that could not be planned; raises
    ImgenError (ModelError) when the model does not load or does not fit the settings.
    """
    job = as_job(processor).portable()
    job.with_providers(("cpu",))(1)  # fail early, once
    jobs, problems, skipped = plan_files(inputs, output, ext=ext, resume=resume)
    with _ray.connected(cluster.address, runtime_env=cluster.runtime_env):
        gpus = cluster.gpus_for(job)
        if job.model and not gpus and job.providers is None:
            job = job.with_providers(("cpu",))
        summary = map_images(jobs, job, resources=cluster.resources(gpus), batch_size=batch_size,
                             progress=progress, desc=job.desc, max_pixels=max_pixels)
    summary.problems.extend(problems)
    summary.skipped = skipped
    return summary
