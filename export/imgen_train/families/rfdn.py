"""RFDN (Liu et al. 2020, njulj/RFDN; the AIM 2020 efficient-SR winner): residual feature distillation
blocks with the full enhanced spatial attention.

Accepted: ``fea_conv``, ``B1..Bn`` (``c1_d``/``c1_r``..``c3_d``/``c3_r`` distillation and residual convs, ``c4``,
``c5`` and ``esa`` with ``conv1``, ``conv_f``, ``conv_max``, ``conv2`` (stride 2), ``conv3``, ``conv3_``, ``conv4``),
``c.0`` (1x1 fusion, leaky ReLU), ``LR_conv`` and ``upsampler.0`` (a conv to 3 x scale^2 channels and a
PixelShuffle); any width and block count; the scale is read from the weights.  The activation is not in
the weights: the official code's leaky ReLU with slope 0.05 is used (variants with other activations
export wrongly; say so in the description).  Range decided by behaviour, ``--info range=...`` settles it.
"""
from __future__ import annotations

import math
import re

import torch
from torch import nn
from torch.nn import functional as F

from ..import_errors import Mismatch
from . import Family, Imported, StateDict, load_weights, metadata

_BLOCK = re.compile(r"^B(\d+)\.c1_d\.weight$")
SLOPE = 0.05
#: The attention's stride-2 conv and 7x7 max pool need 15 input pixels on each side.
MIN_SIZE = 15


class _ESA(nn.Module):
    def __init__(self, feats: int, f: int):
        super().__init__()
        self.conv1 = nn.Conv2d(feats, f, 1)
        self.conv_f = nn.Conv2d(f, f, 1)
        self.conv_max = nn.Conv2d(f, f, 3, padding=1)
        self.conv2 = nn.Conv2d(f, f, 3, stride=2, padding=0)
        self.conv3 = nn.Conv2d(f, f, 3, padding=1)
        self.conv3_ = nn.Conv2d(f, f, 3, padding=1)
        self.conv4 = nn.Conv2d(f, feats, 1)

    def forward(self, x):
        c1_ = self.conv1(x)
        v_max = F.max_pool2d(self.conv2(c1_), kernel_size=7, stride=3)
        c3 = self.conv3_(F.relu(self.conv3(F.relu(self.conv_max(v_max)))))
        c3 = F.interpolate(c3, (x.size(2), x.size(3)), mode="bilinear", align_corners=False)
        return x * torch.sigmoid(self.conv4(c3 + self.conv_f(c1_)))


class _RFDB(nn.Module):
    def __init__(self, feats: int, distilled: int, esa: int):
        super().__init__()
        for k in (1, 2, 3):
            self.add_module(f"c{k}_d", nn.Conv2d(feats, distilled, 1))
            self.add_module(f"c{k}_r", nn.Conv2d(feats, feats, 3, padding=1))
        self.c4 = nn.Conv2d(feats, distilled, 3, padding=1)
        self.c5 = nn.Conv2d(distilled * 4, feats, 1)
        self.esa = _ESA(feats, esa)

    def forward(self, x):
        distilled, r = [], x
        for k in (1, 2, 3):
            distilled.append(F.leaky_relu(getattr(self, f"c{k}_d")(r), SLOPE))
            r = F.leaky_relu(getattr(self, f"c{k}_r")(r) + r, SLOPE)
        distilled.append(F.leaky_relu(self.c4(r), SLOPE))
        return self.esa(self.c5(torch.cat(distilled, dim=1)))


class RFDN(nn.Module):
    """(N, C, H, W) -> (N, C, H * scale, W * scale), in the range the weights were trained on."""

    def __init__(self, channels: int, feats: int, blocks: int, distilled: int, esa: int, scale: int):
        super().__init__()
        self.fea_conv = nn.Conv2d(channels, feats, 3, padding=1)
        for i in range(1, blocks + 1):
            self.add_module(f"B{i}", _RFDB(feats, distilled, esa))
        self.blocks = blocks
        self.c = nn.Sequential(nn.Conv2d(feats * blocks, feats, 1), nn.LeakyReLU(SLOPE))
        self.LR_conv = nn.Conv2d(feats, feats, 3, padding=1)
        self.upsampler = nn.Sequential(nn.Conv2d(feats, channels * scale ** 2, 3, padding=1), nn.PixelShuffle(scale))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        fea = self.fea_conv(x)
        outs, out = [], fea
        for i in range(1, self.blocks + 1):
            out = getattr(self, f"B{i}")(out)
            outs.append(out)
        return self.upsampler(self.LR_conv(self.c(torch.cat(outs, dim=1))) + fea)


def load(sd: StateDict, scale: int | None = None) -> Imported | None:
    blocks = sorted(int(m.group(1)) for m in map(_BLOCK.match, sd) if m)
    if "fea_conv.weight" not in sd or "upsampler.0.weight" not in sd or not blocks or "B1.esa.conv_max.weight" not in sd:
        return None
    if blocks != list(range(1, len(blocks) + 1)):
        raise Mismatch(f"RFDN: blocks numbered {blocks}; expected 1..{len(blocks)}")
    w1, up = sd["fea_conv.weight"], sd["upsampler.0.weight"]
    channels, feats = int(w1.shape[1]), int(w1.shape[0])
    s = math.isqrt(int(up.shape[0]) // channels)
    if s < 1 or channels * s * s != up.shape[0]:
        raise Mismatch(f"RFDN: upsampler.0.weight gives {up.shape[0]} channels, not {channels} x scale^2")
    if scale is not None and scale != s:
        raise Mismatch(f"RFDN: the weights are for x{s}, --scale asked for x{scale}")
    distilled, esa = int(sd["B1.c1_d.weight"].shape[0]), int(sd["B1.esa.conv1.weight"].shape[0])
    net = load_weights(RFDN(channels, feats, len(blocks), distilled, esa, s), sd, "RFDN")
    meta = metadata(task="sr", channels=channels, scale=s, arch="rfdn", min_size=str(MIN_SIZE))
    desc = (f"RFDN x{s} ({len(blocks)} blocks, {feats} features; leaky ReLU 0.05 as the official code, the "
            f"activation is not in the weights)")
    return Imported("RFDN", net, {**meta, "imgen.description": desc}, [f"scale {s} from upsampler.0's channels",
                    "activation: leaky ReLU 0.05 (njulj/RFDN); not in the weights"], infer_range=True,
                    min_size=MIN_SIZE)


FAMILY: Family = Family("RFDN", "fea_conv, Bn (c1_d..c3_r, c4, c5, esa with conv_max/conv3_), c.0, LR_conv, upsampler.0 "
                        "(njulj/RFDN); range decided by behaviour", load)
