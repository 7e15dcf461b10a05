"""Adopt a third-party ONNX file: read what its graph says, probe the rest with a few runs, and write
imgen metadata (``imgen import model.onnx -o adopted.onnx``).  No torch: onnx and onnxruntime only.

From the graph (``read_graph``): the image input (the first 4-D input that is not a noise level), a
second input named like sigma/noise/level (-> ``noise_input``, ``noise_kind`` from its shape), a
static channel axis, a fixed height/width, and symbolic output dims: ``4*height`` -> scale 4,
``8*(height//8)`` -> size multiple 8.  From runs (``probe``): the scale, the smallest size multiple
the graph runs at, the receptive field (how far a one-pixel change travels, in input pixels; ->
``tile_overlap``) and whether the output depends on the whole image (global pooling: a change at one
end of a long strip reaches the other end; -> ``whole_image``, ``tile`` 0).  Keys the file already
declares are kept; everything found here is listed in ``imgen.inferred``.  Probed images are float32
in the model's range, NCHW; noise levels are fed as 25/255 of the full range.
"""
from __future__ import annotations

import ast
import logging
import math
import operator
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping

import numpy as np

from ._runtime import choose_providers, create_session
from .atomic import atomic_write
from .errors import ModelError, require
from .model_info import METADATA_KEYS, ModelInfo, parse_metadata

log = logging.getLogger("imgen")

NOISE_NAME = re.compile(r"sigma|noise|level|strength", re.I)
MULTIPLES = (1, 2, 4, 8, 16, 32, 64, 128)
PROBE_SIZES = (64, 128, 256)    # squares for the receptive field, smallest first
STRIP = (16, 2048)              # (height, width) of the whole-image test
PROBE_SIGMA = 25 / 255          # noise level fed while probing, a fraction of the full range
_BIG = 720720                   # divisible by 1..16: evaluates symbolic dims away from remainders


@dataclass
class GraphFacts:
    """What the ONNX graph itself says (names, static dims, symbolic output dims)."""

    image_input: str
    image_shape: tuple            # ints, or str for named dynamic dims, or None
    output: str
    output_shape: tuple
    noise_input: str | None = None
    noise_kind: str | None = None
    channels: int | None = None
    fixed_size: tuple[int, int] | None = None
    scale: int | None = None
    size_multiple: int | None = None
    notes: list[str] = field(default_factory=list)


@dataclass
class Probe:
    """``info``: the completed metadata; ``notes``: how each inferred value was found."""

    info: ModelInfo
    notes: list[str]


def _onnx():
    return require("onnx", purpose="adopting an ONNX file (imgen import MODEL.onnx)", extra="import")


def _dims(value_info) -> tuple:
    dims = []
    for d in value_info.type.tensor_type.shape.dim:
        dims.append(d.dim_value if d.HasField("dim_value") else (d.dim_param or None))
    return tuple(dims)


_OPS = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.FloorDiv: operator.floordiv,
        ast.Mod: operator.mod}


def eval_dim(expr: str, symbol: str, value: int) -> int | None:
    """A symbolic dim such as ``4*height`` or ``8*(h//8)`` evaluated with ``symbol`` = value
    (integer arithmetic only); None when the expression is anything else."""
    try:
        tree = ast.parse(expr.replace("floor(", "(").replace("/", "//").replace("////", "//"), mode="eval")
    except SyntaxError:
        return None

    def ev(node):
        if isinstance(node, ast.Expression):
            return ev(node.body)
        if isinstance(node, ast.Constant) and isinstance(node.value, int):
            return node.value
        if isinstance(node, ast.Name) and node.id == symbol:
            return value
        if isinstance(node, ast.BinOp) and type(node.op) in _OPS:
            return _OPS[type(node.op)](ev(node.left), ev(node.right))
        raise ValueError(expr)

    try:
        return int(ev(tree))
    except (ValueError, ZeroDivisionError, TypeError):
        return None


def _symbolic_scale_multiple(in_dim, out_dim) -> tuple[int | None, int | None]:
    """(scale, size multiple) from one symbolic input/output dim pair, or Nones."""
    if not isinstance(in_dim, str) or not isinstance(out_dim, str):
        return None, None
    at_big = eval_dim(out_dim, in_dim, _BIG)
    if at_big is None or at_big % _BIG:
        return None, None
    scale = at_big // _BIG
    for m in MULTIPLES:
        if all(eval_dim(out_dim, in_dim, _BIG + m + k * m) == scale * (_BIG + m + k * m) for k in range(3)) and \
                all(eval_dim(out_dim, in_dim, _BIG + j) != scale * (_BIG + j) for j in range(1, m)):
            return scale, m
    return scale, None


def read_graph(path: str | os.PathLike) -> GraphFacts:
    """GraphFacts from the file's inputs and outputs (no runs).  ModelError when it has no 4-D
    float image input or no output."""
    onnx = _onnx()
    try:
        proto = onnx.load(str(path), load_external_data=False)
    except Exception as e:  # onnx raises DecodeError and others
        raise ModelError(f"{path}: not a readable ONNX file ({str(e).splitlines()[0] if str(e) else type(e).__name__})") from None
    inits = {i.name for i in proto.graph.initializer}
    inputs = [(i.name, _dims(i)) for i in proto.graph.input if i.name not in inits]
    outputs = [(o.name, _dims(o)) for o in proto.graph.output]
    noise = next((n for n, s in inputs if NOISE_NAME.search(n)), None)
    images = [(n, s) for n, s in inputs if n != noise and len(s) == 4]
    if not images or not outputs:
        found = ", ".join(f"{n}{list(s)}" for n, s in inputs) or "none"
        raise ModelError(f"{path}: expected a 4-D NCHW image input and an image output; inputs: {found}")
    (name, shape), (out, out_shape) = images[0], outputs[0]
    facts = GraphFacts(name, shape, out, out_shape, noise_input=noise)
    if noise is not None:
        nshape = dict(inputs)[noise]
        facts.noise_kind = "scalar" if len(nshape) <= 1 or all(d == 1 for d in nshape[1:]) else "map"
        facts.notes.append(f"noise input {noise!r} {list(nshape)} -> noise_kind {facts.noise_kind} (by name)")
    if isinstance(shape[1], int) and shape[1] > 0:
        facts.channels = shape[1]
    if isinstance(shape[2], int) and isinstance(shape[3], int) and shape[2] > 0 and shape[3] > 0:
        facts.fixed_size = (shape[2], shape[3])
        facts.notes.append(f"fixed input size {shape[2]}x{shape[3]} in the graph")
    if len(out_shape) == 4:
        for k in (2, 3):
            scale, mult = _symbolic_scale_multiple(shape[k], out_shape[k])
            if scale is not None and facts.scale is None:
                facts.scale = scale
                facts.notes.append(f"output dim {out_shape[k]!r} of input dim {shape[k]!r} -> scale {scale}")
            if mult is not None and mult > 1:
                facts.size_multiple = max(facts.size_multiple or 1, mult)
                facts.notes.append(f"output dim {out_shape[k]!r} -> size multiple {mult}")
            if isinstance(shape[k], int) and isinstance(out_shape[k], int) and shape[k] > 0 and facts.scale is None \
                    and out_shape[k] % shape[k] == 0:
                facts.scale = out_shape[k] // shape[k]
                facts.notes.append(f"static dims {shape[k]} -> {out_shape[k]}: scale {facts.scale}")
    return facts


class _Runner:
    """One CPU session and the feeds a probe needs."""

    def __init__(self, path, facts: GraphFacts, info: ModelInfo, threads: int | None):
        self.session = create_session(str(path), choose_providers("cpu"), threads)
        self.facts, self.info = facts, info
        self.types = {i.name: i.type for i in self.session.get_inputs()}

    def channels(self) -> int:
        return self.info.input_channels or self.info.channels or self.facts.channels or 3

    def run(self, x: np.ndarray) -> np.ndarray:
        """The first output for an NCHW float32 image batch (noise levels added); ModelError if it fails."""
        lo, hi = self.info.value_range
        feeds = {}
        image = x * (hi - lo) + lo
        if self.info.extra_channels == "noise":
            sigma = PROBE_SIGMA if self.info.noise_units == "fraction" else PROBE_SIGMA * 255
            image[:, -1] = sigma
        feeds[self.facts.image_input] = image
        noise = self.info.noise_input
        if noise is not None:
            sigma = PROBE_SIGMA * (hi - lo) if self.info.noise_units == "fraction" else PROBE_SIGMA * 255
            shape = (x.shape[0], 1, 1, 1) if self.info.noise_kind == "scalar" else (x.shape[0], 1) + x.shape[2:]
            feeds[noise] = np.full(shape, sigma, np.float32)
        feeds = {k: v.astype(np.float16 if self.types.get(k) == "tensor(float16)" else np.float32)
                 for k, v in feeds.items()}
        try:
            out = self.session.run(None, feeds)[0]
        except Exception as e:  # onnxruntime's own exception types
            msg = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
            raise ModelError(f"{x.shape[2]}x{x.shape[3]}: {msg}") from None
        return np.asarray(out, dtype=np.float64)

    def runs(self, h: int, w: int) -> bool:
        try:
            out = self.run(np.random.default_rng(0).random((1, self.channels(), h, w), dtype=np.float32))
        except ModelError:
            return False
        s = out.shape[2] / h
        return out.ndim == 4 and out.shape[2] == s * h and out.shape[3] == s * w and s == int(s) and s >= 1


def _round(n: int, m: int) -> int:
    return -(-n // m) * m


def _probe_multiple(runner: _Runner, base: int) -> int:
    """The smallest of MULTIPLES whose sizes (base + m) the graph runs at, with an integer scale."""
    for m in MULTIPLES:
        if runner.runs(base + m, base + m):
            return m
    raise ModelError(f"the model runs at {base}x{base} but at none of {base}+{', '.join(map(str, MULTIPLES))}: "
                     "give imgen.size_multiple with info={'size_multiple': N} (command line: --info size_multiple=N)")


def _changed(runner: _Runner, x: np.ndarray, points) -> tuple[list[np.ndarray], int]:
    """Per input pixel (y, x) in ``points``: the mask of output pixels that change when that pixel
    changes (any change at all: outside the receptive field the output is bit-identical); the scale."""
    a = runner.run(x)
    c = runner.info.channels or x.shape[1]
    masks = []
    for y, xx in points:
        x2 = x.copy()
        x2[:, :c, y, xx] = 1.0 - x2[:, :c, y, xx]
        masks.append(np.abs(a - runner.run(x2)).max(axis=(0, 1)) > 0)
    return masks, a.shape[2] // x.shape[2]


def _radius(mask: np.ndarray, scale: int, y: int, x: int) -> int:
    ys, xs = np.nonzero(mask)
    if len(ys) == 0:
        return 0
    dy = np.abs((ys + 0.5) / scale - 0.5 - y).max()
    dx = np.abs((xs + 0.5) / scale - 0.5 - x).max()
    return int(math.ceil(max(dy, dx) - 1e-9))


def _touches_border(mask: np.ndarray) -> bool:
    return bool(mask[0].any() or mask[-1].any() or mask[:, 0].any() or mask[:, -1].any())


def probe_receptive(runner: _Runner, multiple: int, min_size: int, square: bool,
                    fixed: tuple[int, int] | None) -> tuple[int | None, bool | None, list[str]]:
    """(receptive radius in input pixels or None, whole-image dependence or None, notes)."""
    rng = np.random.default_rng(1)
    c = runner.channels()
    sizes = [fixed] if fixed else [(_round(max(s, min_size), multiple),) * 2 for s in PROBE_SIZES]
    for h, w in sizes:
        x = rng.random((1, c, h, w), dtype=np.float32)
        # two points at different offsets within any window or block grid (windowed attention reaches
        # farther from some positions than from others)
        points = [(h // 2, w // 2), (h // 2 + 5, w // 2 + 3)]
        masks, scale = _changed(runner, x, points)
        if not any(_touches_border(m) for m in masks):
            r = max(_radius(m, scale, y, xx) for m, (y, xx) in zip(masks, points))
            return r, False, [f"one-pixel changes near the centre of {h}x{w} reach {r} pixels -> receptive field {r}"]
    if fixed or square:
        return None, None, [f"a one-pixel change reaches the border of {h}x{w}; whole-image dependence not probed "
                            f"({'fixed size' if fixed else 'square inputs only'})"]
    sh, sw = _round(max(STRIP[0], min_size), multiple), _round(STRIP[1], multiple)
    x = rng.random((1, c, sh, sw), dtype=np.float32)
    (mask,), scale = _changed(runner, x, [(sh // 2, 0)])
    if mask[:, -1].any():
        return None, True, [f"a one-pixel change at one end of a {sh}x{sw} strip changes the other end: the output "
                            "depends on the whole image (global pooling or image-wide attention); tiling cannot match"]
    cols = np.nonzero(mask.any(axis=0))[0]
    r = int(math.ceil((cols.max() + 0.5) / scale - 0.5)) if len(cols) else 0
    return r, False, [f"a one-pixel change reaches {r} pixels along a {sh}x{sw} strip -> receptive field {r}"]


def _tiling_for(info: ModelInfo) -> dict:
    """tile and tile_overlap for the probed receptive field (whole-image models: never tile)."""
    if info.whole_image:
        return {"tile": 0}
    need = info.overlap_needed
    if need is None:
        return {}
    overlap = _round(need, info.size_multiple)
    tile = max(info.tile or 512, _round(3 * overlap, info.size_multiple))
    return {"tile_overlap": overlap, "tile": tile}


def _props(path) -> dict[str, str]:
    return {p.key: p.value for p in _onnx().load(str(path), load_external_data=False).metadata_props}


def probe(path: str | os.PathLike, info: ModelInfo | None = None, *, declared: set[str] | None = None,
          threads: int | None = None) -> Probe:
    """Complete ``info`` (default: the file's own metadata) from the graph and a few CPU runs.

    declared: the ``imgen.*`` keys the author gave (default: those in the file when ``info`` is
    None, else every key ``info`` writes); they are kept.  Scale, size_multiple, channels,
    noise_input/kind, receptive_field, whole_image, tile_overlap and tile are filled where missing
    and listed in ``inferred``.  Raises ModelError when the model does not run at any probed size.
    """
    facts = read_graph(path)
    if info is None:
        props = _props(path)
        info = parse_metadata(props)
        declared = {k for k in props if k.startswith("imgen.")} if declared is None else declared
    if declared is None:
        declared = set(info.to_metadata())
    notes = list(facts.notes)
    found: dict[str, object] = {}
    if "imgen.channels" not in declared and info.channels is None and facts.channels is not None:
        if facts.channels in (1, 3, 4):
            found["channels"] = facts.channels
        elif facts.channels in (2,) and facts.noise_input is None:
            found.update(channels=1, input_channels=2, extra_channels="noise")
            notes.append("2 input channels: gray plus a noise-level map (DRUNet's layout)")
    if info.noise_input is None and facts.noise_input is not None:
        found.update(noise_input=facts.noise_input, noise_kind=facts.noise_kind)
    if info.task is None:
        found["task"] = "denoise" if (facts.noise_input or found.get("extra_channels")) else "restore"
    if "imgen.size_multiple" not in declared and facts.size_multiple:
        found["size_multiple"] = facts.size_multiple
    if "imgen.scale" not in declared and facts.scale is not None:
        found["scale"] = facts.scale
    if found:
        info = info.replace(**found)
    runner = _Runner(path, facts, info, threads)
    base = facts.fixed_size[0] if facts.fixed_size else _round(max(64, info.min_size), info.size_multiple)
    if facts.fixed_size:
        if not runner.runs(*facts.fixed_size):
            raise ModelError(f"{path}: the model does not run at its fixed size {facts.fixed_size}")
    elif not runner.runs(base, base):
        try:
            runner.run(np.zeros((1, runner.channels(), base, base), np.float32))
        except ModelError as e:
            raise ModelError(f"{path}: could not run the model to probe it ({e}); supply what it needs with "
                             "info={KEY: VALUE} (channels, size_multiple, min_size; command line: --info KEY=VALUE)") from None
    more: dict[str, object] = {}
    if not facts.fixed_size and "imgen.size_multiple" not in declared and "size_multiple" not in found:
        m = _probe_multiple(runner, base)
        more["size_multiple"] = m
        notes.append(f"runs at {base}+{m} but not at smaller steps -> size multiple {m}")
    if "imgen.scale" not in declared and "scale" not in found:
        out = runner.run(np.zeros((1, runner.channels(), base, base), np.float32))
        more["scale"] = out.shape[2] // base
        notes.append(f"{base}x{base} -> {out.shape[2]}x{out.shape[3]}: scale {more['scale']}")
    if more:
        info = info.replace(**more)
    if "imgen.receptive_field" not in declared or "imgen.whole_image" not in declared:
        r, whole, why = probe_receptive(runner, info.size_multiple, info.min_size, info.square, facts.fixed_size)
        notes += why
        measured = {k: v for k, v in (("receptive_field", r), ("whole_image", whole)) if f"imgen.{k}" not in declared}
        more.update(measured)  # a declared whole_image (spandrel's INTERNAL tiling, --info) is kept
        info = info.replace(**measured)
    tiling = {} if {"imgen.tile", "imgen.tile_overlap"} & declared else _tiling_for(info)
    if facts.fixed_size and not {"imgen.tile"} & declared:
        tiling = {"tile": facts.fixed_size[0], **({"tile_overlap": tiling["tile_overlap"]}
                                                  if "tile_overlap" in tiling else {})}
    info = info.replace(**tiling)
    keys = [k for k in (*found, *more, *tiling) if getattr(info, k) is not None]
    inferred = tuple(dict.fromkeys([*info.inferred, *keys]))
    return Probe(info.replace(inferred=inferred), notes)


#: Keys ``imgen import --info`` may declare: every imgen metadata key but the schema version and the
#: importer's own list of inferred keys.
#: Conventions ``imgen import`` writes for published models (docs/import.md) and ``--info`` declares:
#: bicubic pre-upsampling by imgen.scale, the colour space the graph runs on (rgb, y), the published figure.
CONVENTION_KEYS = ("pre_upsample", "color_space", "published")
DECLARABLE = tuple(dict.fromkeys([*(k for k in METADATA_KEYS if k not in ("schema", "inferred")), *CONVENTION_KEYS]))


def check_declarable(metadata: Mapping[str, str]) -> None:
    """ModelError naming the keys of ``metadata`` that are not imgen metadata keys (DECLARABLE)."""
    unknown = sorted(k for k in metadata if k not in DECLARABLE)
    if unknown:
        raise ModelError(f"unknown model info key(s) {', '.join(unknown)}; known: {', '.join(DECLARABLE)}")


def declare(info: ModelInfo, metadata: Mapping[str, str] | None) -> ModelInfo:
    """``info`` with ``metadata`` (text values, keys without ``imgen.``, as ``--info KEY=VALUE`` gives
    them) laid over it, parsed and validated like a file's own metadata; a declared key is no longer
    listed as inferred.  ModelError naming an unknown key or a bad value."""
    if not metadata:
        return info
    check_declarable(metadata)
    try:
        merged = parse_metadata({**info.to_metadata(), **{f"imgen.{k}": str(v) for k, v in metadata.items()}})
    except ModelError as e:
        raise ModelError(f"info: {e}") from None
    return merged.replace(inferred=tuple(k for k in merged.inferred if k not in metadata))


def declare_file(path: str | os.PathLike, metadata: Mapping[str, str] | None) -> ModelInfo:
    """Rewrite ``path``'s imgen metadata with ``metadata`` declared over it (``declare``), atomically."""
    info = declare(parse_metadata(_props(path)), metadata)
    if metadata:
        write_metadata(path, path, info)
    return info


def write_metadata(src: str | os.PathLike, dst: str | os.PathLike, info: ModelInfo) -> None:
    """Copy ``src`` to ``dst`` (atomically) with its imgen.* metadata replaced by ``info``'s; other
    metadata entries are kept."""
    onnx = _onnx()
    proto = onnx.load(str(src))
    kept = [(p.key, p.value) for p in proto.metadata_props if not p.key.startswith("imgen.")]
    del proto.metadata_props[:]
    for key, value in [*kept, *info.to_metadata().items()]:
        entry = proto.metadata_props.add()
        entry.key, entry.value = key, value
    with atomic_write(dst, keep_suffix=True, mode=None) as tmp:
        onnx.save(proto, str(tmp))


def adopt(src: str | os.PathLike, dst: str | os.PathLike, *, info: Mapping[str, object] | None = None,
          metadata: Mapping[str, str] | None = None, threads: int | None = None) -> Probe:
    """Write ``dst``: ``src`` with imgen metadata (what it declares, ``info`` (ModelInfo fields) and
    ``metadata`` (text entries, as ``--info``) override, the rest probed).  Returns the Probe (the
    metadata written and how each value was found)."""
    src = Path(src)
    if not src.is_file():
        raise ModelError(f"model file not found: {src}")
    onnx = _onnx()
    try:
        props = {p.key: p.value for p in onnx.load(str(src), load_external_data=False).metadata_props}
    except Exception as e:  # onnx raises DecodeError and others
        raise ModelError(f"{src}: not a readable ONNX file ({type(e).__name__})") from None
    base = parse_metadata(props)
    declared = {k for k in props if k.startswith("imgen.")}
    if info:
        unknown = set(info) - set(ModelInfo.__dataclass_fields__)
        if unknown:
            raise ModelError(f"unknown model info fields: {', '.join(sorted(unknown))}")
        base = base.replace(**info)
        declared |= {"imgen." + ("range" if k == "value_range" else k) for k in info}
    base = declare(base, metadata)
    declared |= {f"imgen.{k}" for k in metadata or ()}
    result = probe(src, base, declared=declared, threads=threads)
    if not result.info.name:
        result.info = result.info.replace(name=Path(dst).stem)
    write_metadata(src, dst, result.info)
    return result
