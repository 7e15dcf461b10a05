"""The inference engine: an ONNX Runtime session and the imgen contract (``ModelInfo``) it runs under.

``Model`` holds the session, its ``info`` and ``run()`` (named tensors in, tensors out).  The
wrappers for each purpose build on it: ``ImageModel`` (image to image: denoise, restore,
translate) in :mod:`imgen.image_model`, ``Generator`` (generate, decode) and ``Encoder`` (encode)
in :mod:`imgen.generative`; ``imgen.load`` (:mod:`imgen.loading`) picks the one the model's task
names.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar, Mapping, Sequence, TypeVar

import numpy as np

from ._runtime import choose_providers, create_session, is_gpu
from .errors import ModelError
from .model_info import METADATA_KEYS, ModelInfo, parse_metadata

_MODELS_DIR = Path(__file__).with_name("models")

M = TypeVar("M", bound="Model")


@dataclass(frozen=True)
class TensorSpec:
    """A model input or output: name, shape (ints, or str/None for dynamic axes) and type."""

    name: str
    shape: tuple
    type: str


def shipped_models() -> list[str]:
    """Names of the models that ship with imgen (``imgen.load(name)``)."""
    if not _MODELS_DIR.is_dir():
        return []
    return sorted(p.stem for p in _MODELS_DIR.glob("*.onnx"))


#: Suffix of a shipped model's int8 variant (docs/models.md, int8): ``denoise-gray`` -> ``denoise-gray-int8``.
INT8_SUFFIX = "-int8"


def shipped_path(name: str) -> str | None:
    """The file of the shipped model called exactly ``name``, or None."""
    shipped = _MODELS_DIR / f"{name}.onnx"
    if os.sep in name or name.endswith(".onnx") or not shipped.exists():
        return None
    return str(shipped)


def exact_model_path(name_or_path: str | os.PathLike) -> str:
    """What ``name_or_path`` names exactly, with no int8 preference: an existing file, else a shipped
    model of that name, else the text as given (for bench, which compares float and int8 side by side)."""
    path = os.fspath(name_or_path)
    return path if os.path.isfile(path) else (shipped_path(path) or path)


def prefers_int8(providers: Sequence[str] | None) -> bool:
    """Whether a shipped name resolves to its int8 variant: on the CPU provider alone (GPU providers
    run float), unless ``IMGEN_INT8=0`` is set."""
    if os.environ.get("IMGEN_INT8", "1").strip().lower() in ("0", "no", "false", "off"):
        return False
    return providers is not None and list(providers) == ["CPUExecutionProvider"]


def resolve_model_path(name_or_path: str | os.PathLike, providers: Sequence[str] | None = None) -> str:
    """A path for a model: an existing file, else the name of a shipped model (a folder of that name
    in the working directory does not hide it), else what exists there (the loader names it).

    With ``providers`` CPU only, a shipped name whose int8 variant ships (``NAME-int8``) resolves
    to that variant (``prefers_int8``); ask for ``NAME`` by its file path for the float one."""
    path = os.fspath(name_or_path)
    if os.path.isfile(path):
        return path
    shipped = shipped_path(path)
    if shipped:
        if prefers_int8(providers) and not path.endswith(INT8_SUFFIX):
            return shipped_path(path + INT8_SUFFIX) or shipped
        return shipped
    if os.path.exists(path):
        return path
    names = shipped_models()
    hint = f" (shipped models: {', '.join(names)})" if names else ""
    raise ModelError(f"model file not found: {path}{hint}")


def with_article(word: str | None) -> str:
    """'a generate', 'an encode' (for messages naming tasks)."""
    word = str(word)
    return ("an " if word[:1] in "aeiou" else "a ") + word


class Model:
    """A loaded ONNX model: its session, contract (``info``), ``inputs``/``outputs`` and ``run()``.

    Subclasses add what one purpose needs and list the tasks they serve in ``TASKS`` (empty here:
    any task).  Open a model with ``imgen.load`` (the right subclass for its task) or
    ``SomeModel.open(path)``; ``SomeModel.adopt(model, what)`` views a loaded model as that purpose.
    """

    TASKS: ClassVar[tuple[str, ...]] = ()

    def __init__(self, session, info: ModelInfo, path: str):
        self._session = session
        self.path = path
        self.inputs = [TensorSpec(i.name, tuple(i.shape), i.type) for i in session.get_inputs()]
        self.outputs = [TensorSpec(o.name, tuple(o.shape), o.type) for o in session.get_outputs()]
        #: Initializers the graph also lists as inputs: optional inputs, fed only to override them.
        self.optional_inputs = [TensorSpec(o.name, tuple(o.shape), o.type)
                                for o in session.get_overridable_initializers()]
        self.provider = session.get_providers()[0]
        self._iobinding = is_gpu(self.provider)
        self.info = self._complete_info(info)
        if self.TASKS and self.info.task not in self.TASKS:
            raise ModelError(f"model {self.name} is {with_article(self.info.task)} model; {type(self).__name__} "
                             f"takes {with_article(' or '.join(self.TASKS))} model")

    @classmethod
    def open(
        cls: type[M],
        path: str | os.PathLike,
        *,
        providers: Sequence[str] | str | None = None,
        threads: int | None = None,
        info: Mapping[str, object] | None = None,
        metadata: Mapping[str, str] | None = None,
    ) -> M:
        """Open an ONNX model (a path, or the name of a shipped model) as this class.

        providers: onnxruntime execution providers; None picks the best available
            (TensorRT -> CUDA -> CPU).  threads: onnxruntime intra-op threads (None = its default).
        metadata: imgen metadata entries as text, without the ``imgen.`` prefix, that override
            or supply the file's (what ``--info KEY=VALUE`` gives): {"noise_input": "sigma",
            "scale": "4", "range": "-1,1"}; parsed and checked like the file's own.
        info: ModelInfo fields that override or supply the metadata, e.g. {"channels": 3,
            "scale": 4} for a model exported without them.
        Raises ModelError for a missing/corrupt file, bad metadata (an unknown key given in
        ``metadata`` too), unavailable providers or a task this class does not serve.
        """
        chosen = choose_providers(providers)
        resolved = resolve_model_path(path, chosen)
        session = create_session(resolved, chosen, threads)
        meta = dict(session.get_modelmeta().custom_metadata_map)
        given = {f"imgen.{key}": str(value) for key, value in (metadata or {}).items()}
        try:
            model_info = parse_metadata({**meta, **given})
        except ModelError as e:
            raise ModelError(f"{resolved}: {e}") from None
        unknown = sorted(key[len("imgen."):] for key in given if key[len("imgen."):] in model_info.extra)
        if unknown:
            raise ModelError(f"unknown model info key(s) {', '.join(unknown)}; known: "
                             f"{', '.join(k for k in METADATA_KEYS if k != 'schema')}")
        if info:
            unknown = set(info) - set(ModelInfo.__dataclass_fields__)
            if unknown:
                raise ModelError(f"unknown model info fields: {', '.join(sorted(unknown))}")
            model_info = model_info.replace(**info)
        return cls(session, model_info, resolved)

    @classmethod
    def adopt(cls: type[M], model: "Model | str | os.PathLike", what: str, *,
              tasks: Sequence[str] | None = None, hint: str = "") -> M:
        """``model`` as this class: a path or shipped name is opened; a loaded model is reused
        (same session).  The one check of a model's task: ModelError "model NAME is a TASK
        model; WHAT needs a ... model HINT" unless its task is in ``tasks`` (default TASKS)."""
        if not isinstance(model, Model):
            model = Model.open(model)
        wanted = tuple(tasks or cls.TASKS)
        if wanted and model.info.task not in wanted:
            raise ModelError(f"model {model.name} is {with_article(model.info.task)} model; {what} needs "
                             f"{with_article(' or '.join(wanted))} model{hint}")
        if isinstance(model, cls):
            return model
        return cls(model._session, model.info, model.path)

    # -- contract -----------------------------------------------------------------------------

    @property
    def image_input(self) -> TensorSpec | None:
        """The 4-D (NCHW) input other than the noise input, if the model has one."""
        return next((s for s in self.inputs if s.name != self.info.noise_input and len(s.shape) == 4), None)

    def _complete_info(self, info: ModelInfo) -> ModelInfo:
        if info.noise_input is not None and info.noise_input not in {i.name for i in self.inputs}:
            raise ModelError(
                f"metadata names noise input {info.noise_input!r}, but the model's inputs are "
                f"{', '.join(i.name for i in self.inputs)}"
            )
        if info.task is None and any(s.name != info.noise_input and len(s.shape) == 4 for s in self.inputs):
            info = info.replace(task="restore")
        return info

    @property
    def name(self) -> str:
        return self.info.name or Path(self.path).stem

    def __repr__(self) -> str:
        i = self.info
        return (f"{type(self).__name__}({self.name!r}, task={i.task}, channels={i.channels}, scale={i.scale}, "
                f"provider={self.provider})")

    # -- execution ----------------------------------------------------------------------------

    def run(self, feeds: Mapping[str, np.ndarray], outputs: Sequence[str] | None = None) -> list[np.ndarray]:
        """Run the session on named input tensors (onnxruntime's own vocabulary); returns
        ``outputs`` (names; None = all, in the graph's order)."""
        try:
            if self._iobinding:
                binding = self._session.io_binding()
                for name, value in feeds.items():
                    binding.bind_cpu_input(name, np.ascontiguousarray(value))
                for name in outputs if outputs is not None else [spec.name for spec in self.outputs]:
                    binding.bind_output(name, "cuda")
                self._session.run_with_iobinding(binding)
                return binding.copy_outputs_to_cpu()
            return self._session.run(None if outputs is None else list(outputs), dict(feeds))
        except Exception as e:
            shapes = ", ".join(f"{k}{tuple(v.shape)}" for k, v in feeds.items())
            msg = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
            raise ModelError(f"model {self.name} failed on {shapes}: {msg}") from e
