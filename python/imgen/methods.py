"""The method registry: every classical method, by task and name, registered where it is defined.

A method is one class in its own module (``imgen/denoise/bm3d.py``, ``restoration/deblur.py``, ...):
a ``Params`` dataclass (its options, with defaults and help in field metadata) and
``__call__(image, params) -> image``; the ``@register(name, task=...)`` line above the class adds
it to :data:`REGISTRY`, which refuses a second method of the same task and name.  The CLI's
``--method`` choices and option groups (``imgen denoise``, ``restore``, ``video``), ``imgen bench``'s
method list, ``imgen serve``'s classical names and the processors all read this registry, so a new
method is its module, its test and its doc line (plus the one import in its package's
``__init__``, the explicit list of what registers).

Example
-------
>>> from imgen.methods import REGISTRY
>>> m = REGISTRY.get("wavelet")                    # task "denoise" by default
>>> p = m.params(sigma=10 / 255, shifts=4)        # validated once, here
>>> "bm3d" in REGISTRY.names("denoise") and "lanczos" in REGISTRY.names("sr")
True

Field metadata (``param(default, help=..., ...)``): ``help``; ``choices``; ``min`` / ``max`` (inclusive;
``min_open``: exclusive lower bound); ``unit="range"`` for a fraction of the full range whatever the
dtype (sigma; the CLI takes it on the 0-255 scale); ``required``: the message when a None value is
not allowed; ``convert``: a callable normalising the value (e.g. a kernel array into a tuple, so
Params stay hashable and picklable); ``parse``: a callable turning the CLI's text into a value.
A method's task must be one of ``imgen.model_info.IMAGE_TASKS``: the task vocabulary is the model file
format's (docs/model-format.md; a file's ``imgen.task`` must not mean something else depending on which
modules were imported), and the registry refuses a classical method for a task no model could declare.
Two methods' fields of one name are one CLI option, so they must agree on type, default and
metadata (the registry checks; shared fields such as :func:`sigma_param` are made by one function).
"""
from __future__ import annotations

import dataclasses
import importlib
import math
import typing
from dataclasses import dataclass
from typing import Any, Callable, Iterator

import numpy as np

from .errors import ImgenError
from .model_info import IMAGE_TASKS

#: The packages whose modules register methods; importing them fills the registry (each
#: package's ``__init__`` imports its method modules: the one explicit list, no file scanning).
HOMES = ("imgen.denoise", "imgen.restoration")


def param(default: Any = None, *, help: str, **meta: Any) -> Any:
    """A ``Params`` field: ``dataclasses.field(default=default, metadata={"help": help, **meta})``."""
    return dataclasses.field(default=default, metadata={"help": help, **meta})


def sigma_param() -> Any:
    """The noise-level field every denoiser shares (one CLI --sigma): a fraction of the full range."""
    return param(None, help="noise standard deviation (default: estimated per image)", unit="range",
                 min=0.0, max=1.0)


class Params:
    """Base of every method's ``Params`` dataclass (frozen, keyword-only): checks each field against
    its metadata when built (ImgenError naming the field and what it takes)."""

    def __post_init__(self) -> None:
        check_params(self)


def _kind(tp: Any) -> type | None:
    """int, float or str: the base type of a field's (possibly optional) annotation."""
    args = typing.get_args(tp) or (tp,)
    for t in (int, float, str):
        if t in args:
            return t
    return None


def field_types(params: type) -> dict[str, type | None]:
    hints = typing.get_type_hints(params)
    return {f.name: _kind(hints[f.name]) for f in dataclasses.fields(params)}


def check_params(params: Any) -> None:
    """Validate and normalise ``params`` in place (a frozen dataclass) from its field metadata."""
    kinds = field_types(type(params))
    for f in dataclasses.fields(params):
        meta, value = f.metadata, getattr(params, f.name)
        if value is None:
            if meta.get("required"):
                raise ImgenError(meta["required"])
            continue
        if "convert" in meta:
            try:
                value = meta["convert"](value)
            except (TypeError, ValueError) as e:
                raise ImgenError(str(e)) from None
        kind = kinds[f.name]
        if "choices" in meta and value not in meta["choices"]:
            raise ImgenError(f"{f.name} must be one of {', '.join(map(str, meta['choices']))}, got {value!r}")
        if kind is int:
            lo, hi = meta.get("min"), meta.get("max")
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) \
                    or (lo is not None and value < lo) or (hi is not None and value > hi):
                bound = f"from {lo} to {hi}" if hi is not None else f">= {lo}" if lo is not None else ""
                raise ImgenError(f"{f.name} must be an integer {bound}, got {value!r}".replace("  ", " "))
            value = int(value)
        elif kind is float:
            lo, hi, open_lo = meta.get("min"), meta.get("max"), meta.get("min_open", False)
            ok = not isinstance(value, bool) and isinstance(value, (int, float, np.integer, np.floating)) \
                and math.isfinite(value) and (lo is None or (value > lo if open_lo else value >= lo)) \
                and (hi is None or value <= hi)
            if not ok:
                left = "(" if open_lo else "["
                raise ImgenError(f"{f.name} must be a number in {left}{lo}, {hi}], got {value!r}")
            value = float(value)
        object.__setattr__(params, f.name, value)


@dataclass(frozen=True)
class Method:
    """One registered method: ``name`` within ``task``, its implementation (an instance of the
    registered class: ``Params`` and ``__call__(image, params)``), one line of ``help``, and
    ``layout``: "rgb" (gray or RGB images: the processor splits off alpha and turns BGR into RGB
    first) or "any" (any channels, all treated alike: interpolation)."""

    name: str
    task: str
    impl: Any
    help: str
    layout: str = "rgb"

    @property
    def Params(self) -> type:  # noqa: N802 - the class, as on the implementation
        return self.impl.Params

    def params(self, **values: Any) -> Any:
        """The method's Params from keyword values (ImgenError naming an unknown or bad one)."""
        names = {f.name for f in dataclasses.fields(self.Params)}
        unknown = sorted(set(values) - names)
        if unknown:
            takes = ", ".join(sorted(names)) or "no options"
            raise ImgenError(f"method {self.name} ({self.task}) takes {takes}; not {', '.join(unknown)}")
        return self.Params(**values)

    def fields(self) -> tuple[dataclasses.Field, ...]:
        return dataclasses.fields(self.Params)

    def __call__(self, image: np.ndarray, params: Any = None) -> np.ndarray:
        """Run on one HWC image with ``params`` (None: the defaults)."""
        if params is None:
            params = self.Params()
        elif not isinstance(params, self.Params):
            raise TypeError(f"method {self.name} ({self.task}) takes its own Params, got {type(params).__name__}")
        return self.impl(image, params)


class MethodRegistry:
    """Methods by (task, name), in registration order.  ``add`` refuses a duplicate (task, name) and
    a field that another method declares differently (one CLI option per field name)."""

    def __init__(self, homes: tuple[str, ...] = ()):
        self._methods: dict[tuple[str, str], Method] = {}
        self._fields: dict[str, tuple[Method, dataclasses.Field, type | None]] = {}
        self._homes = homes
        self._loaded = not homes

    # -- filling ---------------------------------------------------------------------------------

    def add(self, method: Method) -> Method:
        if method.task not in IMAGE_TASKS:   # a task is the model format's word first: a model can serve it too
            raise ValueError(f"method {method.name}: task {method.task!r} is not an image task of the model format "
                             f"(imgen.model_info.IMAGE_TASKS: {', '.join(IMAGE_TASKS)})")
        key = (method.task, method.name)
        if key in self._methods:
            raise ValueError(f"method {method.name!r} of task {method.task!r} is registered twice")
        params = method.Params
        frozen = dataclasses.is_dataclass(params) and params.__dataclass_params__.frozen  # type: ignore[attr-defined]
        if not frozen:
            raise TypeError(f"method {method.name}: Params must be a frozen dataclass")
        kinds = field_types(params)
        for f in dataclasses.fields(params):
            seen = self._fields.get(f.name)
            if seen is not None:
                other, g, kind = seen
                if (g.default, dict(g.metadata), kind) != (f.default, dict(f.metadata), kinds[f.name]):
                    raise ValueError(f"method {method.name}: field {f.name!r} differs from method {other.name}'s "
                                     f"(one option per name: same type, default and metadata)")
        for f in dataclasses.fields(params):
            self._fields.setdefault(f.name, (method, f, kinds[f.name]))
        self._methods[key] = method
        return method

    def register(self, name: str, *, task: str, help: str, layout: str = "rgb") -> Callable[[type], type]:
        """Class decorator: ``@register("bm3d", task="denoise", help=...)`` on a class with ``Params`` and
        ``__call__(image, params)``; the registry holds one instance."""
        if layout not in ("rgb", "any"):
            raise ValueError(f"layout must be 'rgb' or 'any', got {layout!r}")

        def decorate(cls: type) -> type:
            self.add(Method(name, task, cls(), help, layout))
            return cls

        return decorate

    def _load(self) -> None:
        if not self._loaded:
            self._loaded = True
            for home in self._homes:
                importlib.import_module(home)

    # -- reading ---------------------------------------------------------------------------------

    def _rank(self, method: Method) -> int:
        module = type(method.impl).__module__
        return next((i for i, h in enumerate(self._homes) if module == h or module.startswith(h + ".")),
                    len(self._homes))

    def __iter__(self) -> Iterator[Method]:
        """The methods in the order of their homes, then of registration (whatever was imported first)."""
        self._load()
        order = {key: i for i, key in enumerate(self._methods)}
        return iter(sorted(self._methods.values(), key=lambda m: (self._rank(m), order[(m.task, m.name)])))

    def __len__(self) -> int:
        self._load()
        return len(self._methods)

    def tasks(self) -> tuple[str, ...]:
        """The tasks with a classical method, in registration order."""
        return tuple(dict.fromkeys(m.task for m in self))

    def names(self, task: str | None = None) -> tuple[str, ...]:
        """The method names of ``task`` (all tasks' when None, each once), in registration order."""
        return tuple(dict.fromkeys(m.name for m in self if task is None or m.task == task))

    def by_task(self) -> dict[str, tuple[str, ...]]:
        """{task: its method names}."""
        return {t: self.names(t) for t in self.tasks()}

    def methods(self, task: str | None = None) -> tuple[Method, ...]:
        return tuple(m for m in self if task is None or m.task == task)

    def get(self, name: str, task: str = "denoise") -> Method:
        """The method ``name`` of ``task`` (ImgenError naming the task's methods)."""
        self._load()
        if task not in self.tasks():
            raise ImgenError(f"task must be one of {', '.join(self.tasks())}, got {task!r}")
        method = self._methods.get((task, name))
        if method is None:
            raise ImgenError(f"method must be one of {', '.join(self.names(task))}, got {name!r} (task {task})")
        return method

    def fields(self, tasks: tuple[str, ...] | None = None) -> dict[str, tuple[dataclasses.Field, type | None]]:
        """{field name: (its declaration, int/float/str)} over the methods of ``tasks`` (all when None),
        each name once: what the CLI turns into options."""
        out: dict[str, tuple[dataclasses.Field, type | None]] = {}
        for m in self:
            if tasks is None or m.task in tasks:
                kinds = field_types(m.Params)
                for f in m.fields():
                    out.setdefault(f.name, (f, kinds[f.name]))
        return out


#: The registry of imgen's classical methods.
REGISTRY = MethodRegistry(HOMES)
register = REGISTRY.register


def params(method: str, task: str = "denoise", **values: Any) -> Any:
    """``REGISTRY.get(method, task).params(**values)``."""
    return REGISTRY.get(method, task).params(**values)


__all__ = ["HOMES", "Method", "MethodRegistry", "Params", "REGISTRY", "check_params", "param", "params",
           "register", "sigma_param"]
