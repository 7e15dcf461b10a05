"""ONNX rewrites that keep a graph's outputs (to float rounding) and let onnxruntime's CPU provider run it fast.

    python -m imgen_train.fast_graphs MODEL.onnx ... [--check]     rewrite files in place (metadata kept)

onnxruntime runs convolutions in its blocked NCHWc layout; an operator it has no NCHWc kernel for
is wrapped in ReorderOutput/ReorderInput copies and runs in plain NCHW, and its cubic Resize is a
scalar loop.  In the shipped super-resolvers (srnet: 3x3 convs with PReLU, pixel shuffle, plus a
bicubic enlargement of the input) that cost onnxruntime 1.5x OpenVINO's time at 512x512
(benchmarks/speed/ort_vs_openvino.py, BENCHMARKS.md).  Three rewrites, each exact in real arithmetic:

* ``bicubic_resize_as_conv``: ``Resize`` (cubic, half_pixel, exclude_outside 0, integer scale s
  on H and W) becomes ``Pad`` (edge, 2) -> ``Conv`` (5x5, s*s phase planes per channel, group C)
  -> ``DepthToSpace`` (CRD).  Each output phase of an integer upscale is a fixed 4-tap filter, and
  clamping the taps to the border (what Resize does) is edge padding.
* ``prelu_as_relu_depthwise``: ``PRelu`` with per-channel slopes a whose only consumers are
  ordinary Convs becomes ``Relu(y) + DepthwiseConv1x1(y; a/(1-a))`` with the consumers' weights
  multiplied by (1-a) per input channel: PRelu(y) = (1-a) * (relu(y) + a/(1-a) * y).  onnxruntime
  keeps both in NCHWc (Relu elementwise; the depthwise conv absorbs the Add), so no layout copies
  remain.  (A BatchNormalization in its place, or a Mul, is converted to a slower NCHWc kernel:
  25-33 ms against 14 for 32x512x512, where the 3x3 conv itself takes 110.)  Slopes within 0.05
  of 1 are left alone; no per-channel slope can be fused into the conv itself (a slope ratio is
  invariant under positive scaling, and MLAS fuses only scalar activations).
* ``sink_add_below_depth_to_space``: ``Add(DepthToSpace(A), DepthToSpace(B))`` (same block size
  and mode) becomes ``DepthToSpace(Add(A, B))``: the sum happens at low resolution and
  onnxruntime folds it into the last convolution.

``optimise(model)`` applies all three to an onnx ModelProto in place and returns the counts;
``rewrite_file`` does it to a file (the export calls it) and ``max_abs_difference`` compares two
files on the same feeds (the check used for the shipped models: <= 1e-5).
"""
from __future__ import annotations

import argparse
import math
from pathlib import Path

import numpy as np

#: Largest difference allowed between a graph and its rewrite (float32 rounding only).
ATOL = 1e-5
PRELU_MIN_GAP = 0.05  # |1 - a| below this: the rewrite would amplify rounding; the node is kept


def _attrs(node) -> dict:
    from onnx import helper

    return {a.name: helper.get_attribute_value(a) for a in node.attribute}


def _text(value) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


class _Graph:
    """Lookups over one onnx GraphProto: initializers by name, consumers of each value, unique names."""

    def __init__(self, model):
        self.model = model
        self.graph = model.graph
        self.inits = {t.name: t for t in self.graph.initializer}
        self.outputs = {o.name for o in self.graph.output}
        self.consumers: dict[str, list] = {}
        for node in self.graph.node:
            for name in node.input:
                self.consumers.setdefault(name, []).append(node)
        self.taken = set(self.inits) | {i.name for i in self.graph.input} | self.outputs
        for node in self.graph.node:
            self.taken.update(node.output)
            self.taken.add(node.name)

    def name(self, base: str) -> str:
        name, k = base, 0
        while name in self.taken:
            k += 1
            name = f"{base}_{k}"
        self.taken.add(name)
        return name

    def const(self, base: str, array: np.ndarray) -> str:
        from onnx import numpy_helper

        name = self.name(base)
        self.graph.initializer.append(numpy_helper.from_array(array, name))
        self.inits[name] = self.graph.initializer[-1]
        return name

    def array(self, name: str) -> np.ndarray | None:
        from onnx import numpy_helper

        return numpy_helper.to_array(self.inits[name]) if name in self.inits else None

    def channels(self, value: str) -> int | None:
        """The static channel count (dim 1) of a graph input or value_info entry, if known."""
        for info in list(self.graph.input) + list(self.graph.value_info):
            if info.name == value:
                dims = info.type.tensor_type.shape.dim
                if len(dims) == 4 and dims[1].HasField("dim_value"):
                    return dims[1].dim_value
        return None

    def insert_after_producer(self, value: str, new_nodes: list) -> None:
        """Put ``new_nodes`` right after the node that makes ``value`` (first, for a graph input), so
        that they run early: onnxruntime folds an Add into a Conv only when the other addend is ready."""
        nodes = list(self.graph.node)
        i = next((k + 1 for k, n in enumerate(nodes) if value in n.output), 0)
        del self.graph.node[:]
        self.graph.node.extend(nodes[:i] + new_nodes + nodes[i:])

    def replace(self, old, new_nodes: list) -> None:
        """Put ``new_nodes`` where ``old`` is (keeps the topological order)."""
        nodes = list(self.graph.node)  # (protobuf copies on extend: match by outputs, not identity)
        i = next(k for k, n in enumerate(nodes) if list(n.output) == list(old.output))
        del self.graph.node[:]
        self.graph.node.extend(nodes[:i] + new_nodes + nodes[i + 1:])


def cubic_phase_taps(scale: int, a: float = -0.75) -> np.ndarray:
    """(scale, 5) float64: the filter over input offsets -2..2 that gives output phase p of a cubic
    half-pixel upscale by ``scale`` (Keys' kernel with coefficient ``a``; torch and ONNX use -0.75)."""
    def near(x):   # |x| <= 1
        return ((a + 2) * x - (a + 3)) * x * x + 1

    def far(x):    # 1 < |x| < 2
        return ((a * x - 5 * a) * x + 8 * a) * x - 4 * a

    taps = np.zeros((scale, 5))
    for p in range(scale):
        src = (p + 0.5) / scale - 0.5
        f = math.floor(src)
        t = src - f
        for j, w in enumerate((far(t + 1), near(t), near(1 - t), far(2 - t))):
            taps[p, f - 1 + j + 2] += w
    return taps


def bicubic_resize_as_conv(model) -> int:
    """Rewrite each eligible cubic Resize (module docstring); returns how many."""
    from onnx import helper

    g = _Graph(model)
    count = 0
    for node in [n for n in g.graph.node if n.op_type == "Resize" and n.domain in ("", "ai.onnx")]:
        at = _attrs(node)
        if (_text(at.get("mode", "nearest")) != "cubic" or at.get("exclude_outside", 0) != 0
                or at.get("antialias", 0) != 0
                or _text(at.get("coordinate_transformation_mode", "half_pixel")) not in ("half_pixel", "pytorch_half_pixel")
                or _text(at.get("keep_aspect_ratio_policy", "stretch")) != "stretch" or at.get("axes")):
            continue
        if len(node.input) < 3 or (len(node.input) > 3 and node.input[3]) or node.input[1]:
            continue  # sizes or an roi given: not the plain scale form
        scales = g.array(node.input[2])
        channels = g.channels(node.input[0])
        if scales is None or scales.shape != (4,) or channels is None:
            continue
        s = float(scales[2])
        if scales[0] != 1 or scales[1] != 1 or scales[3] != s or s != int(s) or s < 2:
            continue
        s = int(s)
        taps = cubic_phase_taps(s, float(at.get("cubic_coeff_a", -0.75)))
        kernel = np.einsum("ay,bx->abyx", taps, taps).reshape(s * s, 1, 5, 5)
        weight = np.tile(kernel, (channels, 1, 1, 1)).astype(np.float32)  # CRD: channel c -> planes c*s*s + p
        base = node.name or "resize"
        pads = g.const(base + "_pads", np.array([0, 0, 2, 2, 0, 0, 2, 2], np.int64))
        w = g.const(base + "_phase_weights", weight)
        padded, phases = g.name(base + "_padded"), g.name(base + "_phases")
        g.replace(node, [helper.make_node("DepthToSpace", [phases], [node.output[0]], name=g.name(base + "_shuffle"),
                                          blocksize=s, mode="CRD")])
        g.insert_after_producer(node.input[0], [
            helper.make_node("Pad", [node.input[0], pads], [padded], name=g.name(base + "_pad"), mode="edge"),
            helper.make_node("Conv", [padded, w], [phases], name=g.name(base + "_phase_conv"),
                             kernel_shape=[5, 5], group=channels),
        ])
        count += 1
    return count


def prelu_as_relu_depthwise(model) -> int:
    """Rewrite each eligible per-channel PRelu (module docstring); returns how many."""
    from onnx import helper, numpy_helper

    g = _Graph(model)
    count = 0
    for node in [n for n in g.graph.node if n.op_type == "PRelu" and n.domain in ("", "ai.onnx")]:
        slope = g.array(node.input[1])
        users = g.consumers.get(node.output[0], [])
        if slope is None or node.output[0] in g.outputs or not users:
            continue
        a = slope.astype(np.float64).reshape(-1)
        if slope.ndim not in (3, 4) or slope.size != a.size or slope.shape[-3] != a.size or np.prod(slope.shape) != a.size:
            continue
        if np.min(np.abs(1 - a)) < PRELU_MIN_GAP:
            continue
        weights = []
        for user in users:
            ok = (user.op_type == "Conv" and user.domain in ("", "ai.onnx") and list(user.input).count(node.output[0]) == 1
                  and user.input[0] == node.output[0] and _attrs(user).get("group", 1) == 1
                  and len(g.consumers.get(user.input[1], [])) == 1 and user.input[1] not in g.outputs)
            w = g.array(user.input[1]) if ok else None
            if w is None or w.ndim != 4 or w.shape[1] != a.size:
                break
            weights.append((user.input[1], w))
        else:
            for name, w in weights:  # consumers absorb the (1 - a) factor per input channel
                g.inits[name].CopyFrom(numpy_helper.from_array(
                    (w.astype(np.float64) * (1 - a)[None, :, None, None]).astype(w.dtype), name))
            c = a.size
            base = node.name or "prelu"
            scale = g.const(base + "_ratio", (a / (1 - a)).astype(np.float32).reshape(c, 1, 1, 1))
            y = node.input[0]
            relu, lin = g.name(base + "_relu_out"), g.name(base + "_linear_out")
            g.replace(node, [
                helper.make_node("Relu", [y], [relu], name=g.name(base + "_relu")),
                helper.make_node("Conv", [y, scale], [lin], name=g.name(base + "_linear"), kernel_shape=[1, 1], group=c),
                helper.make_node("Add", [lin, relu], [node.output[0]], name=g.name(base + "_sum")),
            ])
            count += 1
    return count


def sink_add_below_depth_to_space(model) -> int:
    """Rewrite each ``Add(DepthToSpace(A), DepthToSpace(B))`` as ``DepthToSpace(Add(A, B))``."""
    from onnx import helper

    g = _Graph(model)
    producer = {o: n for n in g.graph.node for o in n.output}
    count = 0
    for node in [n for n in g.graph.node if n.op_type == "Add" and n.domain in ("", "ai.onnx")]:
        if len(node.input) != 2 or node.input[0] == node.input[1]:
            continue
        found = [producer.get(name) for name in node.input]
        shuffles = [s for s in found if s is not None]
        if len(shuffles) != 2 or any(s.op_type != "DepthToSpace" or len(g.consumers.get(s.output[0], [])) != 1
                                     or s.output[0] in g.outputs for s in shuffles):
            continue
        a0, a1 = (_attrs(s) for s in shuffles)
        if a0["blocksize"] != a1["blocksize"] or _text(a0.get("mode", "DCR")) != _text(a1.get("mode", "DCR")):
            continue
        base = node.name or "add"
        total = g.name(base + "_low_res")
        added = helper.make_node("Add", [shuffles[0].input[0], shuffles[1].input[0]], [total], name=g.name(base + "_low"))
        shuffle = helper.make_node("DepthToSpace", [total], [node.output[0]], name=g.name(base + "_shuffle"),
                                   blocksize=a0["blocksize"], mode=_text(a0.get("mode", "DCR")))
        g.replace(node, [added, shuffle])
        for s in shuffles:
            g.graph.node.remove(s)
        count += 1
    return count


def _prune_initializers(model) -> None:
    used = {name for node in model.graph.node for name in node.input} | {o.name for o in model.graph.output}
    inputs = {i.name for i in model.graph.input}
    keep = [t for t in model.graph.initializer if t.name in used or t.name in inputs]
    del model.graph.initializer[:]
    model.graph.initializer.extend(keep)


def optimise(model) -> dict[str, int]:
    """Apply the rewrites to ``model`` (an onnx ModelProto, changed in place); how many of each.
    Shape inference runs first so that channel counts are known."""
    import onnx

    inferred = onnx.shape_inference.infer_shapes(model)
    model.graph.ClearField("value_info")
    model.graph.value_info.extend(inferred.graph.value_info)
    counts = {"resize": bicubic_resize_as_conv(model), "prelu": prelu_as_relu_depthwise(model)}
    counts["add"] = sink_add_below_depth_to_space(model)
    _prune_initializers(model)
    model.graph.ClearField("value_info")
    if any(counts.values()):
        onnx.checker.check_model(model)
    return counts


def rewrite_file(path: str | Path, out: str | Path | None = None) -> dict[str, int]:
    """``optimise`` a file (metadata and everything else kept); written to ``out`` (default: in place)
    only when something changed.  Returns the counts."""
    import onnx

    model = onnx.load(str(path))
    counts = optimise(model)
    if any(counts.values()) or (out is not None and Path(out) != Path(path)):
        onnx.save(model, str(out or path))
    return counts


def max_abs_difference(a: str | Path, b: str | Path, feeds: dict[str, np.ndarray]) -> float:
    """Largest |difference| between the first outputs of two files on ``feeds`` (onnxruntime, CPU)."""
    import onnxruntime as ort

    runs = [ort.InferenceSession(str(p), providers=["CPUExecutionProvider"]).run(None, feeds)[0] for p in (a, b)]
    return float(np.max(np.abs(runs[0].astype(np.float64) - runs[1])))


def natural_feeds(path: str | Path, image: np.ndarray) -> dict[str, np.ndarray]:
    """Feeds for an imgen model: ``image`` (H, W) float32 in [0, 1] as (1, C, H, W), sigma 25/255 where taken."""
    import onnxruntime as ort

    inputs = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"]).get_inputs()
    c = inputs[0].shape[1] if isinstance(inputs[0].shape[1], int) else 1
    feeds = {inputs[0].name: np.repeat(image[None, None].astype(np.float32), c, axis=1)}
    for extra in inputs[1:]:
        feeds[extra.name] = np.full((1, 1, 1, 1), 25 / 255, np.float32)
    return feeds


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("models", nargs="+", type=Path)
    ap.add_argument("--check", type=Path, metavar="IMAGE",
                    help="a natural gray image: refuse a rewrite whose output moves by more than ATOL on it")
    args = ap.parse_args(argv)
    import shutil
    import tempfile

    image = None
    if args.check:
        import cv2

        read = cv2.imread(str(args.check), cv2.IMREAD_GRAYSCALE)
        if read is None:
            raise SystemExit(f"--check {args.check}: not a readable image")
        image = read.astype(np.float32) / 255
    status = 0
    for path in args.models:
        with tempfile.TemporaryDirectory() as tmp:
            new = Path(tmp) / path.name
            counts = rewrite_file(path, new)
            diff = float("nan")
            if image is not None and any(counts.values()):
                h, w = (image.shape[0] // 8) * 8, (image.shape[1] // 8) * 8
                diff = max_abs_difference(path, new, natural_feeds(path, image[:h, :w]))
                if not diff <= ATOL:
                    print(f"{path}: rewrite differs by {diff:.3g} (> {ATOL:g}); not written")
                    status = 1
                    continue
            if any(counts.values()):
                shutil.copyfile(new, path)
            print(f"{path}: {counts}, max abs difference {diff:.3g}")
    return status


if __name__ == "__main__":
    raise SystemExit(main())
