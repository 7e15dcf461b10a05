"""Instance-norm layers that report their statistics and can take given ones (``imgen.norm_stats``).

Each ``InstanceNormalization`` node (x -> y) of an ONNX graph becomes two ``If`` nodes on bool
scalar switches, graph inputs with initializers (false) that onnxruntime uses unless fed:

    y = If(imgen_use_given_stats,  then: BatchNormalization(x, scale, bias, given mean, given var),
                                   else: InstanceNormalization(x, scale, bias))      (as before)
    imgen_stat_mean_K, imgen_stat_var_K = If(imgen_report_stats,
            then: m = ReduceMean(x, [2, 3]), v = ReduceMean((x - m)^2, [2, 3])        (N, C, 1, 1)
            else: zeros, ones (1, C, 1, 1): nothing computed)

``imgen_given_mean_K``/``imgen_given_var_K`` (1, C, 1, 1) are graph inputs with initializers
(zeros, ones); K = 0, 1, ... in node order.  Without feeds the file computes what the plain one
does, at the plain one's speed (the native instance norm; benchmarks/studies/instance_norm_tiling.py).
The engine runs a statistics pass (report true) over a (downscaled) whole image and feeds its
statistics to the tiles of a large image (docs/model-format.md, docs/models.md).
"""
from __future__ import annotations

import numpy as np

STAT_MEAN, STAT_VAR = "imgen_stat_mean_", "imgen_stat_var_"
GIVEN_MEAN, GIVEN_VAR = "imgen_given_mean_", "imgen_given_var_"
SWITCH = "imgen_use_given_stats"
REPORT = "imgen_report_stats"
#: The imgen.norm_stats value of a rewritten file.
KIND = "instance"


def expose_instance_norm_stats(proto) -> int:
    """Rewrite every InstanceNormalization node of ``proto`` (an onnx ModelProto, changed in place)
    as described in the module docstring; returns how many were rewritten (0: unchanged).
    Raises ValueError for a node whose scale or bias is not a 1-D initializer, or for a graph that
    already has imgen statistics inputs."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    graph = proto.graph
    nodes = [n for n in graph.node if n.op_type == "InstanceNormalization" and n.domain in ("", "ai.onnx")]
    if not nodes:
        return 0
    taken = {i.name for i in graph.input} | {o.name for o in graph.output}
    if any(name.startswith(("imgen_stat_", "imgen_given_")) or name in (SWITCH, REPORT) for name in taken):
        raise ValueError("the graph already has imgen statistics inputs or outputs; rewrite the plain file")
    if proto.ir_version < 4:
        proto.ir_version = 4  # graph inputs with initializers are overridable from IR 4 on
    inits = {t.name: t for t in graph.initializer}
    f32 = TensorProto.FLOAT
    opset = next((o.version for o in proto.opset_import if o.domain in ("", "ai.onnx")), 0)
    new_inits = [numpy_helper.from_array(np.array(False), SWITCH), numpy_helper.from_array(np.array(False), REPORT),
                 numpy_helper.from_array(np.array([-1], np.int64), "imgen_stat_flat")]
    if opset >= 18:  # ReduceMean's axes: an input from opset 18 on, an attribute before
        new_inits.append(numpy_helper.from_array(np.array([2, 3], np.int64), "imgen_stat_axes"))

    def reduce_mean(x: str, y: str):
        if opset >= 18:
            return helper.make_node("ReduceMean", [x, "imgen_stat_axes"], [y], keepdims=1)
        return helper.make_node("ReduceMean", [x], [y], axes=[2, 3], keepdims=1)

    def branch(name: str, body: list, outputs: list[str]):
        return helper.make_graph(body, name, [], [helper.make_tensor_value_info(o, f32, None) for o in outputs])

    new_inputs = [helper.make_tensor_value_info(n, TensorProto.BOOL, []) for n in (SWITCH, REPORT)]
    new_outputs = []
    replaced: dict[int, list] = {}
    for k, node in enumerate(nodes):
        x, scale_name, bias_name = node.input
        y = node.output[0]
        shapes = []
        for role, name in (("scale", scale_name), ("bias", bias_name)):
            if name not in inits:
                raise ValueError(f"InstanceNormalization {node.name or y!r}: its {role} {name!r} is not an "
                                 "initializer; imgen can only rewrite constant scale and bias")
            shapes.append(tuple(inits[name].dims))
        if len(shapes[0]) != 1 or shapes[1] != shapes[0]:
            raise ValueError(f"InstanceNormalization {node.name or y!r}: scale {shapes[0]} and bias {shapes[1]}; "
                             "expected two (C,) vectors")
        c = shapes[0][0]
        eps = next((a.f for a in node.attribute if a.name == "epsilon"), 1e-5)
        p = f"imgen_in{k}_"
        mean, var = f"{STAT_MEAN}{k}", f"{STAT_VAR}{k}"
        gmean, gvar = f"{GIVEN_MEAN}{k}", f"{GIVEN_VAR}{k}"
        new_inits += [numpy_helper.from_array(np.zeros((1, c, 1, 1), np.float32), gmean),
                      numpy_helper.from_array(np.ones((1, c, 1, 1), np.float32), gvar),
                      numpy_helper.from_array(np.zeros((1, c, 1, 1), np.float32), p + "zeros"),
                      numpy_helper.from_array(np.ones((1, c, 1, 1), np.float32), p + "ones")]
        new_inputs += [helper.make_tensor_value_info(n, f32, [1, c, 1, 1]) for n in (gmean, gvar)]
        new_outputs += [helper.make_tensor_value_info(n, f32, ["batch", c, 1, 1]) for n in (mean, var)]
        given = branch(p + "given", [
            helper.make_node("Reshape", [gmean, "imgen_stat_flat"], [p + "gm"]),
            helper.make_node("Reshape", [gvar, "imgen_stat_flat"], [p + "gv"]),
            helper.make_node("BatchNormalization", [x, scale_name, bias_name, p + "gm", p + "gv"], [p + "y_given"],
                             epsilon=eps)], [p + "y_given"])
        own = branch(p + "own", [helper.make_node("InstanceNormalization", [x, scale_name, bias_name],
                                                  [p + "y_own"], epsilon=eps)], [p + "y_own"])
        report = branch(p + "report", [
            reduce_mean(x, p + "m"),
            helper.make_node("Sub", [x, p + "m"], [p + "centred"]),
            helper.make_node("Mul", [p + "centred", p + "centred"], [p + "squared"]),
            reduce_mean(p + "squared", p + "v")], [p + "m", p + "v"])
        silent = branch(p + "silent", [helper.make_node("Identity", [p + "zeros"], [p + "m0"]),
                                       helper.make_node("Identity", [p + "ones"], [p + "v0"])], [p + "m0", p + "v0"])
        replaced[id(node)] = [
            helper.make_node("If", [SWITCH], [y], name=p + "norm", then_branch=given, else_branch=own),
            helper.make_node("If", [REPORT], [mean, var], name=p + "stats", then_branch=report, else_branch=silent),
        ]
    rebuilt = []
    for node in graph.node:
        rebuilt += replaced.get(id(node), [node])
    del graph.node[:]
    graph.node.extend(rebuilt)
    graph.initializer.extend(new_inits)
    graph.input.extend(new_inputs)
    graph.output.extend(new_outputs)
    onnx.checker.check_model(proto)
    return len(nodes)


def check_given_stats(path, feeds: dict, *, atol: float) -> float:
    """Feed the file's own statistics back as given ones: the output must not change.  Returns the
    largest difference; raises ValueError above ``atol`` (the rewrite's own parity gate)."""
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.log_severity_level = 3  # not the warning that the given statistics are overridable
    sess = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
    names = [o.name for o in sess.get_outputs()]
    stats = [n for n in names if n.startswith(STAT_MEAN) or n.startswith(STAT_VAR)]
    first = [n for n in names if n not in stats][0]
    feeds = {k: v[:1] for k, v in feeds.items()}  # given statistics are (1, C, 1, 1): one image
    got = sess.run([first] + stats, {**feeds, REPORT: np.array(True)})
    given = {("imgen_given_" + n[len("imgen_stat_"):]): v for n, v in zip(stats, got[1:])}
    again = sess.run([first], {**feeds, **given, SWITCH: np.array(True)})[0]
    err = float(np.max(np.abs(again.astype(np.float64) - got[0])))
    if not err <= atol:
        raise ValueError(f"{path}: fed its own instance-norm statistics, the output changes by {err:.3g} "
                         f"(tolerance {atol:g})")
    return err
