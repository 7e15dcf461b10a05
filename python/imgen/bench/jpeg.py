"""``imgen bench --task jpeg``: a real JPEG round trip at ``quality`` (imgen.degrade.jpeg, libjpeg
through OpenCV, 4:2:0 for colour); the decoded JPEG is the input's row, BM3D with a sigma from
the quality (imgen.restoration.jpeg_sigma) and learned models restore it."""
from __future__ import annotations

import numpy as np

from .. import degrade
from .task_base import BenchTask, Case, classical_methods, learned_methods, pick


class JpegTask(BenchTask):
    name = "jpeg"
    level_name = "quality"
    default_levels = (10,)
    input_row = "jpeg"

    def check_levels(self, levels):
        levels = super().check_levels(levels)
        if any(isinstance(q, bool) or int(q) != q or not 1 <= int(q) <= 100 for q in levels):
            raise ValueError(f"qualities must be integers from 1 to 100, got {levels}")
        return [int(q) for q in levels]

    def case(self, sample, level, protocol):
        u8 = np.clip(np.rint(sample.image * 255.0), 0, 255).astype(np.uint8)
        clean = u8.astype(np.float32) / 255.0
        decoded = degrade.jpeg(u8, level).astype(np.float32) / 255.0
        return Case(decoded, level, clean)

    def methods(self, names, models, threads):
        table = classical_methods(self.name, "quality", threads)
        return pick(table, names, self.name) + learned_methods(models, self.name, threads), {}

    def known_methods(self):
        from ..methods import REGISTRY

        return REGISTRY.names(self.name)
