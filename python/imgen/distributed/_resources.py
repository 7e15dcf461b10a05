"""How many Ray workers, and what each reserves: CPUs (= its threads), GPUs, retries."""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

from . import _ray


@dataclass(frozen=True)
class WorkerResources:
    """workers: actors or concurrent tasks (None = as many as the cluster fits);
    cpus_per_worker: CPUs reserved per worker, also its onnxruntime/imgen thread count;
    gpus_per_worker: GPUs reserved per worker (fractions share a GPU);
    max_retries: how often a worker's task is retried after the worker process died."""

    workers: int | None = None
    cpus_per_worker: float = 1
    gpus_per_worker: float = 0
    max_retries: int = 3

    def __post_init__(self):
        if self.workers is not None and self.workers < 1:
            raise ValueError(f"workers must be >= 1, got {self.workers}")
        if not self.cpus_per_worker > 0:
            raise ValueError(f"cpus_per_worker must be > 0, got {self.cpus_per_worker}")
        if self.gpus_per_worker < 0:
            raise ValueError(f"gpus_per_worker must be >= 0, got {self.gpus_per_worker}")
        if self.max_retries < 0:
            raise ValueError(f"max_retries must be >= 0, got {self.max_retries}")


@dataclass(frozen=True)
class ClusterOptions:
    """Where a distributed run goes and how wide (what ``run_images`` and ``run_videos`` share).

    address / runtime_env: see ``connected`` (None = a local instance, or the cluster already
    connected to).  workers, cpus_per_worker, max_retries: as :class:`WorkerResources`.
    gpus_per_worker: None decides it from the model's providers (:func:`decide_gpus`).
    Checked when built (ValueError naming the field).
    """

    address: str | None = None
    runtime_env: Mapping[str, Any] | None = None
    workers: int | None = None
    cpus_per_worker: float = 1
    gpus_per_worker: float | None = None
    max_retries: int = 3

    def __post_init__(self):
        self.resources(self.gpus_per_worker or 0)  # the one check of the numbers

    def resources(self, gpus: float) -> WorkerResources:
        """What each worker reserves, with ``gpus`` GPUs."""
        return WorkerResources(self.workers, self.cpus_per_worker, gpus, self.max_retries)

    def gpus_for(self, options) -> float:
        """GPUs per worker for a ProcessorOptions: decided from a model's providers when not
        given; a classical method needs none unless asked."""
        if options.model:
            return decide_gpus(options.providers, self.gpus_per_worker)
        return float(self.gpus_per_worker or 0)


def fit_workers(resources: WorkerResources, tasks: int) -> int:
    """How many workers the connected cluster runs at once (at least 1, at most ``tasks``)."""
    total = _ray.cluster_resources()
    fit = math.floor(total.get("CPU", 1) / resources.cpus_per_worker)
    if resources.gpus_per_worker:
        fit = min(fit, math.floor(total.get("GPU", 0) / resources.gpus_per_worker))
    return max(1, min(fit, tasks))


def decide_gpus(providers: Sequence[str] | None, requested: float | None) -> float:
    """GPUs per worker: as requested; else 1 when the model would run on CUDA/TensorRT.

    Named providers decide it (cuda/tensorrt -> 1).  With none named, the cluster needs GPUs and
    this machine's onnxruntime a GPU provider (workers are assumed to be installed alike).
    """
    if requested is not None:
        return float(requested)
    from .._runtime import _full_provider_name, available_providers, is_gpu

    if providers:
        return 1.0 if is_gpu(_full_provider_name(providers[0])) else 0.0
    if _ray.cluster_resources().get("GPU", 0) < 1:
        return 0.0
    return 1.0 if any(is_gpu(p) for p in available_providers()) else 0.0
