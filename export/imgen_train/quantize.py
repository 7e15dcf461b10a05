"""Static int8 (QDQ) quantisation of an imgen restoration model: ``imgen export --int8``.

    python -m imgen_train.quantize MODEL.onnx OUT.onnx [--calibration DIR] [--count 64]

The float file is kept; the int8 file has the same inputs, outputs and metadata (plus
``imgen.quantization``).  What keeps the quality (docs/models.md, "int8"):

* calibration on what the model sees at work: natural patches, gray or colour as the model's
  channels (train400 / bsds400_color by default, never a test set) degraded by the model's own task: Gaussian noise with sigma spread over 0-75 for a
  denoiser (the noise-level map included), JPEG round trips at quality 10-40, bicubic downscales;
* the first and last convolution stay float (the noisy input and the residual the output is built
  from are never rounded to 8 bits);
* per-channel int8 weights, uint8 activations, minmax ranges (percentile clipping hurts a
  residual denoiser: the predicted noise is where the large values are);
* activation equalisation before quantising: in a Conv -> ReLU -> Conv chain output channel i of
  the first conv is divided by s_i and input channel i of the second multiplied by s_i (exact in
  float: ReLU commutes with a positive scale), s_i = sqrt(range_i / median range) from the
  calibration activations, so that one per-tensor activation scale fits every channel.

``quantize_file`` returns a report with the activation ranges before and after equalisation.
"""
from __future__ import annotations

import argparse
import functools
import json
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .ranges import parse_indices

KEY = "imgen.quantization"
#: An int8 file whose output is below this PSNR against the float output on held-out patches is refused.
MIN_PSNR = 38.0


class QuantizationError(RuntimeError):
    """The int8 model strays too far from the float one (it is not kept)."""


@dataclass
class QuantReport:
    path: str
    nodes_float: list[str]
    equalized_pairs: int
    calibration_feeds: int
    bytes: int
    psnr_vs_float: float = 0.0   # int8 output against float output, held-out patches, dB
    channel_range_ratio_before: float = 0.0   # worst max/median per-channel activation range
    channel_range_ratio_after: float = 0.0
    extra: dict = field(default_factory=dict)

    def to_json(self) -> str:
        return json.dumps(self.__dict__, indent=2, default=str)


# ---------------------------------------------------------------------------------------- calibration

def default_calibration_dir(channels: int = 1) -> Path | None:
    """$IMGEN_SHARED (else ../shared)/data/train400 for gray models, bsds400_color for colour ones."""
    name = "bsds400_color" if channels == 3 else "train400"
    shared = os.environ.get("IMGEN_SHARED")
    for base in ([Path(shared)] if shared else []) + [Path("../shared")]:
        if (base / "data" / name).is_dir():
            return base / "data" / name
    return None


def _image_files(folder: Path, limit: int = 392) -> list[Path]:
    files = sorted(p for p in folder.iterdir() if p.suffix.lower() in (".png", ".jpg", ".jpeg", ".bmp", ".tif"))
    return files[:limit]  # train400, bsds400_color: the last 8 are validation


def read_calibration_images(folder: Path, channels: int) -> list[np.ndarray]:
    """The images of ``folder``, float32 in [0, 1]: (H, W) gray for 1-channel models, (H, W, 3) RGB
    for 3-channel ones (a gray file is repeated into three channels)."""
    import cv2

    images = []
    for path in _image_files(folder):
        read = cv2.imread(str(path), cv2.IMREAD_COLOR if channels == 3 else cv2.IMREAD_GRAYSCALE)
        if read is None:
            raise ValueError(f"int8 calibration: cannot read {path} as an image")
        if channels == 3:
            read = cv2.cvtColor(read, cv2.COLOR_BGR2RGB)
        images.append(read.astype(np.float32) / 255)
    return images


def _jpeg(patch: np.ndarray, quality: int) -> np.ndarray:
    import cv2

    pixels = np.clip(patch * 255 + 0.5, 0, 255).astype(np.uint8)
    colour = pixels.ndim == 3
    _, buf = cv2.imencode(".jpg", cv2.cvtColor(pixels, cv2.COLOR_RGB2BGR) if colour else pixels,
                          [cv2.IMWRITE_JPEG_QUALITY, quality])
    decoded = cv2.imdecode(buf, cv2.IMREAD_COLOR if colour else cv2.IMREAD_GRAYSCALE)
    if decoded is None:
        raise RuntimeError(f"OpenCV could not decode its own JPEG (quality {quality})")
    return (cv2.cvtColor(decoded, cv2.COLOR_BGR2RGB) if colour else decoded).astype(np.float32) / 255


def calibration_feeds(info: dict[str, str], input_names: list[str], images: list[np.ndarray], *,
                      count: int = 64, size: int = 128, seed: int = 1,
                      sigmas: tuple[float, float] = (0.0, 75.0)) -> list[dict[str, np.ndarray]]:
    """``count`` feeds of (1, C, size, size) float32 patches cut from ``images`` (float32 in [0, 1],
    (H, W) gray, repeated to C channels, or (H, W, C)) and degraded for the model's task (``imgen.task`` of ``info``, its metadata; a deblurring
    network that refines Wiener's output, ``imgen.input_from`` wiener, gets Wiener's output)."""
    import cv2

    rng = np.random.default_rng(seed)
    task = info.get("imgen.task", "denoise")
    scale = int(info.get("imgen.scale", "1"))
    multiple = int(info.get("imgen.size_multiple", "1"))
    channels = int(info.get("imgen.channels", "1"))
    side = max(multiple, size // multiple * multiple)
    feeds = []
    for k in range(count):
        img = images[rng.integers(len(images))]
        big = side * scale if task == "sr" else side
        y, x = rng.integers(0, np.array(img.shape[:2]) - big + 1)
        patch = img[y:y + big, x:x + big]
        extra = {}
        if task == "sr":
            patch = cv2.resize(patch, (side, side), interpolation=cv2.INTER_CUBIC)
        elif task == "jpeg":
            patch = _jpeg(patch, int(rng.integers(10, 41)))
        elif task == "deblur":
            patch = _blurred(patch, rng, wiener=float(info.get("imgen.wiener_balance", "0.01"))
                             if info.get("imgen.input_from") == "wiener" else None)
        else:  # denoisers: sigma spread evenly over 0-75 (the noise map sees every level)
            sigma = (sigmas[0] + (k + rng.random()) / count * (sigmas[1] - sigmas[0])) / 255
            patch = patch + rng.normal(0, sigma, patch.shape)
            if len(input_names) > 1:
                extra[input_names[1]] = np.full((1, 1, 1, 1), sigma, np.float32)
        if patch.ndim == 3:
            image = np.ascontiguousarray(patch.transpose(2, 0, 1)[None], np.float32)
        else:
            image = np.repeat(patch[None, None].astype(np.float32), channels, axis=1)
        feeds.append({input_names[0]: image, **extra})
    return feeds


def _blurred(patch: np.ndarray, rng: np.random.Generator, *, wiener: float | None) -> np.ndarray:
    """``patch`` (float32 in [0, 1]) blurred by a kernel of the training family with noise of 1-4
    (0-255), rounded to 8 bits; with ``wiener`` (a balance), Wiener's output of it (the true kernel,
    clipped), the input of a ``wiener_refine`` network."""
    from imgen import degrade
    from imgen.restoration import wiener as deconvolve

    from .tasks.restore import draw_kernel

    kernel = draw_kernel(rng)
    blurred = degrade.blur(np.rint(patch * 255).astype(np.uint8), kernel, float(rng.uniform(1, 4)) / 255,
                           seed=int(rng.integers(2**31))).astype(np.float32) / 255
    if wiener is None:
        return blurred
    return np.clip(deconvolve(blurred, kernel, balance=wiener), 0, 1).astype(np.float32)


class _Reader:
    def __init__(self, feeds):
        self._it = iter(feeds)

    def get_next(self):
        return next(self._it, None)

    def rewind(self):  # not needed by minmax
        pass


# ------------------------------------------------------------------------------------- equalisation

def _activation_ranges(model, names: list[str], feeds: list[dict]) -> dict[str, np.ndarray]:
    """Per-channel max |value| of the named tensors over ``feeds`` (onnxruntime, CPU)."""
    import onnx
    import onnxruntime as ort

    probe = onnx.ModelProto()
    probe.CopyFrom(model)
    for name in names:
        probe.graph.output.append(onnx.helper.make_tensor_value_info(name, onnx.TensorProto.FLOAT, None))
    opts = ort.SessionOptions()
    opts.log_severity_level = 3
    sess = ort.InferenceSession(probe.SerializeToString(), opts, providers=["CPUExecutionProvider"])
    out: dict[str, np.ndarray] = {}
    for feed in feeds:
        for name, value in zip(names, sess.run(names, feed)):
            m = np.abs(value).max(axis=(0, 2, 3))
            out[name] = m if name not in out else np.maximum(out[name], m)
    return out


def _chains(model) -> list[tuple]:
    """(conv1, relu, conv2) triples: conv1's only consumer is a Relu whose only consumer is conv2."""
    g = model.graph
    consumers: dict[str, list] = {}
    for node in g.node:
        for name in node.input:
            consumers.setdefault(name, []).append(node)
    inits = {t.name for t in g.initializer}
    outputs = {o.name for o in g.output}
    chains = []
    for conv in g.node:
        if conv.op_type != "Conv" or len(conv.input) < 2 or conv.input[1] not in inits:
            continue
        relus = consumers.get(conv.output[0], [])
        if len(relus) != 1 or relus[0].op_type != "Relu" or conv.output[0] in outputs:
            continue
        nxt = consumers.get(relus[0].output[0], [])
        if (len(nxt) != 1 or nxt[0].op_type != "Conv" or nxt[0].input[0] != relus[0].output[0]
                or nxt[0].input[1] not in inits or relus[0].output[0] in outputs):
            continue
        if any(a.name == "group" and a.i != 1 for a in list(conv.attribute) + list(nxt[0].attribute)):
            continue
        chains.append((conv, relus[0], nxt[0]))
    return chains


def equalize_activations(model, feeds: list[dict], *, strength: float = 0.5, rounds: int = 2) -> tuple[int, float, float]:
    """Scale the channels between the convs of every Conv -> Relu -> Conv chain (module docstring),
    ``model`` changed in place; exact in real arithmetic.  Returns (pairs, worst max/median channel
    range ratio before, after)."""
    from onnx import numpy_helper

    chains = _chains(model)
    if not chains:
        return 0, 1.0, 1.0
    inits = {t.name: t for t in model.graph.initializer}
    names = [relu.output[0] for _, relu, _ in chains]
    worst_before = worst_after = 1.0
    for r in range(rounds):
        ranges = _activation_ranges(model, names, feeds)
        worst = max(float(m.max() / max(np.median(m), 1e-12)) for m in ranges.values())
        if r == 0:
            worst_before = worst
        for (conv, _relu, nxt), name in zip(chains, names):
            m = ranges[name].astype(np.float64)
            live = m > 1e-8
            if not live.any():
                continue
            s = np.ones_like(m)
            s[live] = (m[live] / np.median(m[live])) ** strength
            w1 = numpy_helper.to_array(inits[conv.input[1]]).astype(np.float64)
            inits[conv.input[1]].CopyFrom(numpy_helper.from_array((w1 / s[:, None, None, None]).astype(np.float32),
                                                                  conv.input[1]))
            if len(conv.input) > 2 and conv.input[2]:
                b1 = numpy_helper.to_array(inits[conv.input[2]]).astype(np.float64)
                inits[conv.input[2]].CopyFrom(numpy_helper.from_array((b1 / s).astype(np.float32), conv.input[2]))
            w2 = numpy_helper.to_array(inits[nxt.input[1]]).astype(np.float64)
            inits[nxt.input[1]].CopyFrom(numpy_helper.from_array((w2 * s[None, :, None, None]).astype(np.float32),
                                                                 nxt.input[1]))
    after = _activation_ranges(model, names, feeds)
    worst_after = max(float(m.max() / max(np.median(m), 1e-12)) for m in after.values())
    return len(chains), worst_before, worst_after


def _shared_weights(model) -> bool:
    """True when some conv weight is used by more than one node (scaling it would change both)."""
    seen: dict[str, int] = {}
    for node in model.graph.node:
        if node.op_type == "Conv" and len(node.input) > 1:
            seen[node.input[1]] = seen.get(node.input[1], 0) + 1
    return any(v > 1 for v in seen.values())


# ---------------------------------------------------------------------------------------- quantise

def conv_names(model) -> list[str]:
    """Conv node names in graph order (nodes without a name get one)."""
    names = []
    for k, node in enumerate(model.graph.node):
        if node.op_type == "Conv":
            if not node.name:
                node.name = f"imgen_conv_{k}"
            names.append(node.name)
    return names


def quantize_file(src: str | os.PathLike, dst: str | os.PathLike, *, calibration: str | os.PathLike | None = None,
                  count: int = 64, size: int = 128, keep_float: tuple[int, ...] = (0, -1), search_float: int = 0,
                  equalize: bool = False, strength: float = 0.25, method: str = "percentile",
                  reduce_range: bool = False, sigmas: tuple[float, float] = (10.0, 75.0),
                  equalize_sigmas: tuple[float, float] = (0.0, 75.0), ops: tuple[str, ...] = ("Conv", "Relu"),
                  percentile: float = 99.999, seed: int = 1) -> QuantReport:
    """Write the int8 QDQ version of the float model ``src`` to ``dst`` (module docstring).

    calibration: a folder of images, read gray or RGB as the model's channels (default:
    :func:`default_calibration_dir`); keep_float: the indices (in graph order; negative from the
    end) of the convs left in float; search_float: this many more convs left in float, chosen
    greedily (each round keeps the conv whose float gives the int8 model the highest PSNR against
    the float model on 16 selection patches, held out from calibration and from the final check);
    each candidate is one quantisation (~20 s for a 12-layer denoiser on 2 cores); method: "minmax"
    or "percentile" (99.999).  Raises FileNotFoundError without calibration images.
    """
    import onnx

    if isinstance(search_float, bool) or not isinstance(search_float, int) or search_float < 0:
        raise ValueError(f"search_float must be an integer >= 0, got {search_float!r}")
    model = onnx.load(str(src))
    info = {e.key: e.value for e in model.metadata_props}
    channels = int(info.get("imgen.channels", "1"))
    folder = Path(calibration) if calibration else default_calibration_dir(channels)
    if folder is None or not folder.is_dir():
        raise FileNotFoundError("int8 calibration needs natural images: pass a folder (default "
                                f"$IMGEN_SHARED/data/{'bsds400_color' if channels == 3 else 'train400'})")
    images = read_calibration_images(folder, channels)
    inputs = [i.name for i in model.graph.input if i.name not in {t.name for t in model.graph.initializer}]
    multiple = int(info.get("imgen.size_multiple", "1"))
    scale = int(info.get("imgen.scale", "1")) if info.get("imgen.task") == "sr" else 1
    smallest = min(min(im.shape[:2]) for im in images) if images else 0
    size = min(size, smallest // scale // multiple * multiple)  # SR: the HR patch must fit (train400: 180 px)
    if size < max(multiple, 8):
        raise FileNotFoundError(f"the calibration images in {folder} are too small for this model")
    feeds = calibration_feeds(info, inputs, images, count=count, size=size, seed=seed, sigmas=sigmas)
    pairs, before, after = 0, 1.0, 1.0
    if equalize and not _shared_weights(model):
        eq_feeds = calibration_feeds(info, inputs, images, count=count, size=size, seed=seed + 1,
                                     sigmas=equalize_sigmas)
        pairs, before, after = equalize_activations(model, eq_feeds, strength=strength)
    names = conv_names(model)
    excluded = sorted({names[k] for k in keep_float if -len(names) <= k < len(names)}, key=names.index)
    quantize = functools.partial(_quantize, feeds=feeds, method=method, reduce_range=reduce_range, ops=ops,
                                 percentile=percentile)
    searched: list[dict] = []
    with tempfile.TemporaryDirectory() as tmp:
        plain, pre = os.path.join(tmp, "float.onnx"), os.path.join(tmp, "pre.onnx")
        onnx.save(model, plain)
        _pre_process(plain, pre)
        if search_float:
            selection = calibration_feeds(info, inputs, images, count=16, size=size, seed=seed + 200, sigmas=sigmas)
            candidate = os.path.join(tmp, "candidate.onnx")
            for _ in range(min(search_float, len(names) - len(excluded))):
                scores = {}
                for name in (n for n in names if n not in excluded):
                    quantize(pre, candidate, excluded=sorted([*excluded, name], key=names.index))
                    scores[name] = psnr_against(plain, candidate, selection)
                best = max(scores, key=lambda n: scores[n])
                excluded = sorted([*excluded, best], key=names.index)
                searched.append({"kept_float": best, "selection_psnr": round(scores[best], 3)})
        quantize(pre, str(dst), excluded=excluded)
    held_out = calibration_feeds(info, inputs, images, count=8, size=size, seed=seed + 100, sigmas=sigmas)
    psnr = psnr_against(src, dst, held_out)
    if not psnr >= MIN_PSNR:
        Path(dst).unlink(missing_ok=True)
        raise QuantizationError(f"int8 output is {psnr:.1f} dB from the float output on held-out patches "
                                f"(at least {MIN_PSNR:g} needed); not kept")
    out = onnx.load(str(dst))
    del out.metadata_props[:]
    for key, value in info.items():
        if key != KEY:
            entry = out.metadata_props.add()
            entry.key, entry.value = key, (f"{value}-int8" if key == "imgen.name" else value)
    entry = out.metadata_props.add()
    entry.key = KEY
    entry.value = json.dumps({"format": "qdq", "weights": "int8 per-channel", "activations": "uint8",
                              "float_convs": excluded, "float_search": searched, "equalized_pairs": pairs,
                              "calibration": method, "calibration_feeds": len(feeds)}, sort_keys=True)
    onnx.save(out, str(dst))
    return QuantReport(str(dst), excluded, pairs, len(feeds), Path(dst).stat().st_size, psnr, before, after,
                       extra={"float_search": searched} if searched else {})


def _pre_process(src: str, dst: str) -> None:
    from onnxruntime.quantization.shape_inference import quant_pre_process

    quant_pre_process(src, dst, skip_symbolic_shape=True)


def _quantize(pre: str, dst: str, *, feeds: list[dict], excluded: list[str], method: str, reduce_range: bool,
              ops: tuple[str, ...], percentile: float) -> None:
    """onnxruntime's static QDQ quantisation of the pre-processed ``pre``: per-channel int8
    weights, uint8 activations calibrated on ``feeds``, the convs named in ``excluded`` left float."""
    from onnxruntime.quantization import CalibrationMethod, QuantFormat, QuantType, quantize_static

    methods = {"minmax": CalibrationMethod.MinMax, "percentile": CalibrationMethod.Percentile}
    quantize_static(pre, dst, _Reader(feeds), quant_format=QuantFormat.QDQ, per_channel=True,
                    reduce_range=reduce_range, activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8,
                    op_types_to_quantize=list(ops), nodes_to_exclude=excluded, calibrate_method=methods[method],
                    extra_options={"CalibPercentile": percentile} if method == "percentile" else None)


def psnr_against(reference: str | os.PathLike, path: str | os.PathLike, feeds: list[dict]) -> float:
    """PSNR (dB, peak 1) of the first output of ``path`` against that of ``reference`` over ``feeds``."""
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.log_severity_level = 3
    a, b = (ort.InferenceSession(str(p), opts, providers=["CPUExecutionProvider"]) for p in (reference, path))
    err = np.mean([np.mean((a.run(None, f)[0].astype(np.float64) - b.run(None, f)[0]) ** 2) for f in feeds])
    return float(10 * np.log10(1 / max(err, 1e-20)))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("model")
    ap.add_argument("output")
    ap.add_argument("--calibration", help="folder of images, read gray or RGB as the model's channels "
                                          "(default $IMGEN_SHARED/data/train400, bsds400_color for colour models)")
    ap.add_argument("--count", type=int, default=64)
    ap.add_argument("--size", type=int, default=128)
    ap.add_argument("--keep-float", default="0,-1", help="conv indices left in float ('' for none)")
    ap.add_argument("--search-float", type=int, default=0,
                    help="this many more convs left in float, chosen greedily on held-out patches")
    ap.add_argument("--equalize", action="store_true")
    ap.add_argument("--strength", type=float, default=0.25)
    ap.add_argument("--method", choices=("minmax", "percentile"), default="percentile")
    ap.add_argument("--reduce-range", action="store_true")
    ap.add_argument("--sigmas", default="10,75", help="calibration noise levels, LO,HI (0-255 units)")
    ap.add_argument("--equalize-sigmas", default="0,75", help="noise levels the equalisation sees")
    ap.add_argument("--ops", default="Conv,Relu")
    ap.add_argument("--percentile", type=float, default=99.999)
    args = ap.parse_args(argv)
    keep = parse_indices(args.keep_float)
    report = quantize_file(args.model, args.output, calibration=args.calibration, count=args.count, size=args.size,
                           keep_float=keep, search_float=args.search_float, equalize=args.equalize, strength=args.strength,
                           method=args.method, reduce_range=args.reduce_range,
                           sigmas=_pair(args.sigmas), ops=tuple(args.ops.split(",")),
                           equalize_sigmas=_pair(args.equalize_sigmas),
                           percentile=args.percentile)
    print(report.to_json())
    return 0


def _pair(text: str) -> tuple[float, float]:
    """'LOW,HIGH' as two floats (SystemExit naming the text otherwise)."""
    parts = text.split(",")
    if len(parts) != 2:
        raise SystemExit(f"expected LOW,HIGH, got {text!r}")
    return float(parts[0]), float(parts[1])


if __name__ == "__main__":
    raise SystemExit(main())
