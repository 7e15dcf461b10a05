"""The benchmark's task table: what ``imgen bench --task T`` degrades, runs and scores.

The runner (runner.py) is the same for every task; a task is one module with a
:class:`~imgen.bench.task_base.BenchTask` subclass and one entry here.
"""
from __future__ import annotations

from .deblur import DeblurTask
from .denoise_task import DenoiseTask
from .inpaint import InpaintTask
from .jpeg import JpegTask
from .sr import SRTask
from .task_base import BenchTask


def _registry(*tasks: BenchTask) -> dict[str, BenchTask]:
    out: dict[str, BenchTask] = {}
    for task in tasks:
        if task.name in out:
            raise ValueError(f"bench task {task.name!r} registered twice")
        out[task.name] = task
    return out


TASKS: dict[str, BenchTask] = _registry(
    DenoiseTask(),
    SRTask(),
    DeblurTask(),
    JpegTask(),
    InpaintTask(),
)


def get(name: str) -> BenchTask:
    """The task called ``name`` (ValueError listing the known ones)."""
    if name not in TASKS:
        raise ValueError(f"unknown bench task {name!r}; known: {', '.join(TASKS)}")
    return TASKS[name]


__all__ = ["TASKS", "get"]
