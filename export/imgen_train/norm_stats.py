"""Instance-norm layers that report their statistics and can take given ones (``imgen.norm_stats``).

Each ``InstanceNormalization`` node of an ONNX graph is rewritten into its arithmetic:

    m = ReduceMean(x, [2, 3]); v = ReduceMean((x - m)^2, [2, 3])     own statistics, (N, C, 1, 1)
    mu = Where(imgen_use_given_stats, imgen_given_mean_K, m)          (and var alike)
    y = x * a + (bias - mu * a),  a = scale / sqrt(var + epsilon)

``m``/``v`` become the graph outputs ``imgen_stat_mean_K``/``imgen_stat_var_K`` (K = 0, 1, ... in node
order); ``imgen_given_mean_K``/``imgen_given_var_K`` (1, C, 1, 1) and the bool scalar
``imgen_use_given_stats`` are graph inputs with initializers (zeros, ones, false): onnxruntime
uses those unless they are fed, so without feeds the file computes what the plain one does.
The engine feeds statistics from a (downscaled) whole-image pass to tiles of a large image
(docs/model-format.md, docs/models.md "Instance norm and tiles").
"""
from __future__ import annotations

import numpy as np

STAT_MEAN, STAT_VAR = "imgen_stat_mean_", "imgen_stat_var_"
GIVEN_MEAN, GIVEN_VAR = "imgen_given_mean_", "imgen_given_var_"
SWITCH = "imgen_use_given_stats"
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
    if any(name.startswith(("imgen_stat_", "imgen_given_")) or name == SWITCH for name in taken):
        raise ValueError("the graph already has imgen statistics inputs or outputs; rewrite the plain file")
    if proto.ir_version < 4:
        proto.ir_version = 4  # graph inputs with initializers are overridable from IR 4 on
    inits = {t.name: t for t in graph.initializer}
    dtype = TensorProto.FLOAT
    opset = next((o.version for o in proto.opset_import if o.domain in ("", "ai.onnx")), 0)
    new_inits = [numpy_helper.from_array(np.array(False), SWITCH)]
    if opset >= 18:  # ReduceMean's axes: an input from opset 18 on, an attribute before
        new_inits.append(numpy_helper.from_array(np.array([2, 3], np.int64), "imgen_stat_axes"))

    def reduce_mean(x: str, y: str):
        if opset >= 18:
            return helper.make_node("ReduceMean", [x, "imgen_stat_axes"], [y], keepdims=1)
        return helper.make_node("ReduceMean", [x], [y], axes=[2, 3], keepdims=1)

    new_inputs = [helper.make_tensor_value_info(SWITCH, TensorProto.BOOL, [])]
    new_outputs = []
    replaced: dict[int, list] = {}
    for k, node in enumerate(nodes):
        x, scale_name, bias_name = node.input
        y = node.output[0]
        arrays = []
        for role, name in (("scale", scale_name), ("bias", bias_name)):
            if name not in inits:
                raise ValueError(f"InstanceNormalization {node.name or y!r}: its {role} {name!r} is not an "
                                 "initializer; imgen can only rewrite constant scale and bias")
            arr = numpy_helper.to_array(inits[name])
            if arr.ndim != 1:
                raise ValueError(f"InstanceNormalization {node.name or y!r}: {role} has shape {arr.shape}; expected (C,)")
            arrays.append(arr.astype(np.float32))
        scale, bias = arrays
        c = scale.shape[0]
        if bias.shape != (c,):
            raise ValueError(f"InstanceNormalization {node.name or y!r}: scale has {c} channels, bias {bias.shape}")
        eps = next((a.f for a in node.attribute if a.name == "epsilon"), 1e-5)
        p = f"imgen_in{k}_"
        mean, var = f"{STAT_MEAN}{k}", f"{STAT_VAR}{k}"
        gmean, gvar = f"{GIVEN_MEAN}{k}", f"{GIVEN_VAR}{k}"
        new_inits += [numpy_helper.from_array(np.zeros((1, c, 1, 1), np.float32), gmean),
                      numpy_helper.from_array(np.ones((1, c, 1, 1), np.float32), gvar),
                      numpy_helper.from_array(scale.reshape(1, c, 1, 1), p + "scale"),
                      numpy_helper.from_array(bias.reshape(1, c, 1, 1), p + "bias"),
                      numpy_helper.from_array(np.array(eps, np.float32), p + "eps")]
        new_inputs += [helper.make_tensor_value_info(n, dtype, [1, c, 1, 1]) for n in (gmean, gvar)]
        new_outputs += [helper.make_tensor_value_info(n, dtype, ["batch", c, 1, 1]) for n in (mean, var)]
        replaced[id(node)] = [
            reduce_mean(x, mean),
            helper.make_node("Sub", [x, mean], [p + "centred"]),
            helper.make_node("Mul", [p + "centred", p + "centred"], [p + "squared"]),
            reduce_mean(p + "squared", var),
            helper.make_node("Where", [SWITCH, gmean, mean], [p + "mu"]),
            helper.make_node("Where", [SWITCH, gvar, var], [p + "var"]),
            helper.make_node("Add", [p + "var", p + "eps"], [p + "var_eps"]),
            helper.make_node("Sqrt", [p + "var_eps"], [p + "std"]),
            helper.make_node("Div", [p + "scale", p + "std"], [p + "a"]),
            helper.make_node("Mul", [p + "mu", p + "a"], [p + "mu_a"]),
            helper.make_node("Sub", [p + "bias", p + "mu_a"], [p + "b"]),
            helper.make_node("Mul", [x, p + "a"], [p + "xa"]),
            helper.make_node("Add", [p + "xa", p + "b"], [y]),
        ]
    rebuilt = []
    for node in graph.node:
        rebuilt += replaced.get(id(node), [node])
    del graph.node[:]
    graph.node.extend(rebuilt)
    graph.initializer.extend(new_inits)
    graph.input.extend(new_inputs)
    graph.output.extend(new_outputs)
    used = {name for n in graph.node for name in n.input} | {i.name for i in graph.input}
    unused = [t for t in graph.initializer if t.name not in used]
    for t in unused:
        graph.initializer.remove(t)
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
    got = sess.run([first] + stats, feeds)
    given = {("imgen_given_" + n[len("imgen_stat_"):]): v for n, v in zip(stats, got[1:])}
    again = sess.run([first], {**feeds, **given, SWITCH: np.array(True)})[0]
    err = float(np.max(np.abs(again.astype(np.float64) - got[0])))
    if not err <= atol:
        raise ValueError(f"{path}: fed its own instance-norm statistics, the output changes by {err:.3g} "
                         f"(tolerance {atol:g})")
    return err
