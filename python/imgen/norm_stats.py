"""The instance-norm statistics contract of a model file (``imgen.norm_stats = "instance"``).

Such a file reports each instance-norm layer's per-channel mean and variance as outputs
``imgen_stat_mean_K``/``imgen_stat_var_K`` (N, C, 1, 1) when the bool scalar ``imgen_report_stats``
is fed true, and takes given ones as optional inputs (initializers onnxruntime lists as
overridable) ``imgen_given_mean_K``/``imgen_given_var_K`` (1, C, 1, 1), used when the bool scalar
``imgen_use_given_stats`` is fed true (docs/model-format.md).
This module finds and checks those names on a session; :mod:`imgen.image_model` runs the passes.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Sequence

import numpy as np

from .errors import ModelError

STAT_PREFIX = "imgen_stat_"
GIVEN_PREFIX = "imgen_given_"
SWITCH = "imgen_use_given_stats"
REPORT = "imgen_report_stats"
#: What a statistics pass feeds besides the image.
REPORT_FEEDS = {REPORT: np.array(True)}
_STAT = re.compile(r"^imgen_stat_(mean|var)_(\d+)$")
_DTYPES = {"tensor(float)": np.float32, "tensor(float16)": np.float16}


def is_stat_output(name: str) -> bool:
    """Whether an output is one of the statistics (never the image)."""
    return name.startswith(STAT_PREFIX)


@dataclass(frozen=True)
class NormStats:
    """The statistics outputs of a model and the inputs that take them back.

    outputs: stat output names in order (mean_0, var_0, mean_1, ...); given: the matching input
    names; channels: C of each; dtypes: numpy dtype of each given input.
    """

    outputs: tuple[str, ...]
    given: tuple[str, ...]
    channels: tuple[int, ...]
    dtypes: tuple[type, ...]

    @classmethod
    def find(cls, model_name: str, outputs: Sequence, overridable: Sequence) -> "NormStats":
        """From a session's outputs and overridable initializers (TensorSpec-like: name, shape,
        type).  Raises ModelError naming what is missing or mismatched."""
        over = {s.name: s for s in overridable}
        for switch in (SWITCH, REPORT):
            if switch not in over:
                raise ModelError(f"model {model_name} declares imgen.norm_stats 'instance' but has no optional "
                                 f"input {switch!r}; re-export it with imgen (or drop the key)")
            if over[switch].type != "tensor(bool)" or tuple(over[switch].shape) != ():
                raise ModelError(f"model {model_name}: input {switch!r} must be a bool scalar, got "
                                 f"{over[switch].type} {list(over[switch].shape)}")
        found: dict[int, dict[str, object]] = {}
        for spec in outputs:
            m = _STAT.match(spec.name)
            if m:
                found.setdefault(int(m.group(2)), {})[m.group(1)] = spec
        if not found or sorted(found) != list(range(len(found))):
            raise ModelError(f"model {model_name} declares imgen.norm_stats 'instance' but its statistics "
                             f"outputs are {sorted(found) or 'missing'}; expected imgen_stat_mean_0, "
                             f"imgen_stat_var_0, imgen_stat_mean_1, ...")
        outs, given, channels, dtypes = [], [], [], []
        for k in range(len(found)):
            for kind in ("mean", "var"):
                out = found[k].get(kind)
                name = f"{GIVEN_PREFIX}{kind}_{k}"
                spec = over.get(name)
                if out is None or spec is None:
                    raise ModelError(f"model {model_name}: instance-norm layer {k} lacks "
                                     f"{'output imgen_stat_' + kind + '_' + str(k) if out is None else 'input ' + name}")
                shape = tuple(spec.shape)
                if len(shape) != 4 or shape[0] != 1 or shape[2:] != (1, 1) or not isinstance(shape[1], int):
                    raise ModelError(f"model {model_name}: input {name} has shape {list(shape)}; expected [1, C, 1, 1]")
                if spec.type not in _DTYPES:
                    raise ModelError(f"model {model_name}: input {name} is {spec.type}; expected float or float16")
                outs.append(out.name)
                given.append(name)
                channels.append(shape[1])
                dtypes.append(_DTYPES[spec.type])
        return cls(tuple(outs), tuple(given), tuple(channels), tuple(dtypes))

    def feeds(self, stats: Sequence[np.ndarray]) -> dict[str, np.ndarray]:
        """Inputs that make the model use ``stats`` (what a statistics pass returned for one
        image: one (1, C, 1, 1) array per name in ``outputs``)."""
        if len(stats) != len(self.outputs):
            raise ModelError(f"got {len(stats)} statistics arrays for {len(self.outputs)} outputs")
        feeds: dict[str, np.ndarray] = {SWITCH: np.array(True)}
        for name, value, c, dtype in zip(self.given, stats, self.channels, self.dtypes):
            value = np.asarray(value)
            if value.shape != (1, c, 1, 1):
                raise ModelError(f"statistics for {name} have shape {value.shape}; expected (1, {c}, 1, 1)")
            if not np.all(np.isfinite(value)):
                raise ModelError(f"statistics for {name} contain NaN or Inf")
            feeds[name] = value.astype(dtype, copy=False)
        return feeds
