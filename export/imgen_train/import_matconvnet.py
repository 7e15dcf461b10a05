"""The original MatConvNet releases of DnCNN and FFDNet (MATLAB v7.3 = HDF5 ``.mat``), read with h5py
and rebuilt as a torch network, then exported with imgen metadata.

    imgen import FFDNet_gray.mat -o ffdnet_gray.onnx

A ``.mat`` holds ``net.layers``, a simplenn list of layers run in order.  Supported layer types:
``conv`` (weights, bias, pad, stride, dilate), ``relu`` (leak), ``bnorm`` (gain, bias, moments:
mean and sigma per channel), ``SubP`` (FFDNet's sub-pixel layer: scale 0.5 folds each 2x2 block into
channels, 2 unfolds them) and ``concat`` (FFDNet: the noise-level map joins the folded image).
The family is recognised from the layer list (``describe``):

- FFDNet (gray/colour): SubP 0.5, concat, convs, SubP 2; inputs ``image`` and ``sigma`` (N, 1, 1, 1),
  sigma a fraction of the full range, as the papers' ``nSig/255``; direct output; size multiple 2.
- DnCNN (plain, blind DnCNN-B, colour CDnCNN-B, DnCNN-3): convs (with or without batch norm), C in
  and C out; the network predicts the noise, which is subtracted (residual output).

MATLAB stores arrays column-major, so h5py sees every array with its axes reversed: a filter bank
``(kh, kw, cin, cout)`` reads as ``(cout, cin, kw, kh)`` (trailing singleton dims dropped).
Research files: read them through a path, never copy them into a repository (no licence given).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch import nn

from imgen import ModelInfo

SUPPORTED = ("conv", "relu", "bnorm", "SubP", "concat")


class MatConvNetError(ValueError):
    """The file is not a MatConvNet simplenn network of a supported family; the message says why."""


@dataclass
class Layer:
    type: str
    name: str
    weights: list[np.ndarray] = field(default_factory=list)
    pad: tuple[int, int, int, int] = (0, 0, 0, 0)   # top, bottom, left, right
    stride: int = 1
    dilate: int = 1
    leak: float = 0.0
    scale: float = 1.0


def _h5py():
    try:
        import h5py
    except ImportError:
        raise MatConvNetError("reading MatConvNet .mat files needs h5py: pip install 'imgen[import]'") from None
    return h5py


def _text(ds) -> str:
    return "".join(map(chr, np.asarray(ds).ravel()))


def _number_list(ds, n: int) -> list[float]:
    values = [float(v) for v in np.asarray(ds).ravel()]
    return values * n if len(values) == 1 else values


def _weight(arr: np.ndarray, kind: str, index: int) -> np.ndarray:
    """MATLAB array (axes reversed by h5py) -> numpy in MATLAB's axis order."""
    a = np.asarray(arr, dtype=np.float32)
    if kind == "filters":
        a = a.reshape((1,) * (4 - a.ndim) + a.shape)   # (cout, cin, kw, kh), leading 1s restored
        return np.ascontiguousarray(a.transpose(0, 1, 3, 2))   # torch (cout, cin, kh, kw)
    return a.reshape(-1) if index == 1 else a


def read_layers(path: str | Path) -> list[Layer]:
    """The simplenn layer list of a MATLAB v7.3 .mat file (``net.layers``)."""
    h5py = _h5py()
    path = Path(path)
    try:
        f = h5py.File(path, "r")
    except OSError:
        raise MatConvNetError(f"{path}: not a MATLAB v7.3 (HDF5) file; older .mat files: open and re-save "
                              "them in MATLAB with save(..., '-v7.3')") from None
    with f:
        if "net" not in f or "layers" not in f["net"]:
            raise MatConvNetError(f"{path}: no net.layers; expected a MatConvNet simplenn network "
                                  f"(found {', '.join(k for k in f if not k.startswith('#')) or 'nothing'})")
        refs = np.asarray(f["net/layers"]).ravel()
        layers = []
        for k, ref in enumerate(refs):
            g = f[ref]
            if "type" not in g:
                raise MatConvNetError(f"{path}: layer {k + 1} has no type")
            layer = Layer(type=_text(g["type"]), name=_text(g["name"]) if "name" in g else f"layer{k + 1}")
            if layer.type not in SUPPORTED:
                raise MatConvNetError(f"{path}: layer {layer.name} has type {layer.type!r}; supported: "
                                      f"{', '.join(SUPPORTED)}")
            if "weights" in g and g["weights"].dtype == object:
                kinds = {"conv": ("filters", "bias"), "bnorm": ("gain", "bias", "moments")}.get(layer.type, ())
                layer.weights = [_weight(f[r][()], kinds[i] if i < len(kinds) else "", i)
                                 for i, r in enumerate(np.asarray(g["weights"]).ravel())]
            if "pad" in g:
                layer.pad = tuple(int(v) for v in _number_list(g["pad"], 4))  # type: ignore[assignment]
            if "stride" in g:
                layer.stride = int(_number_list(g["stride"], 1)[0])
            if "dilate" in g:
                layer.dilate = int(_number_list(g["dilate"], 1)[0])
            if "leak" in g:
                layer.leak = float(np.asarray(g["leak"]).ravel()[0])
            if "scale" in g:
                layer.scale = float(np.asarray(g["scale"]).ravel()[0])
            layers.append(layer)
    return layers


def fold(x: torch.Tensor) -> torch.Tensor:
    """FFDNet's SubP at scale 0.5: (N, C, H, W) -> (N, 4C, H/2, W/2); channel c*4 + i*2 + j holds pixel
    (2y+j, 2x+i) of channel c -- MATLAB's column-major block order (the order that reproduces the
    papers: any other loses 3-12 dB, docs/import.md)."""
    n, c, h, w = x.shape
    x = x.reshape(n, c, h // 2, 2, w // 2, 2)          # n, c, y, j, x, i
    return x.permute(0, 1, 5, 3, 2, 4).reshape(n, 4 * c, h // 2, w // 2)


def unfold(x: torch.Tensor) -> torch.Tensor:
    """The inverse of ``fold`` (SubP at scale 2)."""
    n, c4, h, w = x.shape
    c = c4 // 4
    x = x.reshape(n, c, 2, 2, h, w)                    # n, c, i, j, y, x
    return x.permute(0, 1, 4, 3, 5, 2).reshape(n, c, 2 * h, 2 * w)


class SimpleNN(nn.Module):
    """A simplenn layer list as a torch module.  forward(image, sigma=None): image (N, C, H, W) float
    in [0, 1]; sigma (N, 1, 1, 1), a fraction of the full range, for networks with a concat layer."""

    def __init__(self, layers: list[Layer], residual: bool):
        super().__init__()
        self.kinds: list[str] = []
        self.ops = nn.ModuleList()
        self.residual = residual
        for layer in layers:
            self.kinds.append(layer.type)
            self.ops.append(self._op(layer))

    @staticmethod
    def _op(layer: Layer) -> nn.Module:
        if layer.type == "conv":
            w, b = (layer.weights + [None])[:2]
            t, bo, lft, r = layer.pad
            if t != bo or lft != r:
                raise MatConvNetError(f"layer {layer.name}: asymmetric padding {layer.pad} is not supported")
            conv = nn.Conv2d(w.shape[1], w.shape[0], w.shape[2:], stride=layer.stride, padding=(t, lft),
                             dilation=layer.dilate, bias=b is not None)
            conv.weight.data = torch.from_numpy(w)
            if b is not None:
                conv.bias.data = torch.from_numpy(np.asarray(b, np.float32).reshape(-1))
            return conv
        if layer.type == "relu":
            return nn.LeakyReLU(layer.leak) if layer.leak else nn.ReLU()
        if layer.type == "bnorm":
            gain, bias, moments = (np.asarray(v, np.float32) for v in layer.weights[:3])
            moments = moments.reshape(2, -1) if moments.shape[0] == 2 else moments.reshape(-1, 2).T
            bn = nn.Conv2d(gain.size, gain.size, 1, groups=gain.size)   # gain * (x - mean) / sigma + bias
            scale = gain.reshape(-1) / moments[1]
            bn.weight.data = torch.from_numpy(scale.reshape(-1, 1, 1, 1).astype(np.float32))
            bn.bias.data = torch.from_numpy((bias.reshape(-1) - scale * moments[0]).astype(np.float32))
            return bn
        if layer.type == "SubP" and layer.scale not in (0.5, 2.0):
            raise MatConvNetError(f"layer {layer.name}: SubP scale {layer.scale:g}; supported: 0.5 and 2")
        return nn.Identity()

    def forward(self, image: torch.Tensor, sigma: torch.Tensor | None = None) -> torch.Tensor:
        x = image
        for kind, op in zip(self.kinds, self.ops):
            if kind == "SubP":
                x = fold(x) if x.shape[1] == image.shape[1] else unfold(x)
            elif kind == "concat":
                x = torch.cat([x, sigma.expand(-1, 1, x.shape[2], x.shape[3]).to(x.dtype)], dim=1)
            else:
                x = op(x)
        return image - x if self.residual else x


def describe(layers: list[Layer], path: str | Path = "the file") -> tuple[str, int, bool, bool]:
    """(family, image channels, noise input, residual) of a layer list; MatConvNetError otherwise."""
    types = [layer.type for layer in layers]
    convs = [layer for layer in layers if layer.type == "conv"]
    if not convs:
        raise MatConvNetError(f"{path}: no conv layers; expected DnCNN or FFDNet")
    cin, cout = convs[0].weights[0].shape[1], convs[-1].weights[0].shape[0]
    if types[:2] == ["SubP", "concat"] and types[-1] == "SubP":
        c = (cin - 1) // 4
        if cin != 4 * c + 1 or cout != 4 * c or c not in (1, 3):
            raise MatConvNetError(f"{path}: FFDNet layout but the first conv takes {cin} channels and the last "
                                  f"gives {cout}; expected 4C+1 and 4C for C = 1 or 3")
        return "FFDNet", c, True, False
    if "SubP" in types or "concat" in types:
        raise MatConvNetError(f"{path}: layers {', '.join(types[:4])} ... {types[-1]}; expected FFDNet "
                              "(SubP, concat, conv..., SubP) or DnCNN (conv, relu, ..., conv)")
    if cin != cout or cin not in (1, 3):
        raise MatConvNetError(f"{path}: DnCNN layout with {cin} channels in and {cout} out; expected 1 or 3 both")
    return "DnCNN", cin, False, True


def load_matconvnet(path: str | Path) -> tuple[SimpleNN, ModelInfo]:
    """The network (eval mode) and its imgen metadata for a DnCNN/FFDNet MatConvNet file."""
    path = Path(path)
    layers = read_layers(path)
    family, channels, noise, residual = describe(layers, path)
    net = SimpleNN(layers, residual).eval()
    convs = sum(layer.type == "conv" for layer in layers)
    receptive = sum(max(layer.weights[0].shape[2:]) // 2 * layer.dilate for layer in layers if layer.type == "conv")
    if family == "FFDNet":
        receptive *= 2  # the convolutions run at half resolution
    info = ModelInfo(task="denoise", channels=channels, value_range=(0.0, 1.0), scale=1,
                     size_multiple=2 if family == "FFDNet" else 1, noise_input="sigma" if noise else None,
                     noise_kind="scalar", noise_units="fraction", receptive_field=receptive, whole_image=False,
                     tile=512, tile_overlap=-(-max(8, 4 * (receptive + 1)) // 2) * 2,
                     description=f"{family} ({'gray' if channels == 1 else 'colour'}, {convs} convolutions), "
                                 f"MatConvNet release imported from {path.name}",
                     extra={"arch": family.lower(), "importer": "matconvnet"})
    return net, info
