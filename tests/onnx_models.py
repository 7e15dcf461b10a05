"""Tiny ONNX models built with onnx.helper for the tests (no files shipped)."""
from __future__ import annotations

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

OPSET = 17


def _save(graph, path, metadata: dict[str, str] | None) -> str:
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)])
    model.ir_version = 9
    for k, v in (metadata or {}).items():
        entry = model.metadata_props.add()
        entry.key, entry.value = k, str(v)
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
    return str(path)


def _image(name, channels, elem=TensorProto.FLOAT, h="H", w="W", n="N"):
    return helper.make_tensor_value_info(name, elem, [n, channels, h, w])


def identity(path, channels=3, metadata=None, elem=TensorProto.FLOAT, h="H", w="W", n="N"):
    """y = x (NCHW)."""
    node = helper.make_node("Identity", ["x"], ["y"])
    graph = helper.make_graph([node], "identity", [_image("x", channels, elem, h, w, n)],
                              [_image("y", channels, elem, h, w, n)])
    return _save(graph, path, metadata)


def conv3x3(path, channels=1, metadata=None, seed=0):
    """A 3x3 convolution with zero padding and random weights; returns the weights too."""
    rng = np.random.default_rng(seed)
    weight = rng.normal(0, 0.3, (channels, channels, 3, 3)).astype(np.float32)
    bias = rng.normal(0, 0.1, (channels,)).astype(np.float32)
    node = helper.make_node("Conv", ["x", "w", "b"], ["y"], pads=[1, 1, 1, 1])
    graph = helper.make_graph([node], "conv3x3", [_image("x", channels)], [_image("y", channels)],
                              initializer=[numpy_helper.from_array(weight, "w"),
                                           numpy_helper.from_array(bias, "b")])
    return _save(graph, path, metadata), weight, bias


def upsample(path, channels=3, scale=2, metadata=None):
    """Nearest-neighbour upsampling by an integer factor."""
    scales = numpy_helper.from_array(np.array([1, 1, scale, scale], np.float32), "scales")
    node = helper.make_node("Resize", ["x", "", "scales"], ["y"], mode="nearest",
                            coordinate_transformation_mode="asymmetric", nearest_mode="floor")
    graph = helper.make_graph([node], "upsample", [_image("x", channels)],
                              [_image("y", channels, h="H2", w="W2")], initializer=[scales])
    return _save(graph, path, metadata)


def minus_noise(path, channels=1, kind="map", metadata=None):
    """y = x - sigma, with sigma a (N, 1, H, W) map or an (N, 1, 1, 1) scalar input."""
    sig_shape = ["N", 1, "H", "W"] if kind == "map" else ["N", 1, 1, 1]
    node = helper.make_node("Sub", ["x", "sigma"], ["y"])
    graph = helper.make_graph(
        [node], "minus_noise",
        [_image("x", channels), helper.make_tensor_value_info("sigma", TensorProto.FLOAT, sig_shape)],
        [_image("y", channels)])
    meta = {"imgen.schema": "1", "imgen.task": "denoise", "imgen.channels": str(channels),
            "imgen.noise_input": "sigma", "imgen.noise_kind": kind}
    meta.update(metadata or {})
    return _save(graph, path, meta)


def meta(**fields) -> dict[str, str]:
    """imgen metadata entries: meta(task="restore", channels=3) -> {"imgen.task": "restore", ...}."""
    out = {"imgen.schema": "1"}
    out.update({f"imgen.{k}": str(v) for k, v in fields.items()})
    return out


def _dense(z: str, out: str, n_in: int, n_out: int, rng, suffix: str):
    """out = z @ W + b with random weights (nodes, initializers)."""
    w = numpy_helper.from_array(rng.normal(0, 0.5, (n_in, n_out)).astype(np.float32), f"w{suffix}")
    b = numpy_helper.from_array(rng.normal(0, 0.1, (n_out,)).astype(np.float32), f"b{suffix}")
    return [helper.make_node("Gemm", [z, f"w{suffix}", f"b{suffix}"], [out])], [w, b]


def generator(path, latent=8, channels=1, size=6, squash="Tanh", task="generate", seed=0, metadata=None):
    """latent (N, L) -> Gemm -> reshape (N, C, size, size) -> Tanh (range -1,1) or Sigmoid (0,1)."""
    rng = np.random.default_rng(seed)
    nodes, inits = _dense("z", "flat", latent, channels * size * size, rng, "g")
    shape = numpy_helper.from_array(np.array([-1, channels, size, size], np.int64), "shape")
    nodes += [helper.make_node("Reshape", ["flat", "shape"], ["pre"]), helper.make_node(squash, ["pre"], ["y"])]
    graph = helper.make_graph(nodes, "generator", [helper.make_tensor_value_info("z", TensorProto.FLOAT, ["N", latent])],
                              [_image("y", channels, h=size, w=size)], initializer=inits + [shape])
    value_range = "-1,1" if squash == "Tanh" else "0,1"
    md = meta(task=task, channels=channels, range=value_range, latent_shape=latent)
    md.update(metadata or {})
    return _save(graph, path, md)


def encoder(path, latent=8, channels=1, size=6, seed=1, metadata=None):
    """image (N, C, size, size) in [0, 1] -> flatten -> two Gemms: mean, logvar (N, L)."""
    rng = np.random.default_rng(seed)
    n_in = channels * size * size
    shape = numpy_helper.from_array(np.array([-1, n_in], np.int64), "shape")
    nodes = [helper.make_node("Reshape", ["x", "shape"], ["flat"])]
    inits = [shape]
    for name in ("mean", "logvar"):
        more_nodes, more_inits = _dense("flat", name, n_in, latent, rng, name)
        nodes += more_nodes
        inits += more_inits
    outs = [helper.make_tensor_value_info(n, TensorProto.FLOAT, ["N", latent]) for n in ("mean", "logvar")]
    graph = helper.make_graph(nodes, "encoder", [_image("x", channels, h=size, w=size)], outs, initializer=inits)
    md = meta(task="encode", channels=channels, range="0,1", latent_shape=latent)
    md.update(metadata or {})
    return _save(graph, path, md)


def add_mask(path, channels=3, metadata=None):
    """An inpaint stand-in: y = x + 0.25 * mask (x NCHW, mask N1HW, broadcast over channels)."""
    quarter = numpy_helper.from_array(np.array(0.25, np.float32), "quarter")
    nodes = [helper.make_node("Mul", ["mask", "quarter"], ["q"]), helper.make_node("Add", ["x", "q"], ["y"])]
    graph = helper.make_graph(nodes, "add_mask", [_image("x", channels), _image("mask", 1)],
                              [_image("y", channels)], initializer=[quarter])
    return _save(graph, path, metadata)


def instance_norm_net(path, channels=3, width=8, metadata=None, seed=0):
    """Reflect-pad + 3x3 conv to ``width`` channels, InstanceNormalization (random scale and bias),
    ReLU, reflect-pad + 3x3 conv back: one output pixel sees 2 input pixels each way, and the whole
    image through the instance norm's statistics."""
    rng = np.random.default_rng(seed)
    inits = [numpy_helper.from_array(rng.normal(0, 0.3, (width, channels, 3, 3)).astype(np.float32), "w1"),
             numpy_helper.from_array(rng.normal(0, 0.1, (width,)).astype(np.float32), "b1"),
             numpy_helper.from_array(rng.uniform(0.5, 1.5, (width,)).astype(np.float32), "s"),
             numpy_helper.from_array(rng.normal(0, 0.2, (width,)).astype(np.float32), "t"),
             numpy_helper.from_array(rng.normal(0, 0.3, (channels, width, 3, 3)).astype(np.float32), "w2"),
             numpy_helper.from_array(np.array([0, 0, 1, 1, 0, 0, 1, 1], np.int64), "pads")]
    nodes = [helper.make_node("Pad", ["x", "pads"], ["p1"], mode="reflect"),
             helper.make_node("Conv", ["p1", "w1", "b1"], ["c1"]),
             helper.make_node("InstanceNormalization", ["c1", "s", "t"], ["n1"], epsilon=1e-5),
             helper.make_node("Relu", ["n1"], ["r1"]),
             helper.make_node("Pad", ["r1", "pads"], ["p2"], mode="reflect"),
             helper.make_node("Conv", ["p2", "w2"], ["c2"]),
             helper.make_node("Tanh", ["c2"], ["y"])]
    graph = helper.make_graph(nodes, "instance_norm_net", [_image("x", channels)], [_image("y", channels)],
                              initializer=inits)
    return _save(graph, path, metadata)


def affine(path, channels=1, gain=1.0, offset=0.0, metadata=None):
    """y = gain * x + offset (NCHW, the size kept): a graph whose output shows the tensor units it
    was fed (offset -10 with imgen.range 0,255 is ten gray levels darker)."""
    inits = [numpy_helper.from_array(np.array(gain, np.float32), "gain"),
             numpy_helper.from_array(np.array(offset, np.float32), "offset")]
    nodes = [helper.make_node("Mul", ["x", "gain"], ["g"]), helper.make_node("Add", ["g", "offset"], ["y"])]
    graph = helper.make_graph(nodes, "affine", [_image("x", channels)], [_image("y", channels)], initializer=inits)
    return _save(graph, path, metadata)
