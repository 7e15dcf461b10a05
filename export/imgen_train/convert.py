"""A checkpoint file to an imgen ONNX file: what ``imgen export`` and ``imgen import`` run.

``export_checkpoint`` tries, in order: an imgen-train checkpoint, the KAIR DnCNN/FFDNet layouts
(import_checkpoint), a MatConvNet ``.mat`` (import_matconvnet), then every architecture spandrel
knows (import_spandrel); each route ends in a parity-checked export with imgen metadata.  Third-party
``.onnx`` files need no torch: ``imgen.adopt``.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Mapping

import numpy as np

from .export_onnx import ATOL, ExportReport, _export_one, export
from .graphs import Graph, graphs_for
from .import_checkpoint import (UnknownCheckpointError, _unwrap, is_imgen_checkpoint, load_any,
                                model_from_state_dict, read_checkpoint)


def _matconvnet(path: Path, output: Path, name: str | None, description: str | None, atol: float) -> ExportReport:
    from .import_matconvnet import load_matconvnet

    net, info = load_matconvnet(path)
    info = info.replace(name=name or output.stem, description=description or info.description)
    noise = info.noise_input is not None

    def feeds(batch, h, w, rng):
        image = rng.random((batch, info.channels, h, w)).astype(np.float32)
        if not noise:
            return {"image": image}
        return {"image": image, "sigma": rng.uniform(0, 75 / 255, (batch, 1, 1, 1)).astype(np.float32)}

    graph = Graph("", net, ("image", "sigma") if noise else ("image",), ("output",), info.to_metadata(), feeds,
                  spatial=True, size_multiple=info.size_multiple)
    err, checked = _export_one(graph, output, info.extra["arch"], atol)
    return ExportReport(str(output), err, checked, metadata=info.to_metadata())


def _spandrel(obj, output: Path, name: str | None, description: str | None, atol: float,
              first_error: UnknownCheckpointError, source: Path, metadata) -> ExportReport:
    from .import_spandrel import SpandrelUnavailable, export_spandrel, load_descriptor

    try:
        descriptor = load_descriptor(_unwrap(obj))
    except SpandrelUnavailable as e:
        raise UnknownCheckpointError(f"{first_error}. {e}") from None
    except ValueError as e:
        raise UnknownCheckpointError(f"{first_error}; {e}") from None
    desc = description or (f"{descriptor.architecture.name} ({', '.join(descriptor.tags) or 'default'}), "
                           f"imported by spandrel from {source.name}")
    return export_spandrel(descriptor, output, name=name, description=desc, atol=atol, metadata=metadata)


def export_checkpoint(checkpoint: str | os.PathLike, output: str | os.PathLike, *, name: str | None = None,
                      description: str | None = None, atol: float = ATOL, fp16: bool = False,
                      int8: bool = False, measure: bool = False, trust_pickle: bool = False,
                      calibration: str | os.PathLike | None = None,
                      metadata: Mapping[str, str] | None = None) -> ExportReport:
    """Export an imgen-train checkpoint, or any published checkpoint imgen recognises, to ``output``.

    description: imgen.description metadata (default: what the checkpoint says of itself).
    trust_pickle: unpickle a whole pickled nn.Module (unsafe: runs code from the file).
    int8: also write NAME.int8.onnx (static QDQ, quantize.py), calibrated on the gray images in
    ``calibration`` (default $IMGEN_SHARED/data/train400).
    metadata: imgen metadata the import cannot infer (``imgen import --info KEY=VALUE``: keys without
    ``imgen.``, text values), validated like a file's own and written into ``output``.
    Raises FileNotFoundError, UnknownCheckpointError or MatConvNetError (ValueErrors) or ExportError.
    """
    source, output = Path(checkpoint), Path(output)
    if not source.exists():
        raise FileNotFoundError(f"checkpoint not found: {source}")
    if metadata:
        from imgen.adopt import check_declarable

        check_declarable(metadata)  # unknown keys refused before anything runs; values once declared
    if source.suffix.lower() == ".mat":
        return _declared(lambda to: _matconvnet(source, to, name or output.stem, description, atol), output, metadata)
    obj = read_checkpoint(source, trust_pickle=trust_pickle)
    if is_imgen_checkpoint(obj):
        model, found = load_any(source)
    else:
        try:
            model = model_from_state_dict(obj)
        except UnknownCheckpointError as e:
            if not str(e).startswith("unrecognised checkpoint"):
                raise
            return _spandrel(obj, output, name, description, atol, e, source, metadata)
        what = model.describe() if hasattr(model, "describe") else f"{model.name} {model.config.__dict__}"
        found = f"{what}, imported from {source.name}"
    if metadata and len(graphs_for(model)) > 1:
        raise ValueError(f"--info declares the metadata of one file, and {model.name} exports "
                         f"{len(graphs_for(model))} networks: import without --info, then declare each part's "
                         "with imgen import PART.onnx -o PART.onnx --info KEY=VALUE")
    return _declared(lambda to: export(model, to, name=name or output.stem,
                                       description=found if description is None else description,
                                       atol=atol, fp16=fp16, int8=int8, measure=measure,
                                       calibration=calibration), output, metadata)


def _declared(write, output: Path, metadata: Mapping[str, str] | None) -> ExportReport:
    """``write(path) -> ExportReport``, then ``metadata`` declared over what it wrote (imgen import --info):
    written to a temporary file beside ``output`` and renamed into place only when the values are valid."""
    if not metadata:
        return write(output)
    from imgen.adopt import declare_file
    from imgen.atomic import atomic_write

    with atomic_write(output, keep_suffix=True, mode=None) as tmp:
        report = write(Path(tmp))
        report.metadata = declare_file(tmp, metadata).to_metadata()
    report.path = str(output)
    return report
