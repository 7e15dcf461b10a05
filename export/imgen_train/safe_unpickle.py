"""Read the tensors of a pickled checkpoint without running code from it (``imgen import --trust-pickle``).

Research checkpoints are often whole modules pickled from a training script (``torch.save(model)`` run
as ``__main__``) or dicts holding one beside an epoch counter (``{'epoch': 50, 'model': Net}``).
``torch.load(weights_only=False)`` needs the original classes importable and runs whatever the file
names; ``load_restricted`` needs neither:

* the globals torch's own ``weights_only`` loader allows (tensor and parameter rebuilders, dtypes,
  ``OrderedDict``, ...) resolve to the real objects;
* every other global -- a model class, ``os.system``, ``builtins.eval`` -- resolves to a fresh
  ``StandIn`` class named after it, which records the arguments it is called with and the state it is
  given (``__setstate__``, ``__dict__``) and does nothing else.  A malicious ``__reduce__`` therefore
  builds an inert ``StandIn`` instead of calling its payload.

``state_dict_of`` then flattens a recovered module (``_parameters``, ``_buffers``, ``_modules``, as
``nn.Module.state_dict`` would, persistent buffers only) or finds one inside a dict.
"""
from __future__ import annotations

import _compat_pickle
import pickle
import types
import warnings
from collections.abc import Mapping
from pathlib import Path

import torch

#: Container keys that hold the model in a training script's checkpoint dict, tried in this order.
MODEL_KEYS = ("params_ema", "params", "state_dict", "model", "net", "network", "generator", "netG", "G")


class StandIn:
    """An inert stand-in for a class the pickle names; see the module docstring."""

    _pickled_name = "?"

    def __new__(cls, *args, **kwargs):
        obj = object.__new__(cls)
        obj.__dict__["_standin_args"] = args
        return obj

    def __init__(self, *args, **kwargs):  # called by REDUCE/INST: record, never act
        self.__dict__["_standin_args"] = args

    def __setstate__(self, state) -> None:
        if isinstance(state, tuple) and len(state) == 2:  # (__dict__ state, __slots__ state)
            for part in state:
                if isinstance(part, dict):
                    self.__dict__.update(part)
        elif isinstance(state, dict):
            self.__dict__.update(state)
        else:
            self.__dict__["_standin_state"] = state

    def __setitem__(self, key, value) -> None:  # SETITEMS on a pickled dict subclass
        self.__dict__.setdefault("_standin_items", {})[key] = value

    def append(self, value) -> None:  # APPENDS on a pickled list subclass
        self.__dict__.setdefault("_standin_list", []).append(value)

    def extend(self, values) -> None:
        self.__dict__.setdefault("_standin_list", []).extend(values)

    def __repr__(self) -> str:
        return f"<stand-in for {self._pickled_name}>"


def _allowed() -> dict[str, object]:
    from torch import _weights_only_unpickler

    return dict(_weights_only_unpickler._get_allowed_globals())  # noqa: SLF001 -- torch's own allowlist


class RestrictedUnpickler(pickle.Unpickler):
    """A pickle.Unpickler whose globals are torch's weights-only allowlist or inert StandIn classes."""

    _standins: dict[str, type] = {}

    def find_class(self, module: str, name: str):
        if (module, name) in _compat_pickle.NAME_MAPPING:  # protocol 2 names Python 2's modules (__builtin__.set)
            module, name = _compat_pickle.NAME_MAPPING[(module, name)]
        module = _compat_pickle.IMPORT_MAPPING.get(module, module)
        full = f"{module}.{name}"
        allowed = _ALLOWED.get(full)
        if allowed is not None:
            return allowed
        cls = self._standins.get(full)
        if cls is None:
            cls = type(name if name.isidentifier() else "StandIn", (StandIn,), {"_pickled_name": full})
            self._standins[full] = cls
        return cls


_ALLOWED = _allowed()
#: What ``torch.load(pickle_module=...)`` needs of a pickle module.
pickle_module = types.SimpleNamespace(Unpickler=RestrictedUnpickler, __name__=__name__,
                                      load=lambda f, **kw: RestrictedUnpickler(f, **kw).load())


def load_restricted(path: str | Path):
    """The object a torch checkpoint holds, with StandIn instances for every class it names (no code
    from the file runs).  Raises what torch.load raises for a file that is not a checkpoint."""
    with warnings.catch_warnings():  # torch cannot compare the stand-ins' source with the pickled one's
        warnings.filterwarnings("ignore", message="Couldn't retrieve source code")
        return torch.load(path, map_location="cpu", weights_only=False, pickle_module=pickle_module)


def is_module_like(obj) -> bool:
    """A recovered nn.Module (a StandIn with a module's state) or a real one."""
    if isinstance(obj, torch.nn.Module):
        return True
    return isinstance(obj, StandIn) and isinstance(obj.__dict__.get("_modules"), Mapping) \
        and isinstance(obj.__dict__.get("_parameters"), Mapping)


def _flatten(module, prefix: str, out: dict[str, torch.Tensor]) -> None:
    state = module.__dict__
    skip = state.get("_non_persistent_buffers_set") or ()
    skip = skip if isinstance(skip, (set, frozenset, list, tuple)) else ()
    for name, value in state.get("_parameters", {}).items():
        if isinstance(value, torch.Tensor):
            out[prefix + name] = value.detach()
    for name, value in state.get("_buffers", {}).items():
        if isinstance(value, torch.Tensor) and name not in skip:
            out[prefix + name] = value
    for name, child in state.get("_modules", {}).items():
        if child is not None and is_module_like(child):
            _flatten(child, f"{prefix}{name}.", out)


def state_dict_of(obj) -> dict[str, torch.Tensor] | None:
    """The state dict of a recovered module, or of the module/state dict a container holds under one of
    MODEL_KEYS (or as its only module value); None when there is none."""
    if isinstance(obj, torch.nn.Module):
        return dict(obj.state_dict())
    if is_module_like(obj):
        out: dict[str, torch.Tensor] = {}
        _flatten(obj, "", out)
        return out
    if isinstance(obj, Mapping):
        if obj and all(isinstance(v, torch.Tensor) for v in obj.values()):
            return dict(obj)
        for key in MODEL_KEYS:
            if key in obj:
                found = state_dict_of(obj[key])
                if found:
                    return found
        modules = [v for v in obj.values() if is_module_like(v)]
        if len(modules) == 1:
            return state_dict_of(modules[0])
    return None
