"""``imgen bench --task sr``: MATLAB-bicubic downscaling by ``scale`` (imgen.degrade.downscale, the
papers' protocol) or the given LR files (--lr-dir), upscaled back by OpenCV bicubic (the input's
row), Lanczos and learned SR models; scored on BT.601 Y with ``scale`` pixels shaved unless the
protocol says otherwise (the SR convention)."""
from __future__ import annotations

from dataclasses import replace

import numpy as np

from .. import degrade
from ..restoration import upscale
from .methods import Method
from .protocol import Protocol
from .task_base import BenchTask, Case, classical_methods, learned_methods, pick


def _crop_to(image: np.ndarray, multiple: int) -> np.ndarray:
    h, w = image.shape[0] - image.shape[0] % multiple, image.shape[1] - image.shape[1] % multiple
    return np.ascontiguousarray(image[:h, :w])


class SRTask(BenchTask):
    name = "sr"
    level_name = "scale"
    default_levels = (2,)
    input_row = "bicubic"

    def check_levels(self, levels):
        levels = super().check_levels(levels)
        if any(isinstance(s, bool) or int(s) != s or not 2 <= int(s) <= 8 for s in levels):
            raise ValueError(f"scales must be integers from 2 to 8, got {levels}")
        return [int(s) for s in levels]

    def protocol(self, base: Protocol, level) -> Protocol:
        """Y channel and ``scale`` pixels shaved, unless the caller set a shave or Y already."""
        if base.shave or base.y_channel:
            return base
        return replace(base, shave=level, y_channel=True)

    def case(self, sample, level, protocol):
        """HR cropped to a multiple of the scale (the MATLAB files' convention); LR = the sample's
        paired LR image when it has one (``sample.lr``), else downscale(HR)."""
        hr = _crop_to(sample.image, level)
        lr = getattr(sample, "lr", None)
        if lr is None:
            lr = degrade.downscale(hr, level)
        elif lr.shape[:2] != (hr.shape[0] // level, hr.shape[1] // level):
            raise ValueError(f"{sample.name}: LR image is {lr.shape[1]}x{lr.shape[0]}, but the HR image "
                             f"{hr.shape[1]}x{hr.shape[0]} at scale {level} needs "
                             f"{hr.shape[1] // level}x{hr.shape[0] // level}")
        return Case(lr, level, hr)

    def as_output(self, case):
        return np.clip(upscale(case.degraded, case.param, method="bicubic"), 0, 1)

    def _table(self, threads: int) -> dict[str, Method]:
        """The registry's sr methods but the input's row (bicubic), clipped to [0, 1]."""
        return classical_methods(self.name, "scale", 1, skip=(self.input_row,), clip=True)

    def methods(self, names, models, threads):
        return pick(self._table(threads), names, self.name) + learned_methods(models, self.name, threads), {}

    def known_methods(self):
        return tuple(self._table(1))
