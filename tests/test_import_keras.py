"""imgen_train.import_keras: a Keras 2 HDF5 model that is a plain Conv/BN/ReLU stack (cszn's Keras DnCNN,
ending in Subtract([input, x])) is rebuilt and exported; anything else is named with the tf2onnx route.
The files are written here with h5py in Keras 2's layout (no TensorFlow needed)."""
from __future__ import annotations

import json

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="imgen_train needs torch (pip install torch, then imgen[train])")
h5py = pytest.importorskip("h5py", reason="imgen[import] installs h5py")

from imgen_train.import_keras import KerasError, load_keras  # noqa: E402


def keras_dncnn(path, *, depth=4, width=6, channels=1, extra_layer=None, weights_only=False, seed=0):
    """cszn/DnCNN's dncnn_keras model as model.save writes it: input0, conv1 (bias) relu2, [convK (no bias),
    bnK (eps 1e-4), reluK] * (depth - 2), conv (no bias), subtract([input0, x]).  Returns the numpy
    reference forward."""
    rng = np.random.default_rng(seed)
    layers, weights, prev = [], {}, "input0"
    layers.append({"class_name": "InputLayer", "name": "input0",
                   "config": {"name": "input0", "batch_input_shape": [None, None, None, channels]}, "inbound_nodes": []})

    def add(kind, name, config, w=None):
        nonlocal prev
        layers.append({"class_name": kind, "name": name, "config": {"name": name, **config},
                       "inbound_nodes": [[[prev, 0, 0, {}]]]})
        if w:
            weights[name] = w
        prev = name

    def conv(name, cin, cout, bias):
        w = {"kernel": rng.normal(0, 0.2, (3, 3, cin, cout)).astype(np.float32)}
        if bias:
            w["bias"] = rng.normal(0, 0.05, cout).astype(np.float32)
        add("Conv2D", name, {"filters": cout, "kernel_size": [3, 3], "strides": [1, 1], "padding": "same",
                             "data_format": "channels_last", "dilation_rate": [1, 1], "activation": "linear",
                             "use_bias": bias}, w)

    k = 1
    conv(f"conv{k}", channels, width, True)
    k += 1
    add("Activation", f"relu{k}", {"activation": "relu"})
    for _ in range(depth - 2):
        k += 1
        conv(f"conv{k}", width, width, False)
        k += 1
        add("BatchNormalization", f"bn{k}", {"axis": 3, "momentum": 0.0, "epsilon": 0.0001},
            {"gamma": rng.uniform(0.5, 1.5, width).astype(np.float32), "beta": rng.normal(0, 0.1, width).astype(np.float32),
             "moving_mean": rng.normal(0, 0.1, width).astype(np.float32),
             "moving_variance": rng.uniform(0.2, 1.0, width).astype(np.float32)})
        k += 1
        add("Activation", f"relu{k}", {"activation": "relu"})
    if extra_layer:
        add(extra_layer, "odd", {})
    k += 1
    conv(f"conv{k}", width, channels, False)
    k += 1
    layers.append({"class_name": "Subtract", "name": f"subtract{k}", "config": {"name": f"subtract{k}"},
                   "inbound_nodes": [[["input0", 0, 0, {}], [prev, 0, 0, {}]]]})
    config = {"class_name": "Model", "config": {"name": "dncnn", "layers": layers}}
    with h5py.File(path, "w") as f:
        group = f
        if not weights_only:
            f.attrs["model_config"] = json.dumps(config).encode()
            group = f.create_group("model_weights")
        for name, w in weights.items():
            g = group.create_group(name)
            names = []
            for key, value in w.items():
                g.create_dataset(f"{name}/{key}:0", data=value)
                names.append(f"{name}/{key}:0".encode())
            g.attrs["weight_names"] = names

    def forward(x):  # NHWC numpy reference
        h = x.astype(np.float64)
        for layer in layers[1:-1]:
            name, kind = layer["name"], layer["class_name"]
            if kind == "Conv2D":
                w = weights[name]
                pad = np.pad(h, ((0, 0), (1, 1), (1, 1), (0, 0)))
                out = np.zeros(h.shape[:3] + (w["kernel"].shape[3],))
                for dy in range(3):
                    for dx in range(3):
                        out += pad[:, dy:dy + h.shape[1], dx:dx + h.shape[2]] @ w["kernel"][dy, dx]
                h = out + w.get("bias", 0)
            elif kind == "BatchNormalization":
                w = weights[name]
                h = (h - w["moving_mean"]) / np.sqrt(w["moving_variance"] + 1e-4) * w["gamma"] + w["beta"]
            else:
                h = np.maximum(h, 0)
        return x - h

    return forward


@pytest.mark.parametrize("channels", [1, 3])
def test_keras_dncnn_is_rebuilt(tmp_path, channels):
    forward = keras_dncnn(tmp_path / "m.hdf5", channels=channels)
    found = load_keras(tmp_path / "m.hdf5")
    x = np.random.default_rng(1).random((1, 11, 13, channels)).astype(np.float32)
    with torch.no_grad():
        got = found.module(torch.from_numpy(x.transpose(0, 3, 1, 2).copy())).numpy().transpose(0, 2, 3, 1)
    np.testing.assert_allclose(got, forward(x), atol=1e-5)
    assert found.metadata["imgen.task"] == "denoise" and found.metadata["imgen.channels"] == str(channels)
    assert "eps 0.0001" in found.metadata["imgen.description"]


@pytest.mark.parametrize("make, message", [
    (lambda p: keras_dncnn(p, extra_layer="Dropout"), r"Keras layer odd \(Dropout\).*tf2onnx.convert --keras"),
    (lambda p: keras_dncnn(p, weights_only=True), r"weights-only file.*tf2onnx"),
])
def test_other_keras_files_are_named(tmp_path, make, message):
    make(tmp_path / "m.h5")
    with pytest.raises(KerasError, match=message):
        load_keras(tmp_path / "m.h5")


@pytest.mark.slow
def test_cli_imports_a_keras_dncnn(tmp_path):
    import imgen
    from imgen.cli import main as cli_main

    forward = keras_dncnn(tmp_path / "model_050.hdf5")
    assert cli_main(["import", str(tmp_path / "model_050.hdf5"), "-o", str(tmp_path / "k.onnx")]) == 0
    model = imgen.load(str(tmp_path / "k.onnx"), providers=["cpu"])
    x = np.random.default_rng(2).random((21, 17)).astype(np.float32)
    np.testing.assert_allclose(model(x), forward(x[None, :, :, None])[0, :, :, 0], atol=1e-4)
