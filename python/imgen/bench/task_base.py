"""What a benchmark task is (the table of tasks is tasks.py): a ``BenchTask`` turns a clean sample
and one level of its grid (a noise sigma, an SR scale, a JPEG quality, a blur kernel, ...) into a
:class:`Case` — the methods' input, the parameter handed to every method, the reference to score
against — and names the methods that can run on it."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar, Sequence

import numpy as np

from .methods import Method
from .protocol import Protocol
from .samples import Sample


@dataclass(frozen=True)
class Case:
    """One benchmark input: ``degraded`` (float32 HWC in [0, 1], may be smaller than the
    reference for SR) given to each method with ``param``; ``reference`` the clean image the
    outputs are scored against; ``sigma`` the input's noise level on the 0-255 scale (0 if none)."""

    degraded: np.ndarray
    param: Any
    reference: np.ndarray
    sigma: float = 0.0


class BenchTask:
    """One row of the task table.  Subclasses set the class attributes and implement ``case``
    and ``methods``.

    level_name: what the grid's levels are ("sigma", "scale", "quality", "kernel", ...).
    default_levels: the grid when the caller gives none.
    input_row: the name of the row that scores the degraded input itself ("bicubic" for SR, "jpeg",
        "blurred"), or None (denoise: the noisy input's PSNR is the ``psnr_noisy`` column only).
    """

    name: ClassVar[str]
    level_name: ClassVar[str]
    default_levels: ClassVar[tuple]
    input_row: ClassVar[str | None] = None

    def check_levels(self, levels: Sequence) -> list:
        """The levels, validated (ValueError naming what is accepted)."""
        levels = list(levels)
        if not levels:
            raise ValueError(f"task {self.name} needs at least one {self.level_name}")
        return levels

    def level_label(self, level) -> str:
        """The level as the tables show it."""
        return f"{level:g}" if isinstance(level, (int, float)) else str(level)

    def protocol(self, base: Protocol, level) -> Protocol:
        """How ``level`` is scored (SR: on Y with the scale shaved unless the caller said otherwise)."""
        return base

    def case(self, sample: Sample, level, protocol: Protocol) -> Case:
        raise NotImplementedError

    def as_output(self, case: Case) -> np.ndarray:
        """The degraded input at the reference's size, scored as ``psnr_noisy`` and as the
        ``input_row`` (SR: its bicubic enlargement)."""
        return case.degraded

    def score(self, protocol: Protocol, case: Case, out: np.ndarray) -> dict[str, float]:
        """The record's scores for one output: {"psnr", "ssim"} (a task may add its own keys)."""
        return {"psnr": protocol.psnr(case.reference, out), "ssim": protocol.ssim(case.reference, out)}

    def methods(self, names: Sequence[str] | None, models: Sequence[str] | None,
                threads: int) -> tuple[list[Method], dict[str, str]]:
        """(methods to run, {name: why it cannot run here}); unknown names raise ValueError."""
        raise NotImplementedError

    def known_methods(self) -> tuple[str, ...]:
        return ()


def pick(table: dict[str, Method], names: Sequence[str] | None, task: str) -> list[Method]:
    """The methods of ``table`` named (all when None), in the table's order; unknown names raise."""
    wanted = list(table) if names is None else list(names)
    unknown = [n for n in wanted if n not in table]
    if unknown:
        raise ValueError(f"unknown method(s) {', '.join(unknown)} for task {task}; known: {', '.join(table)} "
                         f"(learned models go in models=, not methods=)")
    return [table[n] for n in table if n in wanted]


def classical_methods(task: str, param: str, threads: int, *, family: str = "imgen", skip: Sequence[str] = (),
                      clip: bool = False) -> dict[str, Method]:
    """The classical methods of ``task`` in ``imgen.methods.REGISTRY`` as bench methods ``run(x, level)``:
    ``method(x, method.params(**{param: level}))`` (clipped to [0, 1] with ``clip``), less ``skip``
    (the input's own row), each noted with its registry help."""
    from ..methods import REGISTRY

    def bench_method(m) -> Method:
        def run(x, level):
            out = m(x, m.params(**{param: level}))
            return np.clip(out, 0, 1) if clip else out

        return Method(m.name, family, threads, run, note=m.help)

    return {m.name: bench_method(m) for m in REGISTRY.methods(task) if m.name not in skip}


def learned_methods(models: Sequence[str] | None, task: str, threads: int) -> list[Method]:
    """Learned models of ``task`` as bench methods ``run(x, param)``: the given files/names, or the
    shipped models of that task when None.  Each runs through imgen's processor, exactly as
    ``imgen restore --task TASK --model M`` would (a gray model on colour images: see processors)."""
    from ..engine import Model, exact_model_path, shipped_models, shipped_path
    from ..processors import FrameProcessor, ProcessorOptions

    # shipped models by their exact files: a float model and its int8 variant both run (on the CPU a
    # bare name would resolve to the int8 one, engine.resolve_model_path)
    names = ([p for p in map(shipped_path, shipped_models()) if Model.open(p, threads=1).info.task == task]
             if models is None else [exact_model_path(m) for m in models])
    out = []
    for name in names:
        if task == "deblur" and Model.open(name, threads=1).info.extra.get("input_from") == "wiener":
            out.append(_wiener_net_method(str(name), threads))
            continue
        proc = FrameProcessor(ProcessorOptions(model=str(name), task=task, threads=threads))
        model = proc.model
        scale = model.info.scale or 1
        out.append(Method(model.name, "learned", threads, lambda x, p, proc=proc: proc([x])[0],
                          note=f"{model.info.channels}-channel model, {model.provider}",
                          levels=(scale,) if scale > 1 else None,  # an upscaler runs at its own scale only
                          published=model.info.published or ""))
    return out


def _wiener_net_method(path: str, threads: int) -> Method:
    """A network that refines Wiener's output, as a learned bench method: the registry's
    ``wiener_net`` with this file as its refiner and the level as the kernel."""
    from ..engine import Model
    from ..methods import REGISTRY

    m = REGISTRY.get("wiener_net", "deblur")
    model = Model.open(path, threads=1)

    def run(x, level):
        return m(x, m.params(kernel=level, refiner=path))

    return Method(model.name, "learned", threads, run, note=f"{model.info.channels}-channel network on Wiener's "
                  "output (method wiener_net, the true kernel)", published=model.info.published or "")
