"""The models a server serves, by name: ONNX image models (task denoise/restore/translate) and the
classical denoisers of ``imgen.methods.REGISTRY`` (``bm3d``, ``wavelet``, ...), each a
:class:`ProcessorOptions` validated once."""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, replace
from pathlib import Path

from ..errors import ImgenError
from ..methods import REGISTRY
from ..processors import FrameProcessor, ProcessorOptions


def denoisers() -> tuple[str, ...]:
    """The classical methods always served: the registry's denoisers (their option a query sets: sigma)."""
    return REGISTRY.names("denoise")


@dataclass
class ServedModel:
    """One served name: its options (BGR images, as files decode) and its loaded processor."""

    name: str
    options: ProcessorOptions
    processor: FrameProcessor

    def info(self) -> dict:
        """What GET /v1/models/{name} says: kind, and the model's metadata (imgen.* entries)."""
        if self.options.method is not None:
            return {"name": self.name, "kind": "classical", "method": self.options.method}
        meta = self.processor.model.info.to_metadata()
        return {"name": self.name, "kind": "model", "metadata": meta}

    def runner(self, *, sigma: float | None, tile: int | None, color_order: str) -> FrameProcessor:
        """A processor for one request's options, sharing the loaded model (ImgenError if invalid)."""
        opts = replace(self.options, sigma=sigma if sigma is not None else self.options.sigma,
                       tile=tile if tile is not None else self.options.tile, color_order=color_order)
        if self.options.model is None:
            return FrameProcessor(opts)
        return FrameProcessor(opts, model=self.processor.model)


def serve_models(specs: list[str], base: ProcessorOptions | None = None, *,
                 info: tuple[tuple[str, str], ...] = ()) -> dict[str, ServedModel]:
    """Served names for ``specs`` (model files or shipped names; :func:`denoisers` for the
    classical methods, which are always served); ``base`` gives tile, threads, providers...;
    ``info``: metadata entries for the model files (as --info).
    ImgenError for a duplicate name or a model that does not load."""
    fields = {} if base is None else {f.name: getattr(base, f.name) for f in dataclasses.fields(base)
                                       if f.name not in ("model", "method", "params", "info")}
    fields["color_order"] = "bgr"
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
