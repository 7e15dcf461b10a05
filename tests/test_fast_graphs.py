"""imgen_train.fast_graphs: the rewrites keep the outputs (<= 1e-5) and remove what onnxruntime runs slowly."""
from __future__ import annotations

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper, numpy_helper

from imgen_train import fast_graphs


def _sr_graph(scale: int, channels: int = 1, width: int = 8, slope: float | None = None, seed: int = 0):
    """An srnet-like graph: conv -> PRelu -> conv -> PRelu -> conv -> DepthToSpace, plus a cubic Resize."""
    rng = np.random.default_rng(seed)
    c, w, s = channels, width, scale

    def const(name, a):
        return numpy_helper.from_array(np.asarray(a, np.float32), name)

    slopes = [rng.uniform(0.05, 0.6, (1, w, 1, 1)) if slope is None else np.full((1, w, 1, 1), slope) for _ in range(2)]
    inits = [const("w0", rng.normal(0, 0.5, (w, c, 3, 3))), const("b0", rng.normal(0, 0.1, w)),
             const("w1", rng.normal(0, 0.2, (w, w, 3, 3))), const("b1", rng.normal(0, 0.1, w)),
             const("w2", rng.normal(0, 0.2, (c * s * s, w, 3, 3))), const("b2", rng.normal(0, 0.1, c * s * s)),
             const("a0", slopes[0]), const("a1", slopes[1]), const("scales", [1, 1, s, s])]
    pad = [1, 1, 1, 1]
    nodes = [helper.make_node("Conv", ["image", "w0", "b0"], ["y0"], pads=pad),
             helper.make_node("PRelu", ["y0", "a0"], ["p0"]),
             helper.make_node("Conv", ["p0", "w1", "b1"], ["y1"], pads=pad),
             helper.make_node("PRelu", ["y1", "a1"], ["p1"]),
             helper.make_node("Conv", ["p1", "w2", "b2"], ["y2"], pads=pad),
             helper.make_node("DepthToSpace", ["y2"], ["shuffled"], blocksize=s, mode="CRD"),
             helper.make_node("Resize", ["image", "", "scales"], ["up"], mode="cubic", cubic_coeff_a=-0.75,
                              coordinate_transformation_mode="half_pixel", exclude_outside=0),
             helper.make_node("Add", ["up", "shuffled"], ["output"])]
    graph = helper.make_graph(nodes, "sr", [helper.make_tensor_value_info("image", TensorProto.FLOAT, ["n", c, "h", "w"])],
                              [helper.make_tensor_value_info("output", TensorProto.FLOAT, ["n", c, "H", "W"])], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])
    entry = model.metadata_props.add()
    entry.key, entry.value = "imgen.name", "tiny-sr"
    return model


def _run(model, x):
    return ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"]).run(None, {"image": x})[0]


def _copy(model):
    out = onnx.ModelProto()
    out.CopyFrom(model)
    return out


@pytest.mark.parametrize("scale,channels", [(2, 1), (3, 1), (4, 1), (2, 3)])
def test_sr_rewrite_keeps_outputs_at_odd_sizes(scale, channels):
    model = _sr_graph(scale, channels)
    new = _copy(model)
    counts = fast_graphs.optimise(new)
    assert counts == {"resize": 1, "prelu": 2, "add": 1}
    ops = [n.op_type for n in new.graph.node]
    assert "PRelu" not in ops and "Resize" not in ops and ops.count("DepthToSpace") == 1
    assert {e.key: e.value for e in new.metadata_props} == {"imgen.name": "tiny-sr"}
    rng = np.random.default_rng(1)
    for shape in [(1, channels, 1, 1), (1, channels, 2, 3), (2, channels, 17, 9), (1, channels, 40, 33)]:
        x = rng.random(shape, np.float32)
        ref, got = _run(model, x), _run(new, x)
        assert got.shape == ref.shape == (shape[0], channels, shape[2] * scale, shape[3] * scale)
        assert np.max(np.abs(got - ref)) <= fast_graphs.ATOL


def test_cubic_taps_are_an_interpolating_partition_of_unity():
    for s in (2, 3, 4, 5):
        taps = fast_graphs.cubic_phase_taps(s)
        np.testing.assert_allclose(taps.sum(axis=1), 1, atol=1e-12)
    assert np.allclose(fast_graphs.cubic_phase_taps(3)[1], [0, 0, 1, 0, 0])  # the middle phase is the pixel


def test_prelu_near_one_or_not_before_a_conv_is_left_alone():
    model = _sr_graph(2, slope=0.98)
    assert fast_graphs.prelu_as_relu_depthwise(_copy(model)) == 0
    model = _sr_graph(2)
    model.graph.output.append(helper.make_tensor_value_info("p1", TensorProto.FLOAT, ["n", 8, "h", "w"]))  # p1 also an output
    new = _copy(model)
    assert fast_graphs.prelu_as_relu_depthwise(new) == 1
    x = np.random.default_rng(2).random((1, 1, 11, 13), np.float32)
    sess = [ort.InferenceSession(m.SerializeToString(), providers=["CPUExecutionProvider"]) for m in (model, new)]
    for a, b in zip(sess[0].run(None, {"image": x}), sess[1].run(None, {"image": x})):
        assert np.max(np.abs(a - b)) <= fast_graphs.ATOL


def test_rewrite_detects_a_wrong_kernel(monkeypatch):
    """The check can fail: a cubic coefficient other than the graph's moves the output."""
    model = _sr_graph(2)
    new = _copy(model)
    monkeypatch.setattr(fast_graphs, "cubic_phase_taps", lambda s, a=-0.75: _taps(s, -0.5))
    fast_graphs.optimise(new)
    x = np.random.default_rng(3).random((1, 1, 16, 16), np.float32)
    assert np.max(np.abs(_run(new, x) - _run(model, x))) > 1e-3


_taps = fast_graphs.cubic_phase_taps


def test_optimise_leaves_other_graphs_unchanged():
    x = helper.make_tensor_value_info("image", TensorProto.FLOAT, [1, 1, 4, 4])
    graph = helper.make_graph([helper.make_node("Relu", ["image"], ["output"])], "g", [x],
                              [helper.make_tensor_value_info("output", TensorProto.FLOAT, [1, 1, 4, 4])])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])
    before = model.SerializeToString()
    assert fast_graphs.optimise(model) == {"resize": 0, "prelu": 0, "add": 0}
    assert [n.op_type for n in model.graph.node] == ["Relu"] and len(before) > 0


@pytest.mark.parametrize("name", ["sr-x2", "sr-x3", "sr-x4"])
def test_shipped_sr_models_are_already_rewritten(name):
    from imgen.engine import shipped_path

    model = onnx.load(shipped_path(name))
    assert fast_graphs.optimise(model) == {"resize": 0, "prelu": 0, "add": 0}
    assert {e.key for e in model.metadata_props} >= {"imgen.task", "imgen.scale", "imgen.name"}
