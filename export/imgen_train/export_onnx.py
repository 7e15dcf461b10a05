"""Export a trained model to an imgen ONNX file, checked against torch before it is kept.

    imgen export CHECKPOINT -o model.onnx [--fp16] [--int8]     (through imgen_train.convert)

Each graph has a dynamic batch (and height/width where the network allows: even for FFDNet,
multiples of 4 for CycleGAN), opset ``OPSET``, one file (no external data) and imgen metadata
(docs/model-format.md).  Denoisers: ``image`` (N, C, H, W) float in [0, 1] and, for models with a
noise-level input, ``sigma`` (N, 1, 1, 1) in the same units ("scalar" noise kind) -> ``output``.
Generative architectures export one file per network (graphs.py): a DCGAN its generator, a VAE
``NAME-encoder.onnx`` and ``NAME-decoder.onnx``, a CycleGAN ``NAME-a2b.onnx`` and ``NAME-b2a.onnx``.

The parity gate runs onnxruntime and torch at odd, non-square sizes (rounded up to the size multiple;
several batch sizes for latent inputs) on natural-looking images (probe_images: a photograph, not uniform
noise, which drives attention and normalisation layers where no photo does; noisy for denoisers), in the
model's value range, and raises ExportError, deleting the file, if they differ by more than ``atol``
(1e-4) times the output's magnitude (max(1, max |output|): a 0-255 model gets 255 times the slack).  Each
step is logged (logger ``imgen_train``: the CLI prints it) so a long export shows progress;
``skip_parity`` skips the probes with a warning and marks the file ``imgen.parity=skipped``.  Optional variants: fp16 (float16 inputs and weights, checked against the fp32
graph with ``FP16_ATOL``) and static int8 (quantize.py: QDQ calibrated on natural patches, refused
below ``quantize.MIN_PSNR`` dB against the float output on held-out patches);
their timings and errors are returned so the caller can decide whether they help.
"""
from __future__ import annotations

import contextlib
import copy
import json
import logging
import os
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch import nn

from imgen.atomic import atomic_write

from . import fast_graphs, norm_stats, probe_images
from .graphs import Graph, graphs_for

OPSET = 18
ATOL = 1e-4
FP16_ATOL = 2e-2
CHECK_SIZES = ((1, 37, 53), (2, 64, 41), (1, 19, 128))  # (batch, height, width), rounded up for multiples
BATCH_CHECKS = ((1, 0, 0), (5, 0, 0), (64, 0, 0))  # graphs with fixed image sizes / latent inputs

log = logging.getLogger("imgen_train")


class ExportError(RuntimeError):
    """The exported graph does not match torch (or could not be exported)."""


@dataclass
class ExportReport:
    path: str
    max_abs_error: float | None  # None: the parity probes were skipped
    checked_sizes: list[tuple[int, int, int]]
    variants: dict[str, dict] = field(default_factory=dict)
    parts: dict[str, dict] = field(default_factory=dict)  # models of several networks: part -> report
    metadata: dict[str, str] = field(default_factory=dict)  # the imgen.* entries written (imports)
    notes: list[str] = field(default_factory=list)  # what an import decided and why (families)

    def to_json(self) -> str:
        return json.dumps(self.__dict__, indent=2, default=str)


def _written_metadata(path: Path) -> dict[str, str]:
    """The imgen.* metadata_props of an exported file, as written."""
    import onnx

    props = onnx.load(str(path), load_external_data=False).metadata_props
    return {p.key: p.value for p in props if p.key.startswith("imgen.")}


def fuse_batch_norm(model: nn.Module) -> nn.Module:
    """A copy of ``model`` (eval mode) with every Conv2d + BatchNorm2d pair in a Sequential folded."""
    model = copy.deepcopy(model).eval()
    for module in model.modules():
        if not isinstance(module, nn.Sequential):
            continue
        names = list(module._modules)
        for a, b in zip(names, names[1:]):
            conv, bn = module._modules[a], module._modules[b]
            if isinstance(conv, nn.Conv2d) and isinstance(bn, nn.BatchNorm2d):
                module._modules[a] = torch.nn.utils.fusion.fuse_conv_bn_eval(conv, bn)
                module._modules[b] = nn.Identity()
    return model


@contextlib.contextmanager
def _quiet_exporter():
    """The dynamo exporter warns about things that do not concern us (torchvision ops, naming)."""
    loggers = [logging.getLogger(n) for n in ("torch.onnx", "torch.export", "torch._dynamo", "onnxscript")]
    levels = [lg.level for lg in loggers]
    for lg in loggers:
        lg.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        for lg, level in zip(loggers, levels):
            lg.setLevel(level)


def _round(n: int, m: int) -> int:
    return -(-n // m) * m


def _session(path: str | Path, threads: int | None = None):
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.log_severity_level = 3  # not the warning about overridable initializers (norm_stats.py)
    if threads:
        opts.intra_op_num_threads = threads
    return ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])


def _feeds(graph: Graph, batch: int, h: int, w: int, rng: np.random.Generator, dtype=np.float32) -> dict:
    m = graph.size_multiple
    feeds = graph.feeds(batch, _round(h, m), _round(w, m), rng)
    return {k: v.astype(dtype) for k, v in feeds.items()}


def _shape_of(feeds: dict) -> tuple[int, int, int]:
    first = next(iter(feeds.values()))
    return (first.shape[0], first.shape[2], first.shape[3]) if first.ndim == 4 else (first.shape[0], 0, 0)


def _value_range(metadata: dict[str, str]) -> tuple[float, float]:
    try:
        lo, hi = (float(v) for v in metadata.get("imgen.range", "0,1").split(","))
        return lo, hi
    except ValueError:
        return 0.0, 1.0


def natural_feeds(graph: Graph, feeds: dict, seed: int) -> dict:
    """``feeds`` with the image input (the first, when 4-D) replaced by natural-looking crops of the same
    shape in the graph's value range (noisy for denoisers)."""
    name = graph.inputs[0]
    x = feeds[name]
    if x.ndim != 4 or x.shape[1] > 4:
        return feeds
    lo, hi = _value_range(graph.metadata)
    image = probe_images.natural_nchw(x.shape[0], x.shape[1], x.shape[2], x.shape[3], seed=seed)
    if graph.metadata.get("imgen.task") == "denoise":
        image = image + np.random.default_rng(seed).normal(0, 25 / 255, image.shape).astype(np.float32)
    return {**feeds, name: (lo + image * (hi - lo)).astype(x.dtype)}


def tolerance(atol: float, ref: np.ndarray) -> float:
    """``atol`` relative to the output's magnitude: atol * max(1, max |ref|)."""
    return atol * max(1.0, float(np.max(np.abs(ref))) if ref.size else 1.0)


def check_parity(graph: Graph, path: str | Path, *, atol: float = ATOL, sizes=CHECK_SIZES,
                 seed: int = 0) -> tuple[float, list[tuple[int, int, int]]]:
    """Max abs difference of onnxruntime vs torch over ``sizes`` (batch, height, width) and every
    output, on natural-looking images (``natural_feeds``); raises ExportError above ``tolerance``.
    Checked sizes are (batch, H, W) of the image input ((batch, 0, 0) for a latent input)."""
    sess = _session(path)
    rng = np.random.default_rng(seed)
    worst, checked = 0.0, []
    for n, (batch, h, w) in enumerate(sizes):
        feeds = natural_feeds(graph, _feeds(graph, batch, h, w, rng), seed + n)
        where = "batch {}, {}x{}".format(*_shape_of(feeds))
        log.info("parity probe %d/%d (%s): torch ...", n + 1, len(sizes), where)
        with torch.no_grad():
            refs = graph.module(*[torch.from_numpy(feeds[k]) for k in graph.inputs])
        refs = [r.numpy() for r in (refs if isinstance(refs, tuple) else (refs,))]
        log.info("parity probe %d/%d (%s): onnxruntime ...", n + 1, len(sizes), where)
        gots = sess.run(list(graph.outputs), feeds)
        for name, got, ref in zip(graph.outputs, gots, refs):
            if got.shape != ref.shape:
                raise ExportError(f"{path}: onnxruntime returned {name} {got.shape}, torch {ref.shape} at {where}")
            err = float(np.max(np.abs(got.astype(np.float64) - ref)))
            worst = max(worst, err)
            tol = tolerance(atol, ref)
            if not err <= tol:
                raise ExportError(f"{path}: onnxruntime differs from torch by {err:.3g} in {name} at {where} "
                                  f"(tolerance {tol:.3g}: {atol:g} x the output's magnitude); the export is not "
                                  "kept (--skip-parity keeps it unchecked)")
            log.info("parity probe %d/%d (%s): %s max |onnxruntime - torch| %.3g (tolerance %.3g)", n + 1,
                     len(sizes), where, name, err, tol)
        checked.append(_shape_of(feeds))
    return worst, checked


def _export_graph(graph: Graph, path: Path, arch: str) -> None:
    with _quiet_exporter():
        try:
            program = torch.onnx.export(graph.module.eval(), graph.example(), input_names=list(graph.inputs),
                                        output_names=list(graph.outputs), opset_version=OPSET, dynamo=True,
                                        dynamic_shapes=graph.dynamic_shapes(), external_data=False,
                                        optimize=True, verbose=False)
        except Exception as e:  # the exporter raises many types
            raise ExportError(f"torch.onnx.export failed for {arch}: {e}") from e
    program.save(str(path), external_data=False)


def _set_metadata(path: Path, meta: dict[str, str]) -> None:
    import onnx

    proto = onnx.load(str(path))
    del proto.metadata_props[:]
    for key, value in meta.items():
        entry = proto.metadata_props.add()
        entry.key, entry.value = key, value
    proto.producer_name = "imgen_train"
    onnx.checker.check_model(proto)
    onnx.save(proto, str(path))


def _time(path: Path, graph: Graph, size: int = 256, repeat: int = 10, threads: int | None = None) -> float:
    """Fastest of ``repeat`` runs on a batch-1 input (size x size for spatial graphs), seconds, CPU
    provider (the minimum is the least disturbed by other load on a shared machine)."""
    sess = _session(path, threads)
    dtype = np.float16 if sess.get_inputs()[0].type == "tensor(float16)" else np.float32
    feeds = _feeds(graph, 1, size, size, np.random.default_rng(1), dtype)
    sess.run(None, feeds)
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        sess.run(None, feeds)
        times.append(time.perf_counter() - t)
    return float(np.min(times))


def _variant_error(graph: Graph, ref_path: Path, path: Path, seed: int = 3) -> float:
    ref, sess = _session(ref_path), _session(path)
    dtype = np.float16 if sess.get_inputs()[0].type == "tensor(float16)" else np.float32
    worst = 0.0
    rng = np.random.default_rng(seed)
    for batch, h, w in CHECK_SIZES:
        feeds = _feeds(graph, batch, h, w, rng)
        a = ref.run(None, feeds)[0]
        b = sess.run(None, {k: v.astype(dtype) for k, v in feeds.items()})[0].astype(np.float32)
        worst = max(worst, float(np.max(np.abs(a - b))))
    return worst


def make_fp16(src: Path, dst: Path, graph: Graph, atol: float = FP16_ATOL) -> dict:
    """float16 weights and inputs (onnxruntime's converter); checked against the fp32 graph."""
    import onnx
    from onnxruntime.transformers.float16 import convert_float_to_float16

    proto = convert_float_to_float16(onnx.load(str(src)), keep_io_types=False)
    onnx.save(proto, str(dst))
    err = _variant_error(graph, src, dst)
    if not err <= atol:
        dst.unlink()
        raise ExportError(f"fp16 variant differs from fp32 by {err:.3g} (tolerance {atol:g}); not kept")
    return {"path": str(dst), "max_abs_error_vs_fp32": err, "bytes": dst.stat().st_size}


def make_int8(src: Path, dst: Path, graph: Graph, calibration: str | os.PathLike | None = None,
              search_float: int = 0, keep_float: tuple[int, ...] = (0, -1)) -> dict:
    """Static int8 (QDQ) quantisation, calibrated on natural patches, the convs ``keep_float`` (graph
    order, negative from the end) and ``search_float`` more, chosen by a greedy search, left float:
    quantize.py (docs/models.md, int8)."""
    from .quantize import quantize_file

    with _quiet_exporter():
        report = quantize_file(src, dst, calibration=calibration, search_float=search_float, keep_float=keep_float)
    return {"path": str(dst), "bytes": report.bytes, "float_convs": report.nodes_float,
            "psnr_vs_float": report.psnr_vs_float, **report.extra}


def _export_one(graph: Graph, path: Path, arch: str, atol: float,
                skip_parity: bool = False) -> tuple[float | None, list]:
    """Write one graph to ``path`` (atomically) only if it passes the parity gate (``skip_parity``: not
    checked, with a warning, ``imgen.parity=skipped`` in the file; the error returned is None).
    Instance-norm layers are rewritten to expose and take their statistics (norm_stats.py,
    ``imgen.norm_stats``), checked by feeding their own statistics back."""
    with atomic_write(path, keep_suffix=True, mode=None) as tmp:
        log.info("exporting %s to ONNX (torch.onnx.export) ...", arch)
        t = time.perf_counter()
        _export_graph(graph, tmp, arch)
        log.info("exported %s in %.1f s", arch, time.perf_counter() - t)
        rewritten = _expose_norm_stats(tmp)
        fast_graphs.rewrite_file(tmp)  # exact rewrites onnxruntime runs faster (fast_graphs.py)
        meta = {**graph.metadata, "imgen.norm_stats": norm_stats.KIND} if rewritten else dict(graph.metadata)
        if skip_parity:
            log.warning("%s: parity probes skipped (--skip-parity): onnxruntime is NOT checked against torch; the "
                        "file is marked imgen.parity=skipped", graph.metadata.get("imgen.name", arch))
            _set_metadata(tmp, {**meta, "imgen.parity": "skipped"})
            return None, []
        _set_metadata(tmp, meta)
        result = check_parity(graph, tmp, atol=atol, sizes=CHECK_SIZES if graph.spatial else BATCH_CHECKS)
        if rewritten:
            feeds = _feeds(graph, *CHECK_SIZES[0], np.random.default_rng(seed=7))
            try:
                norm_stats.check_given_stats(tmp, feeds, atol=atol)
            except ValueError as e:
                raise ExportError(f"{e}; the export is not kept") from None
        return result


def _expose_norm_stats(path: Path) -> int:
    """Rewrite the file's InstanceNormalization nodes in place (norm_stats.py); how many."""
    import onnx

    proto = onnx.load(str(path))
    try:
        count = norm_stats.expose_instance_norm_stats(proto)
    except ValueError as e:
        raise ExportError(f"instance-norm statistics: {e}") from None
    if count:
        onnx.save(proto, str(path))
    return count


def _variants(graph: Graph, path: Path, fp16: bool, int8: bool, measure: bool,
              calibration: str | os.PathLike | None = None, int8_search_float: int = 0,
              int8_keep_float: tuple[int, ...] = (0, -1)) -> dict[str, dict]:
    out: dict[str, dict] = {}
    if measure:
        out["fp32"] = {"seconds_256": _time(path, graph), "bytes": path.stat().st_size}
    if fp16:
        dst = path.with_name(path.stem + ".fp16.onnx")
        out["fp16"] = make_fp16(path, dst, graph)
        if measure:
            out["fp16"]["seconds_256"] = _time(dst, graph)
    if int8:
        dst = path.with_name(path.stem + ".int8.onnx")
        out["int8"] = make_int8(path, dst, graph, calibration, int8_search_float, int8_keep_float)
        if measure and dst.exists():
            out["int8"]["seconds_256"] = _time(dst, graph)
    return out


def export(model: nn.Module, path: str | os.PathLike, *, name: str | None = None, description: str | None = None,
           atol: float = ATOL, fp16: bool = False, int8: bool = False, measure: bool = False,
           skip_parity: bool = False, calibration: str | os.PathLike | None = None,
           int8_search_float: int = 0, int8_keep_float: tuple[int, ...] = (0, -1)) -> ExportReport:
    """Export ``model`` to ``path`` (see the module docstring); returns an ExportReport.

    Models of several networks write ``STEM-PART.onnx`` beside ``path`` for each part (the
    report's ``parts``; ``path`` is the first).  Raises ExportError (and leaves no file for the
    failing graph) when onnxruntime and torch disagree beyond ``atol``.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    model = fuse_batch_norm(model).float()
    graphs = graphs_for(model, name or path.stem, description)
    report: ExportReport | None = None
    for graph in graphs:
        target = path.with_name(f"{path.stem}-{graph.part}{path.suffix}") if graph.part else path
        err, checked = _export_one(graph, target, model.name, atol, skip_parity)
        variants = _variants(graph, target, fp16, int8, measure, calibration, int8_search_float, int8_keep_float)
        written = _written_metadata(target)
        if report is None:
            # the imgen.* entries the file carries (the report printed "metadata": {} for them)
            report = ExportReport(str(target), err, checked, metadata=written)
        if err is None or report.max_abs_error is None:
            report.max_abs_error = None
        else:
            report.max_abs_error = max(report.max_abs_error, err)
        if graph.part:
            report.parts[graph.part] = {"path": str(target), "max_abs_error": err, "checked_sizes": checked,
                                        "metadata": written}
        report.variants.update({f"{graph.part}.{k}" if graph.part else k: v for k, v in variants.items()})
    assert report is not None
    return report
