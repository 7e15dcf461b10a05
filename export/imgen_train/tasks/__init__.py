"""Training tasks, listed in one place: what a run draws, which networks each optimizer updates,
one step, validation and sample grids.  The loop in train.py is the same for all of them.

A task's ``step(batch, update)`` computes its losses and calls ``update(name, loss)`` for each of
its optimizers in turn (a GAN: the discriminator's, then the generator's); it returns the
tensors to log, {name: scalar}.
"""
from __future__ import annotations

from .base import Task, Update, recalibrate_bn
from .cyclegan import CycleGANTask
from .denoise import DenoiseTask
from .gan import GanTask
from .inpaint import InpaintTask
from .restore import DeblurTask, JpegTask, SRTask, WienerDeblurTask
from .vae import VaeTask


def _registry(*tasks: type[Task]) -> dict[str, type[Task]]:
    out: dict[str, type[Task]] = {}
    for task in tasks:
        if task.name in out:
            raise ValueError(f"task {task.name!r} registered twice")
        out[task.name] = task
    return out


TASKS: dict[str, type[Task]] = _registry(DenoiseTask, GanTask, VaeTask, CycleGANTask, SRTask, JpegTask, InpaintTask,
                                     DeblurTask, WienerDeblurTask)

__all__ = ["TASKS", "CycleGANTask", "DeblurTask", "DenoiseTask", "GanTask", "InpaintTask", "JpegTask", "SRTask", "Task", "Update", "VaeTask", "WienerDeblurTask",
           "recalibrate_bn"]
