"""Keras HDF5 models (``model.save('m.h5')``, Keras 2) that are a plain stack of Conv2D, BatchNormalization
and ReLU layers, optionally ending in ``Subtract([input, x])`` (the residual of cszn's Keras DnCNN) or
``Add([input, x])``: rebuilt in torch and exported like a family (families.Imported).

    imgen import model_050.hdf5 -o dncnn-keras.onnx

The architecture comes from the file's ``model_config`` (JSON); the weights from ``model_weights``
(kernels HWIO -> OIHW).  Convs must be stride 1, 'same' padding, odd square kernels, channels_last;
BatchNormalization keeps the file's epsilon.  Anything else -- another layer type, a weights-only file,
a Keras 3 ``.keras`` zip -- raises KerasError naming it and how to convert the model with tf2onnx.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch
from torch import nn

from .families import Imported, metadata
from .file_kind import KERAS_HINT


class KerasError(ValueError):
    """A Keras file imgen cannot rebuild; the message names the layer and the way to convert it."""


class Residual(nn.Module):
    """``x - body(x)`` (sign -1, Keras Subtract([input, x])) or ``x + body(x)`` (Add)."""

    def __init__(self, body: nn.Module, sign: float):
        super().__init__()
        self.body, self.sign = body, sign

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.sign * self.body(x)


def _text(value) -> str:
    return value.decode("utf-8") if isinstance(value, bytes) else str(value)


def _layer_weights(group, name: str) -> dict[str, np.ndarray]:
    g = group[name]
    names = [_text(n) for n in g.attrs.get("weight_names", [])]
    return {n.split("/")[-1].split(":")[0]: np.asarray(g[n]) for n in names}


def _inbound(layer: dict) -> list[str]:
    nodes = layer.get("inbound_nodes") or []
    if nodes and isinstance(nodes[0], list):  # Keras 2: [[["name", 0, 0, {}], ...]]
        return [n[0] for n in nodes[0]]
    return []


def _activation(name: str, where: str) -> list[nn.Module]:
    if name in ("linear", None):
        return []
    if name == "relu":
        return [nn.ReLU()]
    raise KerasError(f"{where}: activation {name!r}; imgen rebuilds relu/linear only. {KERAS_HINT}")


def load_keras(path: str | Path) -> Imported:
    """The Keras model at ``path`` as an imgen family import; KerasError naming what does not fit."""
    try:
        import h5py
    except ImportError:
        raise KerasError(f"{path}: reading Keras HDF5 files needs h5py (pip install 'imgen[import]'). "
                         f"{KERAS_HINT}") from None
    path = Path(path)
    try:
        f = h5py.File(path, "r")
    except OSError as e:
        raise KerasError(f"{path} starts like an HDF5 file (a Keras .h5 model?) but h5py cannot open it ({e}). "
                         f"{KERAS_HINT}") from None
    with f:
        if "model_config" not in f.attrs:
            raise KerasError(f"{path} is a Keras weights-only file (save_weights): it holds no architecture. "
                             f"{KERAS_HINT}")
        config = json.loads(_text(f.attrs["model_config"]))
        group = f["model_weights"] if "model_weights" in f else f
        cfg = config.get("config", {})
        layers = cfg.get("layers", cfg) if isinstance(cfg, dict) else cfg
        body: list[nn.Module] = []
        sign, prev, first = 0.0, None, None
        for k, layer in enumerate(layers):
            kind, lc = layer["class_name"], layer.get("config", {})
            name = lc.get("name", layer.get("name", f"layer {k}"))
            where = f"{path.name}: Keras layer {name} ({kind})"
            inbound = _inbound(layer)
            if kind == "InputLayer":
                prev, first = name, name  # the channels are read from the first conv's kernel
                continue
            if sign:
                raise KerasError(f"{where} follows the residual; imgen rebuilds stacks that end in it. {KERAS_HINT}")
            if kind in ("Subtract", "Add"):
                if inbound and (inbound[0] != first or inbound[1] != prev):
                    raise KerasError(f"{where} combines {inbound}; imgen rebuilds [input, stack] only. {KERAS_HINT}")
                sign = -1.0 if kind == "Subtract" else 1.0
                continue
            if inbound and prev is not None and inbound != [prev]:
                raise KerasError(f"{where} takes {inbound}, not the layer before it ({prev}): not a plain stack. "
                                 f"{KERAS_HINT}")
            prev = name
            if kind == "Conv2D":
                w = _layer_weights(group, name)
                kernel = w["kernel"]
                kh, kw = kernel.shape[:2]
                if (lc.get("padding") != "same" or tuple(lc.get("strides", (1, 1))) != (1, 1) or kh != kw or kh % 2 == 0
                        or tuple(lc.get("dilation_rate", (1, 1))) != (1, 1)
                        or lc.get("data_format", "channels_last") != "channels_last"):
                    raise KerasError(f"{where}: only stride-1, 'same'-padded, odd square, channels_last convs are "
                                     f"rebuilt. {KERAS_HINT}")
                conv = nn.Conv2d(kernel.shape[2], kernel.shape[3], kh, padding=kh // 2, bias="bias" in w)
                conv.weight.data = torch.from_numpy(np.ascontiguousarray(kernel.transpose(3, 2, 0, 1))).float()
                if "bias" in w and conv.bias is not None:
                    conv.bias.data = torch.from_numpy(w["bias"]).float()
                body += [conv, *_activation(lc.get("activation"), where)]
            elif kind == "BatchNormalization":
                w = _layer_weights(group, name)
                bn = nn.BatchNorm2d(w["moving_mean"].shape[0], eps=float(lc.get("epsilon", 1e-3)))
                bn.register_buffer("running_mean", torch.from_numpy(w["moving_mean"]).float())
                bn.register_buffer("running_var", torch.from_numpy(w["moving_variance"]).float())
                if "gamma" in w:
                    bn.weight.data = torch.from_numpy(w["gamma"]).float()
                if "beta" in w:
                    bn.bias.data = torch.from_numpy(w["beta"]).float()
                body.append(bn)
            elif kind == "Activation":
                body += _activation(lc.get("activation"), where)
            elif kind == "ReLU" and not lc.get("max_value") and not lc.get("negative_slope"):
                body.append(nn.ReLU())
            else:
                raise KerasError(f"{where}: imgen rebuilds Conv2D/BatchNormalization/ReLU stacks only. {KERAS_HINT}")
    convs = [m for m in body if isinstance(m, nn.Conv2d)]
    if not convs:
        raise KerasError(f"{path.name}: no Conv2D layers. {KERAS_HINT}")
    cin, cout = convs[0].in_channels, convs[-1].out_channels
    if sign and cin != cout:
        raise KerasError(f"{path.name}: the residual joins {cin} input channels with {cout} output channels")
    net = nn.Sequential(*body)
    module = (Residual(net, sign) if sign else net).eval()
    eps = sorted({m.eps for m in body if isinstance(m, nn.BatchNorm2d)})
    denoise = sign < 0 and cin in (1, 3)
    desc = (f"Keras {'DnCNN-style ' if denoise else ''}stack of {len(convs)} convs ({cin} -> {cout} channels"
            f"{', BatchNorm eps ' + ', '.join(f'{e:g}' for e in eps) if eps else ''}"
            f"{', output x - net(x)' if sign < 0 else ', output x + net(x)' if sign > 0 else ''})")
    rf = sum(c.kernel_size[0] // 2 for c in convs)
    meta = metadata(task="denoise" if denoise else "restore", channels=cin, receptive_field=rf, arch="keras-stack")
    return Imported("Keras", module, {**meta, "imgen.description": desc},
                    [f"Keras model_config: {len(body)} layers{', residual' if sign else ''}"], probe=False)
