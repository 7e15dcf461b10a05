"""Export a trained model to an imgen ONNX file, checked against torch before it is kept.

    python -m imgen_train.export_onnx CHECKPOINT -o model.onnx [--fp16] [--int8]
    imgen export CHECKPOINT -o model.onnx

The graph has dynamic batch/height/width (height/width even for FFDNet), opset ``OPSET``, one
file (no external data) and imgen metadata (docs/model-format.md).  Inputs: ``image`` (N, C, H, W)
float in [0, 1] and, for models with a noise-level input, ``sigma`` (N, 1, 1, 1) in the same
units ("scalar" noise kind).  Output: ``output`` (N, C, H, W).

The parity gate runs onnxruntime and torch on random inputs at odd, non-square sizes (even ones
for size_multiple 2) and raises ExportError, deleting the file, if they differ by more than
``atol`` (1e-4).  Optional variants: fp16 (float16 inputs and weights, checked against the fp32
graph with ``FP16_ATOL``) and dynamic int8 (onnxruntime.quantization, checked with ``INT8_ATOL``);
their timings and errors are returned so the caller can decide whether they help.
"""
from __future__ import annotations

import argparse
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

OPSET = 18
ATOL = 1e-4
FP16_ATOL = 2e-2
INT8_ATOL = 5e-2
CHECK_SIZES = ((1, 37, 53), (2, 64, 41), (1, 19, 128))  # (batch, height, width), rounded up for multiples

log = logging.getLogger("imgen_train")


class ExportError(RuntimeError):
    """The exported graph does not match torch (or could not be exported)."""


@dataclass
class ExportReport:
    path: str
    max_abs_error: float
    checked_sizes: list[tuple[int, int, int]]
    variants: dict[str, dict] = field(default_factory=dict)

    def to_json(self) -> str:
        return json.dumps(self.__dict__, indent=2, default=str)


class _Graph(nn.Module):
    """The exported graph: named inputs, [0, 1] in and out."""

    def __init__(self, model: nn.Module):
        super().__init__()
        self.model = model

    def forward(self, image: torch.Tensor, sigma: torch.Tensor | None = None) -> torch.Tensor:
        if sigma is None:
            return self.model(image)
        return self.model(image, sigma)


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


def model_info(model: nn.Module, *, name: str | None = None, description: str | None = None) -> dict[str, str]:
    """The imgen metadata for ``model`` (via imgen.ModelInfo so the schema stays in one place)."""
    from imgen import ModelInfo

    radius = int(getattr(model, "receptive_radius", 32))
    info = ModelInfo(
        task="denoise",
        channels=model.in_channels,
        value_range=(0.0, 1.0),
        scale=1,
        size_multiple=getattr(model, "size_multiple", 1),
        tile=512,
        tile_overlap=max(16, 4 * radius),
        noise_input="sigma" if getattr(model, "noise_input", False) else None,
        noise_kind="scalar",
        name=name,
        description=description,
        extra={"arch": model.name, "arch_config": json.dumps(model.config.__dict__, sort_keys=True)},
    )
    info.validate()
    return info.to_metadata()


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


def _inputs(model: nn.Module, batch: int, h: int, w: int, rng: np.random.Generator, dtype=np.float32) -> dict:
    c = model.in_channels
    image = rng.random((batch, c, h, w)).astype(np.float32)
    feeds = {"image": image}
    if getattr(model, "noise_input", False):
        sigma = rng.uniform(0, 75 / 255, (batch, 1, 1, 1)).astype(np.float32)
        feeds["image"] = np.clip(image + rng.normal(0, 1, image.shape) * sigma, -0.5, 1.5).astype(np.float32)
        feeds["sigma"] = sigma
    return {k: v.astype(dtype) for k, v in feeds.items()}


def _round(n: int, m: int) -> int:
    return -(-n // m) * m


def _session(path: str | Path, threads: int | None = None):
    import onnxruntime as ort

    opts = ort.SessionOptions()
    if threads:
        opts.intra_op_num_threads = threads
    return ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])


def check_parity(model: nn.Module, path: str | Path, *, atol: float = ATOL, sizes=CHECK_SIZES,
                 seed: int = 0) -> tuple[float, list[tuple[int, int, int]]]:
    """Max abs difference of onnxruntime vs torch over ``sizes``; raises ExportError above ``atol``."""
    sess = _session(path)
    multiple = getattr(model, "size_multiple", 1)
    rng = np.random.default_rng(seed)
    worst, checked = 0.0, []
    for batch, h, w in sizes:
        h, w = _round(h, multiple), _round(w, multiple)
        feeds = _inputs(model, batch, h, w, rng)
        with torch.no_grad():
            ref = model(*[torch.from_numpy(v) for v in feeds.values()]).numpy()
        got = sess.run(None, feeds)[0]
        if got.shape != ref.shape:
            raise ExportError(f"{path}: onnxruntime returned {got.shape}, torch {ref.shape} at {batch}x{h}x{w}")
        err = float(np.max(np.abs(got.astype(np.float64) - ref)))
        worst = max(worst, err)
        checked.append((batch, h, w))
        if not err <= atol:
            raise ExportError(f"{path}: onnxruntime differs from torch by {err:.3g} at batch {batch}, "
                              f"{h}x{w} (tolerance {atol:g}); the export is not kept")
    return worst, checked


def _export_graph(model: nn.Module, path: Path) -> None:
    graph = _Graph(model).eval()
    m = getattr(model, "size_multiple", 1)
    c = model.in_channels
    batch = torch.export.Dim("batch", min=1, max=4096)
    if m == 1:
        hdim, wdim = torch.export.Dim("height", min=1, max=65536), torch.export.Dim("width", min=1, max=65536)
    else:
        hdim = m * torch.export.Dim("height_div", min=1, max=65536 // m)
        wdim = m * torch.export.Dim("width_div", min=1, max=65536 // m)
    args: tuple = (torch.rand(2, c, 4 * m + 2 * m, 6 * m),)
    dynamic: dict = {"image": {0: batch, 2: hdim, 3: wdim}}
    names = ["image"]
    if getattr(model, "noise_input", False):
        args += (torch.full((2, 1, 1, 1), 0.1),)
        dynamic["sigma"] = {0: batch}
        names.append("sigma")
    with _quiet_exporter():
        try:
            program = torch.onnx.export(graph, args, input_names=names, output_names=["output"],
                                        opset_version=OPSET, dynamo=True, dynamic_shapes=dynamic,
                                        external_data=False, optimize=True, verbose=False)
        except Exception as e:  # the exporter raises many types
            raise ExportError(f"torch.onnx.export failed for {model.name}: {e}") from e
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


def _time(path: Path, model: nn.Module, size: int = 256, repeat: int = 10, threads: int | None = None) -> float:
    """Fastest of ``repeat`` runs on a (1, C, size, size) input, seconds, CPU provider (the minimum is
    the least disturbed by other load on a shared machine)."""
    sess = _session(path, threads)
    dtype = np.float16 if sess.get_inputs()[0].type == "tensor(float16)" else np.float32
    feeds = _inputs(model, 1, size, size, np.random.default_rng(1), dtype)
    sess.run(None, feeds)
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        sess.run(None, feeds)
        times.append(time.perf_counter() - t)
    return float(np.min(times))


def _variant_error(model: nn.Module, ref_path: Path, path: Path, seed: int = 3) -> float:
    ref, sess = _session(ref_path), _session(path)
    dtype = np.float16 if sess.get_inputs()[0].type == "tensor(float16)" else np.float32
    worst = 0.0
    rng = np.random.default_rng(seed)
    m = getattr(model, "size_multiple", 1)
    for batch, h, w in CHECK_SIZES:
        feeds = _inputs(model, batch, _round(h, m), _round(w, m), rng)
        a = ref.run(None, feeds)[0]
        b = sess.run(None, {k: v.astype(dtype) for k, v in feeds.items()})[0].astype(np.float32)
        worst = max(worst, float(np.max(np.abs(a - b))))
    return worst


def make_fp16(src: Path, dst: Path, model: nn.Module, atol: float = FP16_ATOL) -> dict:
    """float16 weights and inputs (onnxruntime's converter); checked against the fp32 graph."""
    import onnx
    from onnxruntime.transformers.float16 import convert_float_to_float16

    proto = convert_float_to_float16(onnx.load(str(src)), keep_io_types=False)
    onnx.save(proto, str(dst))
    err = _variant_error(model, src, dst)
    if not err <= atol:
        dst.unlink()
        raise ExportError(f"fp16 variant differs from fp32 by {err:.3g} (tolerance {atol:g}); not kept")
    return {"path": str(dst), "max_abs_error_vs_fp32": err, "bytes": dst.stat().st_size}


def make_int8(src: Path, dst: Path, model: nn.Module, atol: float = INT8_ATOL) -> dict:
    """Dynamic int8 quantisation of the convolutions (onnxruntime.quantization)."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    with _quiet_exporter():
        quantize_dynamic(str(src), str(dst), weight_type=QuantType.QUInt8, op_types_to_quantize=["Conv"])
    err = _variant_error(model, src, dst)
    report = {"path": str(dst), "max_abs_error_vs_fp32": err, "bytes": dst.stat().st_size}
    if not err <= atol:
        dst.unlink()
        report["rejected"] = f"error {err:.3g} above tolerance {atol:g}"
    return report


def export(model: nn.Module, path: str | os.PathLike, *, name: str | None = None, description: str | None = None,
           atol: float = ATOL, fp16: bool = False, int8: bool = False, measure: bool = False) -> ExportReport:
    """Export ``model`` to ``path`` (see the module docstring); returns an ExportReport.

    Raises ExportError (and leaves no file) when onnxruntime and torch disagree beyond ``atol``.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    model = fuse_batch_norm(model).float()
    tmp = path.with_name(path.stem + ".tmp.onnx")
    try:
        _export_graph(model, tmp)
        _set_metadata(tmp, model_info(model, name=name or path.stem, description=description))
        err, checked = check_parity(model, tmp, atol=atol)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    report = ExportReport(str(path), err, checked)
    if measure:
        report.variants["fp32"] = {"seconds_256": _time(path, model), "bytes": path.stat().st_size}
    if fp16:
        dst = path.with_name(path.stem + ".fp16.onnx")
        report.variants["fp16"] = make_fp16(path, dst, model)
        if measure:
            report.variants["fp16"]["seconds_256"] = _time(dst, model)
    if int8:
        dst = path.with_name(path.stem + ".int8.onnx")
        report.variants["int8"] = make_int8(path, dst, model)
        if measure and dst.exists():
            report.variants["int8"]["seconds_256"] = _time(dst, model)
    return report


def export_checkpoint(checkpoint: str | os.PathLike, output: str | os.PathLike, **kw) -> ExportReport:
    """Export one of our checkpoints, or any checkpoint import_checkpoint recognises."""
    from .import_checkpoint import load_any

    model, description = load_any(checkpoint)
    if kw.get("description") is None:
        kw["description"] = description
    return export(model, output, **kw)


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("checkpoint", help="a checkpoint (.pt/.pth): ours, or one import_checkpoint recognises")
    p.add_argument("-o", "--output", required=True, help="the .onnx file to write")
    p.add_argument("--name", help="imgen.name metadata (default: the output's stem)")
    p.add_argument("--description", help="imgen.description metadata")
    p.add_argument("--atol", type=float, default=ATOL, help=f"parity tolerance vs torch (default {ATOL:g})")
    p.add_argument("--fp16", action="store_true", help="also write NAME.fp16.onnx (checked vs fp32)")
    p.add_argument("--int8", action="store_true", help="also write NAME.int8.onnx (dynamic quantisation)")
    p.add_argument("--measure", action="store_true", help="time each variant on a 256x256 image (CPU)")


def run_args(args: argparse.Namespace) -> ExportReport:
    return export_checkpoint(args.checkpoint, args.output, name=args.name, description=args.description,
                             atol=args.atol, fp16=args.fp16, int8=args.int8, measure=args.measure)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m imgen_train.export_onnx", description=__doc__.splitlines()[0])
    add_arguments(p)
    print(run_args(p.parse_args(argv)).to_json())
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
