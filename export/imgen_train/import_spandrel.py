"""Any architecture spandrel knows (ESRGAN, Compact, SwinIR, HAT, DAT, SPAN, DRUNet, SCUNet, NAFNet, FBCNN,
RetinexFormer, ... about 40), loaded by spandrel and exported with imgen metadata from its descriptor.

    imgen import 4x-UltraSharp.pth -o ultrasharp.onnx       (imgen_train.convert -> export_spandrel)

spandrel (MIT, ``pip install --no-deps spandrel``; docs/import.md) recognises the architecture and its
hyper-parameters from the state dict.  Its ``ImageModelDescriptor`` maps onto imgen's metadata
(``descriptor_info``): scale, channels, size requirements (minimum, multiple of, square), tiling
advice (``DISCOURAGED``/``INTERNAL`` -> whole_image) and purpose (-> task).  Models whose input is
colour plus a noise-level map (DRUNet, FDnCNN) are exported raw, with ``imgen.extra_channels=noise``
(sigma as a fraction of the full range), instead of spandrel's fixed sigma 15.  The grid a network's
windows or own padding lie on (SwinIR's window, SCUNet's 64, ...: ``WINDOW_MULTIPLES``) is folded into
``imgen.size_multiple`` so imgen's tiles start on it.  Image + mask models (LaMa) become ``inpaint``
models with inputs ``image`` and ``mask`` (1 = missing).

The graph takes height and width that are multiples of the size requirement (imgen pads by
reflection, as spandrel does); the parity gate (``check_padded``) compares onnxruntime on the padded
input with spandrel's own call at a size that is a multiple and one that is not.  The receptive
field and whole-image dependence are then measured on the ONNX file (``imgen.adopt.probe``).
"""
from __future__ import annotations

import logging
import math
import re
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping

import numpy as np
import torch
from torch import nn

from imgen import ModelInfo
from imgen.atomic import atomic_write

from .export_onnx import (ATOL, ExportError, ExportReport, _expose_norm_stats, _quiet_exporter, _set_metadata, _session,
                          tolerance)
from .probe_images import natural_nchw
from .norm_stats import KIND

OPSET = 18
#: Architectures whose input tensor is the image plus a noise-level map (one more channel).
NOISE_MAP_ARCHS = ("DRUNet",)
#: Architectures imgen treats as denoisers (the rest: restore).
DENOISE_ARCHS = ("DnCNN", "DRUNet", "SCUNet")
#: The grid an architecture's windows (or its own internal padding) lie on, read from the network: the
#: network pads its input to a multiple of it by itself, so a tile that does not start on that grid
#: sees other windows than the whole image does.  It becomes part of imgen.size_multiple (imgen then
#: pads, and aligns every tile start, to it) and is written as imgen.window.
WINDOW_MULTIPLES = {
    "SwinIR": lambda net: net.window_size,
    "Swin2SR": lambda net: net.window_size,
    "HAT": lambda net: net.window_size,
    "OmniSR": lambda net: net.window_size,
    "GRL": lambda net: net.pad_size,
    "DAT": lambda net: max(max(m.split_size) for m in net.modules() if hasattr(m, "split_size")),
    "SCUNet": lambda net: 64,           # check_image_size pads to 64 (three 2x downsamplings, windows of 8)
    "FBCNN": lambda net: 8,             # three 2x downsamplings, replication-padded to 8 inside
    "NAFNet": lambda net: net.padder_size,
    "KBNet": lambda net: net.padder_size,
}
#: What an architecture's exported output is, where its own forward returns more than the image.
OUTPUT_NOTES = {
    "FBCNN": "the restored image: the first of FBCNN's (image, predicted JPEG quality factor) outputs; the "
             "quality factor is predicted from the input inside the graph and not exported, and no qf input "
             "is taken",
}
#: Architectures the dynamo exporter crashes on (torch 2.13: a segfault while decomposing SPAN's
#: re-parameterised convolutions); they go through the TorchScript exporter, and the parity gate
#: checks its dynamic height and width at sizes other than the traced one.
TORCHSCRIPT_ARCHS = ("SPAN",)
log = logging.getLogger("imgen_train")


class SpandrelUnavailable(ImportError):
    """spandrel (or torchvision, which it imports) is not installed; the message says what to install."""


def spandrel_module():
    """The spandrel package, or SpandrelUnavailable naming what to install."""
    try:
        import spandrel
    except ModuleNotFoundError as e:
        if e.name == "torchvision":
            want = matching_torchvision(torch.__version__)
            pin = f"'torchvision=={want}.*' " if want else "torchvision "
            raise SpandrelUnavailable(
                f"spandrel imports torchvision, which is not installed: install the torchvision release built for "
                f"torch {torch.__version__} (CPU: pip install {pin}--index-url https://download.pytorch.org/whl/cpu); "
                "docs/import.md") from None
        raise SpandrelUnavailable(
            f"checkpoints of other architectures are read by spandrel, which is not installed (missing {e.name}): "
            "pip install 'imgen[import]' && pip install --no-deps 'spandrel>=0.4,<0.5' (docs/import.md)") from None
    except Exception as e:  # noqa: BLE001 - torchvision built for another torch fails in its own words
        mismatch = torchvision_mismatch(e)
        if mismatch is None:
            raise
        raise SpandrelUnavailable(mismatch) from None
    return spandrel


def matching_torchvision(torch_version: str) -> str | None:
    """The torchvision release built for a torch release ("2.13.0+cpu" -> "0.28"): torch 2.N
    goes with torchvision 0.(N+15) since torch 2.0 / torchvision 0.15; None for other versions."""
    m = re.match(r"(\d+)\.(\d+)", torch_version)
    if not m or m.group(1) != "2":
        return None
    return f"0.{int(m.group(2)) + 15}"


def torchvision_mismatch(e: BaseException) -> str | None:
    """The message for importing a torchvision built for another torch ("operator torchvision::nms
    does not exist", "undefined symbol ..."): both versions and the matching pair; None when ``e``
    is not that."""
    text = str(e)
    tb, from_torchvision = e.__traceback__, False
    while tb is not None:
        from_torchvision |= "torchvision" in tb.tb_frame.f_code.co_filename
        tb = tb.tb_next
    if "torchvision::" not in text and not from_torchvision:
        return None
    from importlib import metadata

    try:
        tv = metadata.version("torchvision")
    except metadata.PackageNotFoundError:
        tv = "unknown"
    torch_version = torch.__version__
    want = matching_torchvision(torch_version)
    index = ("https://download.pytorch.org/whl/cpu" if "+cpu" in torch_version
             else "the PyTorch index of your torch build")
    pair = (f"torch {torch_version} needs torchvision {want}.x: pip install 'torchvision=={want}.*' --index-url {index}"
            if want else "install the torchvision release built for your torch")
    return (f"torchvision {tv} does not match torch {torch_version} (importing it failed: {text.strip() or type(e).__name__}); "
            f"spandrel imports torchvision, so {pair} (docs/import.md)")


def window_multiple(descriptor) -> int | None:
    """The grid the network's windows / internal padding lie on (WINDOW_MULTIPLES), None if unknown."""
    read = WINDOW_MULTIPLES.get(descriptor.architecture.id)
    if read is None:
        return None
    try:
        value = int(read(descriptor.model))
    except (AttributeError, TypeError, ValueError):
        return None
    return value if value > 1 else None


def is_noise_map_model(descriptor) -> bool:
    """True when the network's input is the image plus a sigma map (DRUNet, FDnCNN)."""
    arch = descriptor.architecture.id
    return arch in NOISE_MAP_ARCHS or (arch == "DnCNN" and getattr(descriptor.model, "mode", "") == "FDnCNN")


class _Inpaint(nn.Module):
    """image (N, C, H, W) and mask (N, 1, H, W; 1 = missing) in [0, 1] -> the filled image, through the
    descriptor's call (LaMa: image * (1 - mask) and the mask concatenated, holes composed back)."""

    def __init__(self, descriptor):
        super().__init__()
        self.net = descriptor.model
        self._call = descriptor._call_fn  # noqa: SLF001

    def forward(self, image: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        return self._call(self.net, image, mask)


class _Call(nn.Module):
    """The descriptor's own call (FBCNN's first output, ...) without spandrel's padding."""

    def __init__(self, descriptor):
        super().__init__()
        self.net = descriptor.model
        self._call = descriptor._call_fn  # noqa: SLF001 -- spandrel's per-architecture call

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        return self._call(self.net, image)


def load_descriptor(state_dict: Mapping[str, torch.Tensor]):
    """spandrel's descriptor (eval, float32, CPU) for a state dict; ValueError naming the problem."""
    spandrel = spandrel_module()
    try:
        with warnings.catch_warnings():  # architectures' own deprecation noise (torch.meshgrid indexing)
            warnings.filterwarnings("ignore", message="torch.meshgrid", category=UserWarning)
            descriptor = spandrel.ModelLoader("cpu").load_from_state_dict(dict(state_dict))
    except spandrel.UnsupportedModelError:
        raise ValueError("spandrel does not recognise this state dict either") from None
    except (KeyError, RuntimeError, AssertionError, ValueError) as e:
        raise ValueError(f"spandrel recognised an architecture but could not load the weights: {e}") from e
    if not isinstance(descriptor, (spandrel.ImageModelDescriptor, spandrel.MaskedImageModelDescriptor)):
        raise ValueError(f"{descriptor.architecture.name} is a {descriptor.purpose} model of a kind imgen does "
                         "not run (imgen runs image-to-image and image+mask inpainting models)")
    return descriptor.eval().float()


def is_inpaint_model(descriptor) -> bool:
    """True for spandrel's image + mask models (LaMa): exported as an imgen ``inpaint`` model."""
    return descriptor.purpose == "Inpainting"


def descriptor_info(descriptor, *, name: str | None = None, description: str | None = None) -> ModelInfo:
    """imgen metadata for a spandrel descriptor (what spandrel declares; probing adds the rest)."""
    spandrel = spandrel_module()
    req = descriptor.size_requirements
    noise_map = is_noise_map_model(descriptor)
    channels = descriptor.input_channels
    arch = descriptor.architecture.id
    whole = True if descriptor.tiling == spandrel.ModelTiling.INTERNAL else None
    tags = ",".join(descriptor.tags)
    window = window_multiple(descriptor)
    extra = {"arch": arch, "arch_tags": tags, "purpose": descriptor.purpose,
             "spandrel_tiling": descriptor.tiling.name.lower(), "importer": "spandrel"}
    if window:
        extra["window"] = str(window)
    if arch in OUTPUT_NOTES:
        extra["output"] = OUTPUT_NOTES[arch]
    if is_inpaint_model(descriptor):  # image and mask: LaMa zeroes the holes and appends the mask itself
        return ModelInfo(
            task="inpaint", channels=channels, value_range=(0.0, 1.0), scale=1,
            size_multiple=math.lcm(req.multiple_of, window or 1), min_size=max(1, req.minimum), square=req.square,
            mask_input="mask", mask_polarity="1", zero_holes=True, whole_image=True, tile=0,
            name=name, description=description, extra=extra)
    return ModelInfo(
        task="denoise" if arch in DENOISE_ARCHS else "restore", channels=channels,
        input_channels=channels + 1 if noise_map else None, extra_channels="noise" if noise_map else None,
        value_range=(0.0, 1.0), scale=descriptor.scale, size_multiple=math.lcm(req.multiple_of, window or 1),
        min_size=max(1, req.minimum), square=req.square, tile=0 if whole else None, whole_image=whole,
        name=name, description=description, extra=extra,
    )


def _round(n: int, m: int) -> int:
    return -(-n // m) * m


@dataclass
class _Sizes:
    trace: tuple[int, int]
    checks: tuple[tuple[int, int], ...]


def plan_sizes(info: ModelInfo) -> _Sizes:
    """Trace at a non-square multiple of the requirement (no padding branch folded away); check at
    another multiple and at a size that is not one (reflect-padded as imgen does)."""
    m, lo = info.size_multiple, info.min_size
    base = _round(max(lo, 24), m)
    if info.square:
        return _Sizes((base + m, base + m), ((base, base), (base + 2 * m + 3, base + 2 * m + 3)))
    return _Sizes((base + m, base + 2 * m), ((base, base + 3 * m), (base + m + 3, base + 5)))


def _pad(x: torch.Tensor, info: ModelInfo) -> torch.Tensor:
    """Pad bottom/right to the size requirements: reflect, then replicate past the image's size."""
    from spandrel import SizeRequirements
    from spandrel.__helpers.size_req import pad_tensor  # type: ignore[import-not-found]

    req = SizeRequirements(minimum=info.min_size if info.min_size > 1 else 0, multiple_of=info.size_multiple,
                           square=info.square)
    return pad_tensor(x, req)[1]


def _inputs(info: ModelInfo, h: int, w: int, rng: np.random.Generator) -> tuple[torch.Tensor, ...]:
    """The graph's inputs at h x w: the image (plus a sigma map), or image and mask (inpaint: a
    random rectangle of holes, 1 = missing)."""
    lo, hi = info.value_range  # a natural-looking image, not uniform noise (probe_images)
    x = torch.from_numpy(lo + (hi - lo) * natural_nchw(1, info.channels, h, w, seed=int(rng.integers(1 << 16))))
    if info.extra_channels == "noise":
        sigma = torch.full((1, 1, h, w), float(rng.uniform(5, 50)) / 255)
        x = torch.cat([x, sigma], dim=1)
    if info.task != "inpaint":
        return (x,)
    mask = torch.zeros((1, 1, h, w))
    y0, x0 = int(rng.integers(0, h // 2)), int(rng.integers(0, w // 2))
    mask[..., y0:y0 + h // 3 + 1, x0:x0 + w // 3 + 1] = 1.0
    return x, mask


def _names(info: ModelInfo) -> list[str]:
    return ["image", info.mask_input] if info.task == "inpaint" else ["image"]


def check_padded(module: nn.Module, path: Path, info: ModelInfo, sizes, *, atol: float = ATOL,
                 seed: int = 0) -> tuple[float, list[tuple[int, int, int]]]:
    """onnxruntime on the padded input, cropped, against torch at each (height, width) on a natural-looking
    image; ExportError above ``atol`` times the output's magnitude (the file is then not kept)."""
    sess = _session(path)
    rng = np.random.default_rng(seed)
    worst, checked, s = 0.0, [], info.scale or 1
    for h, w in sizes:
        padded = [_pad(x, info).numpy().copy() for x in _inputs(info, h, w, rng)]
        with torch.no_grad():  # copies: some networks scale their input in place (RCAN's x *= rgb_range)
            ref = module(*(torch.from_numpy(p.copy()) for p in padded))[:, :, :h * s, :w * s].numpy()
        try:
            got = sess.run(None, dict(zip(_names(info), padded)))[0]
        except Exception as e:  # noqa: BLE001 -- onnxruntime's own error types
            raise ExportError(f"{path}: onnxruntime cannot run the exported {info.extra.get('arch')} graph at "
                              f"{h}x{w}: {str(e).strip().splitlines()[0][:300]}") from None
        padded = padded[0]
        if got.shape[:2] != ref.shape[:2] or got.shape[2] < h * s or got.shape[3] < w * s:
            raise ExportError(f"{path}: onnxruntime returned {got.shape} for a {padded.shape} input, torch "
                              f"{tuple(ref.shape)} after cropping, at {h}x{w}")
        err = float(np.max(np.abs(got[:, :, :h * s, :w * s].astype(np.float64) - ref)))
        worst = max(worst, err)
        tol = tolerance(atol, ref)
        if not err <= tol:
            raise ExportError(f"{path}: onnxruntime differs from torch by {err:.3g} at {h}x{w} (padded to "
                              f"{padded.shape[2]}x{padded.shape[3]}; tolerance {tol:.3g}: {atol:g} x the output's "
                              "magnitude); the export is not kept (--skip-parity keeps it unchecked)")
        log.info("parity probe %dx%d: max |onnxruntime - torch| %.3g (tolerance %.3g)", h, w, err, tol)
        checked.append((1, h, w))
    return worst, checked


def _export(module: nn.Module, info: ModelInfo, path: Path, trace: tuple[int, int]) -> None:
    """torch.onnx.export with dynamic batch/height/width (multiples of the size requirement); the
    legacy TorchScript exporter when dynamo cannot (the parity gate then checks it at other sizes)."""
    m = info.size_multiple
    example = _inputs(info, *trace, np.random.default_rng(0))
    names = _names(info)
    lo = max(1, -(-max(info.min_size, 1) // m))
    hd = torch.export.Dim("height_div", min=lo, max=65536 // m)
    wd = hd if info.square else torch.export.Dim("width_div", min=lo, max=65536 // m)
    shapes = ({0: torch.export.Dim("batch", min=1, max=1024), 2: m * hd if m > 1 else hd,
               3: m * wd if m > 1 else wd},)
    if m == 1:  # a plain Dim: give it the names onnx shows
        hd = torch.export.Dim("height", min=lo, max=65536)
        wd = hd if info.square else torch.export.Dim("width", min=lo, max=65536)
        shapes = ({0: torch.export.Dim("batch", min=1, max=1024), 2: hd, 3: wd},)
    shapes = shapes * len(example)  # an inpaint model's mask has the image's batch, height and width
    with _quiet_exporter():
        try:
            if info.extra.get("arch") in TORCHSCRIPT_ARCHS:
                raise ExportError("known to crash the dynamo exporter")
            program = torch.onnx.export(module, example, input_names=names, output_names=["output"],
                                        opset_version=OPSET, dynamo=True, dynamic_shapes=shapes,
                                        external_data=False, optimize=True, verbose=False)
            program.save(str(path), external_data=False)
            return
        except Exception as e:  # noqa: BLE001 -- the exporter raises many types; fall back below
            first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
            log.info("dynamo export failed (%s); trying the TorchScript exporter", first[:200])
        try:
            axes = {n: {0: "batch", 2: "height", 3: "width"} for n in names}
            torch.onnx.export(module, example, str(path), input_names=names, output_names=["output"],
                              opset_version=OPSET, dynamo=False,
                              dynamic_axes={**axes, "output": {0: "batch", 2: "out_height", 3: "out_width"}})
        except Exception as e:  # noqa: BLE001
            raise ExportError(f"torch.onnx.export failed for {info.extra.get('arch')}: {e}") from e


def export_spandrel(descriptor, path: str | Path, *, name: str | None = None, description: str | None = None,
                    atol: float = ATOL, probe: bool = True, metadata: Mapping[str, str] | None = None,
                    skip_parity: bool = False) -> ExportReport:
    """Export a spandrel descriptor to ``path`` (atomically, only if it passes the parity gate).

    probe: measure the receptive field and whole-image dependence on the ONNX file and write them
    (imgen.receptive_field, imgen.whole_image, imgen.tile_overlap; listed in imgen.inferred).
    metadata: entries declared over the descriptor's (``--info``; imgen.adopt.declare), before the
    export, so a declared size multiple is what the graph is traced and checked at; probing keeps them.
    skip_parity: do not run the parity probes (a warning; ``imgen.parity=skipped`` in the file).
    """
    from imgen.adopt import declare
    from imgen.adopt import probe as probe_graph

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    info = declare(descriptor_info(descriptor, name=name or path.stem, description=description), metadata)
    if is_inpaint_model(descriptor):
        module, probe = _Inpaint(descriptor), False  # whole_image declared: the probe feeds no mask
    else:
        module = descriptor.model if is_noise_map_model(descriptor) else _Call(descriptor)
    module = module.eval()
    sizes = plan_sizes(info)
    with atomic_write(path, keep_suffix=True, mode=None) as tmp:
        log.info("exporting %s to ONNX (torch.onnx.export) ...", info.extra.get("arch"))
        _export(module, info, tmp, sizes.trace)
        if _expose_norm_stats(tmp):  # instance norm: statistics reportable and feedable (norm_stats.py)
            info = info.replace(norm_stats=KIND)
        if skip_parity:
            log.warning("%s: parity probes skipped (--skip-parity): onnxruntime is NOT checked against torch",
                        path.name)
            info = info.replace(extra={**info.extra, "parity": "skipped"})
            err, checked = None, []
        else:
            _set_metadata(tmp, info.to_metadata())
            err, checked = check_padded(module, tmp, info, sizes.checks, atol=atol)
        _set_metadata(tmp, info.to_metadata())
        if probe:
            log.info("probing the receptive field on the ONNX file ...")
            info = probe_graph(tmp, info).info
            _set_metadata(tmp, info.to_metadata())
    return ExportReport(str(path), err, checked, metadata=info.to_metadata())
