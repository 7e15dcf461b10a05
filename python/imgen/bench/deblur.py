"""``imgen bench --task deblur``: blur by a known kernel (imgen.degrade.blur, reflect borders) plus
Gaussian noise of ``NOISE_SIGMA`` (0-255 scale, 1 %, seeded by the protocol); the blurred image is
the input's row, Wiener and Richardson-Lucy (scikit-image, given the true kernel) and learned
models restore it.  Levels are kernel names from imgen.degrade.fixed_kernels."""
from __future__ import annotations

import dataclasses
import importlib.util

from .. import degrade
from .task_base import BenchTask, Case, classical_methods, learned_methods, pick

NOISE_SIGMA = 2.55


class DeblurTask(BenchTask):
    name = "deblur"
    level_name = "kernel"
    default_levels = tuple(degrade.fixed_kernels())
    input_row = "blurred"

    def check_levels(self, levels):
        levels = [str(k) for k in super().check_levels(levels)]
        known = tuple(degrade.fixed_kernels())
        bad = [k for k in levels if k not in known]
        if bad:
            raise ValueError(f"unknown kernel(s) {', '.join(bad)}; known: {', '.join(known)}")
        return levels

    def case(self, sample, level, protocol):
        blurred = degrade.blur(sample.image, level, NOISE_SIGMA / 255.0, seed=protocol.seed)
        return Case(blurred, level, sample.image, sigma=NOISE_SIGMA)

    def methods(self, names, models, threads):
        """The registry's deblur methods (scikit-image's, given the true kernel: noted, not run,
        without scikit-image)."""
        notes = {}
        table = classical_methods(self.name, "kernel", 1, family="peer")
        # wiener_net runs a network: by default its rows are the learned ones (the shipped refiner's
        # float and int8 files, learned_methods); named, it runs with its default refiner
        if "wiener_net" in table:
            table["wiener_net"] = dataclasses.replace(table["wiener_net"], family="learned")
            if names is None:
                del table["wiener_net"]
        if importlib.util.find_spec("skimage") is None:
            notes = {n: "scikit-image is not installed (pip install 'imgen[restore]')"
                     for n in table if names is None or n in names}
            names = [n for n in (names or []) if n not in notes] if names is not None else None
            table = {}
        return pick(table, names, self.name) + learned_methods(models, self.name, threads), notes

    def known_methods(self):
        from ..methods import REGISTRY

        return REGISTRY.names(self.name)
