"""``imgen bench --task denoise`` (the default): Gaussian noise of ``sigma`` (0-255 scale) added by
the protocol; every denoiser of methods.py and the shipped (or given) learned denoisers."""
from __future__ import annotations

import numpy as np

from .methods import resolve
from .task_base import BenchTask, Case


class DenoiseTask(BenchTask):
    name = "denoise"
    level_name = "sigma"
    default_levels = (15.0, 25.0, 50.0)

    def check_levels(self, levels):
        levels = [float(s) for s in super().check_levels(levels)]
        if any(not (s > 0 and np.isfinite(s)) for s in levels):
            raise ValueError(f"sigmas must be positive numbers, got {levels}")
        return levels

    def case(self, sample, level, protocol):
        noisy = protocol.noisy(sample.image, level)
        return Case(noisy, level / 255.0, sample.image, sigma=level)

    def methods(self, names, models, threads):
        return resolve(names, models, threads)

    def known_methods(self):
        from .methods import PEERS, classical

        return classical() + PEERS
