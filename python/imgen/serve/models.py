"""The models a server serves, by name: ONNX image models (task denoise/restore/translate) and the
classical denoisers of ``imgen.methods.REGISTRY`` (``bm3d``, ``wavelet``, ...), each a
:class:`ProcessorOptions` (an ``imgen.jobs.Job``) validated once, its processor built once per
request options and shared by the requests (and threads) that use them."""
from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from ..errors import ImgenError
from ..methods import REGISTRY
from ..processors import FrameProcessor, ProcessorOptions

#: Request options (sigma, tile, colour order) whose processors a served model keeps built.
RUNNERS_KEPT = 64


def denoisers() -> tuple[str, ...]:
    """The classical methods always served: the registry's denoisers (their option a query sets: sigma)."""
    return REGISTRY.names("denoise")


@dataclass
class ServedModel:
    """One served name: its options (BGR images, as files decode) and its loaded processor."""

    name: str
    options: ProcessorOptions
    processor: FrameProcessor
    _runners: OrderedDict = field(default_factory=OrderedDict, init=False, repr=False, compare=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False, compare=False)

    def info(self) -> dict:
        """What GET /v1/models/{name} says: kind, and the model's metadata (imgen.* entries)."""
        if self.options.method is not None:
            return {"name": self.name, "kind": "classical", "method": self.options.method}
        meta = self.processor.model.info.to_metadata()
        return {"name": self.name, "kind": "model", "metadata": meta}

    def runner(self, *, sigma: float | None, tile: int | None, color_order: str) -> FrameProcessor:
        """The processor for one request's options, sharing the loaded model (ImgenError if invalid).

        Built (and its options validated) the first time these options are asked for, then reused:
        the same object for every request with them, safe to call from several threads (the model
        call keeps no state).  The last RUNNERS_KEPT option sets are kept.
        """
        key = (sigma, tile, color_order)
        with self._lock:
            found = self._runners.get(key)
            if found is not None:
                self._runners.move_to_end(key)
                return found
        opts = replace(self.options, sigma=sigma if sigma is not None else self.options.sigma,
                       tile=tile if tile is not None else self.options.tile, color_order=color_order)
        if opts == self.options:
            built = self.processor
        elif self.options.model is None:
            built = FrameProcessor(opts)
        else:
            built = FrameProcessor(opts, model=self.processor.model)
        with self._lock:
            built = self._runners.setdefault(key, built)  # a thread that built it first wins
            self._runners.move_to_end(key)
            while len(self._runners) > RUNNERS_KEPT:
                self._runners.popitem(last=False)
        return built


def serve_models(specs: list[str], *, tile: int | None = None, threads: int | None = None,
                 providers: tuple[str, ...] | None = None,
                 info: tuple[tuple[str, str], ...] = ()) -> dict[str, ServedModel]:
    """Served names for ``specs`` (model files or shipped names; :func:`denoisers` for the
    classical methods, which are always served).  tile: the default tile size (a request's
    ``tile`` overrides it); threads / providers: how models are opened (onnxruntime); ``info``:
    metadata entries for the model files (as --info).
    ImgenError for a duplicate name, a bad option or a model that does not load."""
    fields: dict[str, Any] = {"tile": tile, "threads": threads, "providers": providers, "color_order": "bgr"}
    served: dict[str, ServedModel] = {}
    classical = denoisers()
    for spec in list(specs) + [m for m in classical if m not in specs]:
        if spec in classical:
            name, opts = spec, ProcessorOptions(method=spec, **fields)
        else:
            name = Path(spec).stem if spec.endswith(".onnx") else spec
            opts = ProcessorOptions(model=spec, info=info, **fields)
        if name in served:
            raise ImgenError(f"two models would be served as {name!r}; rename one of the files")
        served[name] = ServedModel(name, opts, FrameProcessor(opts))
    return served
