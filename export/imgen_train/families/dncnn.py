"""DnCNN (Zhang et al. 2017) in the layouts its PyTorch ports save, BatchNorm unmerged.

Accepted: one Sequential of 3x3 convs under any prefix (``dncnn.N`` SaoYan/DnCNN-PyTorch and the cszn
official port, ``model.N`` KAIR's training layout, ``N`` a bare Sequential, ...; a DataParallel
``module.`` prefix is removed before), each conv but the last followed by a ReLU and optionally a
BatchNorm2d before it, convs with or without bias, any depth (17, 20) and width, 1 or 3 channels in
and out.  KAIR's BN-merged ``model.N`` layout is taken earlier (import_checkpoint).

The network predicts the noise (residual learning); the exported graph outputs ``x - net(x)``, the
clean image.  What the authors' own forward returns is written as ``imgen.source_output``: ``noise``
for SaoYan's layout (bias-free first conv; its test script subtracts), ``image`` for the cszn and KAIR
ports (their forward subtracts).  BatchNorm is folded into the convs with the eps the layout's code uses
(not stored in the state dict): PyTorch's default 1e-5 for SaoYan's, 1e-4 for the cszn port and KAIR
(both construct ``BatchNorm2d(eps=1e-4)``), said in ``imgen.bn_eps`` and the description.
"""
from __future__ import annotations

import re

import torch
from torch import nn

from ..import_errors import Mismatch
from . import Family, Imported, StateDict, metadata

_KEY = re.compile(r"^(?P<prefix>(?:[A-Za-z_]\w*\.)*)(?P<index>\d+)\."
                  r"(?P<param>weight|bias|running_mean|running_var|num_batches_tracked)$")
BN_PARAMS = ("weight", "bias", "running_mean", "running_var")


class DnCNN(nn.Module):
    """``x - body(x)``: body is the conv/ReLU stack with BatchNorm folded (N, C, H, W) in [0, 1]."""

    def __init__(self, body: nn.Sequential):
        super().__init__()
        self.body = body

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x - self.body(x)


def _layers(sd: StateDict) -> tuple[str, dict[int, dict[str, torch.Tensor]]] | None:
    prefix: str | None = None
    layers: dict[int, dict[str, torch.Tensor]] = {}
    for key, value in sd.items():
        m = _KEY.match(key)
        if not m:
            return None
        if prefix is None:
            prefix = m.group("prefix")
        elif m.group("prefix") != prefix:
            return None
        layers.setdefault(int(m.group("index")), {})[m.group("param")] = value
    return (prefix or "", layers) if layers else None


def _eps(prefix: str, first_bias: bool, has_bn: bool) -> tuple[float, str]:
    if not has_bn:
        return 0.0, "no BatchNorm"
    if not first_bias:
        return 1e-5, "SaoYan/DnCNN-PyTorch layout (bias-free convs): PyTorch's default BatchNorm eps 1e-5"
    if prefix == "model.":
        return 1e-4, "KAIR training layout (model.N): KAIR's BatchNorm eps 1e-4"
    return 1e-4, "cszn official PyTorch layout (first conv with bias): its BatchNorm eps 1e-4"


def load(sd: StateDict, scale: int | None = None) -> Imported | None:
    found = _layers(sd)
    if found is None:
        return None
    prefix, layers = found
    kinds = {}
    for i, params in layers.items():
        w = params.get("weight")
        if "running_mean" in params:
            kinds[i] = "bn"
        elif w is not None and w.dim() == 4:
            kinds[i] = "conv"
        else:
            return None
    order = sorted(layers)
    convs = [i for i in order if kinds[i] == "conv"]
    if len(convs) < 3 or kinds[order[0]] != "conv" or kinds[order[-1]] != "conv":
        return None
    first, last = layers[convs[0]]["weight"], layers[convs[-1]]["weight"]
    if first.shape[1] not in (1, 3) or last.shape[0] != first.shape[1]:
        return None
    if any(tuple(layers[i]["weight"].shape[2:]) != (3, 3) for i in convs):
        return None  # another plain conv chain (AR-CNN's 9-7-1-5, ...), not DnCNN
    name = f"DnCNN ({prefix or 'bare '}N layout)"
    modules: dict[int, nn.Module] = {}
    expect = 0
    for i in order:
        p = layers[i]
        if kinds[i] == "conv":
            w = p["weight"]
            if i != expect:
                raise Mismatch(f"{name}: {prefix}{i}.weight follows a layer that is not a ReLU; expected the conv at "
                               f"index {expect} (conv, [BatchNorm], ReLU, conv, ...)")
            conv = nn.Conv2d(w.shape[1], w.shape[0], 3, padding=1, bias="bias" in p)
            modules[i] = conv
            expect = i + 2
        else:
            conv_index = i - 1
            if kinds.get(conv_index) != "conv" or conv_index == convs[-1]:
                raise Mismatch(f"{name}: BatchNorm {prefix}{i} does not follow a conv (or follows the last one)")
            missing = [k for k in BN_PARAMS if k not in p]
            if missing:
                raise Mismatch(f"{name}: BatchNorm {prefix}{i} lacks {', '.join(missing)}")
            modules[i] = nn.BatchNorm2d(p["running_mean"].shape[0])
            expect = i + 2
    for a, b in zip(convs, convs[1:]):
        if layers[b]["weight"].shape[1] != layers[a]["weight"].shape[0]:
            raise Mismatch(f"{name}: {prefix}{b}.weight takes {layers[b]['weight'].shape[1]} channels but "
                           f"{prefix}{a} gives {layers[a]['weight'].shape[0]}")
    has_bn = "bn" in kinds.values()
    first_bias = "bias" in layers[convs[0]]
    eps, eps_why = _eps(prefix, first_bias, has_bn)
    seq = nn.Sequential()
    for i in range(order[-1] + 1):
        seq.add_module(str(i), modules.get(i, nn.ReLU()))
    for m in seq:
        if isinstance(m, nn.BatchNorm2d):
            m.eps = eps
    local = {f"{i}.{k}": v for i, p in layers.items() for k, v in p.items()}
    seq.load_state_dict(local, strict=True)
    seq.eval()
    folded: list[nn.Module] = []
    items = list(seq)
    k = 0
    while k < len(items):  # fold conv + BatchNorm, drop nothing else
        m = items[k]
        bn = items[k + 1] if k + 1 < len(items) else None
        if isinstance(m, nn.Conv2d) and isinstance(bn, nn.BatchNorm2d):
            folded.append(torch.nn.utils.fusion.fuse_conv_bn_eval(m, bn))
            k += 2
            continue
        folded.append(m)
        k += 1
    channels, depth, width = int(first.shape[1]), len(convs), int(first.shape[0])
    saoyan = not first_bias and has_bn
    source = "noise" if saoyan else "image"
    desc = (f"DnCNN, {depth} layers, {width} features, {'gray' if channels == 1 else 'colour'}, "
            f"{prefix or 'bare '}N layout{' with BatchNorm folded (' + eps_why + ')' if has_bn else ''}; "
            f"the network predicts the noise and this graph outputs the clean image x - net(x)"
            + (" (the authors' forward returns the noise; their test script subtracts it)" if saoyan else ""))
    meta = metadata(task="denoise", channels=channels, receptive_field=depth, arch="dncnn-family",
                    source_output=source)
    if has_bn:
        meta["imgen.bn_eps"] = f"{eps:g}"
    notes = [f"layout: {prefix or 'bare '}N Sequential, {depth} convs, BatchNorm {'yes' if has_bn else 'no'}",
             f"source_output={source}: the clean image is x - net(x) either way"]
    if has_bn:
        notes.append(f"BatchNorm eps {eps:g} ({eps_why}); not stored in the file")
    return Imported("DnCNN", DnCNN(nn.Sequential(*folded)).eval(), {**meta, "imgen.description": desc}, notes,
                    probe=False)


FAMILY: Family = Family("DnCNN", "one Sequential of 3x3 convs under any prefix (dncnn.N, model.N, ...), ReLU and "
                         "optional unmerged BatchNorm2d between, with or without bias, any depth, 1 or 3 channels",
                load)
