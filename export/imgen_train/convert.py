"""A checkpoint file to an imgen ONNX file: what ``imgen export`` and ``imgen import`` run.

``export_checkpoint`` tries, in order: a MatConvNet ``.mat`` (import_matconvnet), a Keras HDF5 stack of
Conv/BN/ReLU layers (import_keras), an imgen-train checkpoint, the KAIR DnCNN/FFDNet layouts
(import_checkpoint), every architecture spandrel knows (import_spandrel), then the published families
spandrel does not know (families: DnCNN ports, VDSR, SRCNN, FSRCNN, ESPCN, CARN, RLFN, IMDN, RFDN); a file
none of them takes is checked for a near-miss of a spandrel architecture (near_miss).  Each route ends in
a parity-checked export with imgen metadata.  Third-party
``.onnx`` files need no torch: ``imgen.adopt``.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Mapping

import numpy as np

from . import file_kind
from .export_onnx import ATOL, ExportReport, _export_one, _set_metadata, export, log
from .graphs import Graph, graphs_for
from .import_checkpoint import (UnknownCheckpointError, _summary, _unwrap, is_imgen_checkpoint, load_any,
                                model_from_state_dict, read_checkpoint)
from .import_errors import Mismatch


def _matconvnet(path: Path, output: Path, name: str | None, description: str | None, atol: float,
                skip_parity: bool = False) -> ExportReport:
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
    err, checked = _export_one(graph, output, info.extra["arch"], atol, skip_parity)
    return ExportReport(str(output), err, checked, metadata=info.to_metadata())


class ScaleMismatch(ValueError):
    """--scale asked for a scale the recognised network does not have."""


def _spandrel(sd, output: Path, name: str | None, description: str | None, atol: float,
              first_error: UnknownCheckpointError, source: Path, metadata, skip_parity: bool,
              scale: int | None = None) -> ExportReport:
    from .import_spandrel import SpandrelUnavailable, export_spandrel, load_descriptor

    try:
        descriptor = load_descriptor(sd)
    except SpandrelUnavailable as e:
        raise UnknownCheckpointError(f"{first_error}. {e}") from None
    except ValueError as e:
        raise UnknownCheckpointError(f"{first_error}; {e}") from None
    if scale is not None and scale != descriptor.scale:
        raise ScaleMismatch(f"--scale {scale}: {descriptor.architecture.name} in {source.name} upscales by "
                            f"{descriptor.scale} (spandrel reads the scale from the weights); leave --scale out")
    desc = description or (f"{descriptor.architecture.name} ({', '.join(descriptor.tags) or 'default'}), "
                           f"imported by spandrel from {source.name}")
    return export_spandrel(descriptor, output, name=name, description=desc, atol=atol, metadata=metadata,
                           skip_parity=skip_parity)


def _family(found, output: Path, name: str | None, description: str | None, atol: float, source: Path,
            metadata: Mapping[str, str] | None, skip_parity: bool) -> ExportReport:
    """Export a recognised family (families.Imported): its conventions as metadata, the range decided by
    behaviour where the weights cannot tell (unless ``--info range=`` declares it), parity-checked."""
    from imgen.adopt import declare
    from imgen.adopt import probe as probe_graph
    from imgen.atomic import atomic_write
    from imgen.model_info import parse_metadata

    from . import families

    meta, notes, declared = dict(found.metadata), list(found.notes), dict(metadata or {})
    if found.infer_range and "range" not in declared:
        decided, why = families.infer_range(found.module, int(meta["imgen.scale"]), int(meta["imgen.channels"]))
        meta["imgen.range"], meta["imgen.inferred"] = decided or "0,1", "range"
        notes.append(why if decided else f"{why}; 0,1 assumed")
        notes.append(f"the input range is not in the weights: --info range=0,255 (or range=0,1) settles it, e.g. "
                     f"imgen import {source.name} -o {output.name} --info range=0,255")
        (log.info if decided else log.warning)("%s: %s", found.family, notes[-2])
    meta["imgen.name"] = name or output.stem
    if description is not None:
        meta["imgen.description"] = description
    meta["imgen.description"] = f"{meta.get('imgen.description', found.family)}; imported from {source.name}"
    info = declare(parse_metadata(meta), declared)
    if skip_parity:
        info = info.replace(extra={**info.extra, "parity": "skipped"})
    channels = info.channels or 3

    def feeds(batch, h, w, rng):  # replaced by natural-looking images in the parity gate
        return {"image": rng.random((batch, channels, h, w)).astype(np.float32)}

    graph = Graph("", found.module, ("image",), ("output",), info.to_metadata(), feeds, spatial=True,
                  min_size=found.min_size)
    with atomic_write(output, keep_suffix=True, mode=None) as tmp:
        err, checked = _export_one(graph, Path(tmp), found.family, atol, skip_parity)
        if found.probe:
            log.info("probing the receptive field on the ONNX file ...")
            info = probe_graph(tmp, info).info
            _set_metadata(Path(tmp), info.to_metadata())
    return ExportReport(str(output), err, checked, metadata=info.to_metadata(), notes=notes)


def _published(obj, output: Path, name, description, atol, first_error: UnknownCheckpointError, source: Path,
               metadata, scale: int | None, skip_parity: bool) -> ExportReport:
    """spandrel for what it knows, then the families, then a near-miss message or the refusal."""
    from . import families
    from .near_miss import near_miss

    sd = _unwrap(obj)
    try:
        return _spandrel(sd, output, name, description, atol, first_error, source, metadata, skip_parity, scale)
    except UnknownCheckpointError as e:
        spandrel_error = e
    try:
        found = families.find(sd, scale)
    except Mismatch as e:
        raise UnknownCheckpointError(f"{e}. Found: {_summary(sd)}") from None
    if found is not None:
        log.info("recognised %s (%s)", found.family, "; ".join(found.notes))
        return _family(found, output, name, description, atol, source, metadata, skip_parity)
    hint = near_miss(sd)
    if hint:
        raise UnknownCheckpointError(f"{source.name}: {hint}. Found: {_summary(sd)}")
    raise UnknownCheckpointError(f"{spandrel_error}. Not one of imgen's published families either: "
                                 f"{families.describe_all()}")


def export_checkpoint(checkpoint: str | os.PathLike, output: str | os.PathLike, *, name: str | None = None,
                      description: str | None = None, atol: float = ATOL, fp16: bool = False,
                      int8: bool = False, measure: bool = False, trust_pickle: bool = False,
                      calibration: str | os.PathLike | None = None, int8_search_float: int = 0,
                      metadata: Mapping[str, str] | None = None, scale: int | None = None,
                      skip_parity: bool = False) -> ExportReport:
    """Export an imgen-train checkpoint, or any published checkpoint imgen recognises, to ``output``.

    description: imgen.description metadata (default: what the checkpoint says of itself).
    trust_pickle: read a pickled module or a dict holding one with the restricted unpickler
    (safe_unpickle: tensors only, no code from the file runs).
    int8: also write NAME.int8.onnx (static QDQ, quantize.py), calibrated on the images in
    ``calibration`` (default $IMGEN_SHARED/data/train400, bsds400_color for colour models), with
    the first and last convs left float (for a checkpoint trained with ``--fake-quant``: the convs
    it kept float, ``fake_quant_float``) and ``int8_search_float`` more (quantize.quantize_file's
    keep_float and search_float).
    scale: which scale to export of a network that serves several (CARN) or whose scale is not in its
    weights (VDSR, SRCNN, FSRCNN); families.ScaleRequired (a ValueError naming the choices) without it.
    skip_parity: skip the parity probes (a warning; the file is marked imgen.parity=skipped).
    metadata: imgen metadata the import cannot infer (``imgen import --info KEY=VALUE``: keys without
    ``imgen.``, text values), validated like a file's own and written into ``output``.
    Raises FileNotFoundError, UnknownCheckpointError, MatConvNetError, KerasError or ScaleRequired
    (ValueErrors) or ExportError.
    """
    source, output = Path(checkpoint), Path(output)
    if not source.exists():
        raise FileNotFoundError(f"checkpoint not found: {source}")
    if metadata:
        from imgen.adopt import check_declarable

        check_declarable(metadata)  # unknown keys refused before anything runs; values once declared
    if source.suffix.lower() == ".mat":
        return _declared(lambda to: _matconvnet(source, to, name or output.stem, description, atol, skip_parity),
                         output, metadata)
    if file_kind.describe(source).kind == "hdf5":  # Keras: plain Conv/BN/ReLU stacks rebuilt, else how to convert
        from .import_keras import load_keras

        return _family(load_keras(source), output, name, description, atol, source, metadata, skip_parity)
    obj = read_checkpoint(source, trust_pickle=trust_pickle)
    keep_float: tuple[int, ...] = (0, -1)
    if is_imgen_checkpoint(obj):
        model, found = load_any(source)
        if isinstance(obj, dict) and isinstance(obj.get("fake_quant"), dict):  # trained for its int8 file
            kept = obj["fake_quant"].get("float_weights")
            if not isinstance(kept, list) or not all(isinstance(k, int) and not isinstance(k, bool) for k in kept):
                raise ValueError(f"{source}: its fake_quant entry's float_weights should be a list of conv "
                                 f"indices, got {kept!r}")
            keep_float = tuple(kept)
    else:
        try:
            model = model_from_state_dict(obj)
        except UnknownCheckpointError as e:
            if not str(e).startswith("unrecognised checkpoint"):
                raise
            return _published(obj, output, name, description, atol, e, source, metadata, scale, skip_parity)
        what = model.describe() if hasattr(model, "describe") else f"{model.name} {model.config.__dict__}"
        found = f"{what}, imported from {source.name}"
    if scale not in (None, 1):
        raise ScaleMismatch(f"--scale {scale}: {model.name} keeps the image size; leave --scale out")
    if metadata and len(graphs_for(model)) > 1:
        raise ValueError(f"--info declares the metadata of one file, and {model.name} exports "
                         f"{len(graphs_for(model))} networks: import without --info, then declare each part's "
                         "with imgen import PART.onnx -o PART.onnx --info KEY=VALUE")
    return _declared(lambda to: export(model, to, name=name or output.stem,
                                       description=found if description is None else description,
                                       atol=atol, fp16=fp16, int8=int8, measure=measure, skip_parity=skip_parity,
                                       calibration=calibration, int8_search_float=int8_search_float,
                                       int8_keep_float=keep_float),
                    output, metadata)


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
