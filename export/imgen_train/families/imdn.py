"""IMDN (Hui et al. 2019, Zheng222/IMDN; the NTIRE efficient-SR baseline): information multi-distillation
blocks with contrast-aware channel attention.

Accepted: ``fea_conv``, ``IMDB1..IMDBn`` (``c1``..``c4`` 3x3 convs with leaky ReLUs (0.05), distilling a
quarter of the channels at each step, ``cca.conv_du`` attention on mean + standard deviation, ``c5`` 1x1),
``c.0`` (1x1 fusion of every block's output, leaky ReLU), ``LR_conv`` and ``upsampler.0`` (a conv to
3 x scale^2 channels and a PixelShuffle); any width and block count; the scale is read from the weights.
The attention pools over the whole image (``imgen.whole_image`` is probed).  The input range is decided by
behaviour (families.infer_range); ``--info range=...`` settles it.
"""
from __future__ import annotations

import math
import re

import torch
from torch import nn
from torch.nn import functional as F

from ..import_errors import Mismatch
from . import Family, Imported, StateDict, load_weights, metadata

_BLOCK = re.compile(r"^IMDB(\d+)\.c1\.weight$")
SLOPE = 0.05


class _CCA(nn.Module):
    """Contrast-aware channel attention: x * sigmoid(mlp(std(x) + mean(x))) over each channel."""

    def __init__(self, channels: int, reduced: int):
        super().__init__()
        self.conv_du = nn.Sequential(nn.Conv2d(channels, reduced, 1), nn.ReLU(), nn.Conv2d(reduced, channels, 1),
                                     nn.Sigmoid())

    def forward(self, x):
        mean = x.mean(dim=(2, 3), keepdim=True)
        std = (x - mean).pow(2).mean(dim=(2, 3), keepdim=True).pow(0.5)
        return x * self.conv_du(std + mean)


class _IMDB(nn.Module):
    def __init__(self, channels: int, reduced: int):
        super().__init__()
        self.distilled = int(channels * 0.25)
        self.remaining = channels - self.distilled
        self.c1 = nn.Conv2d(channels, channels, 3, padding=1)
        self.c2 = nn.Conv2d(self.remaining, channels, 3, padding=1)
        self.c3 = nn.Conv2d(self.remaining, channels, 3, padding=1)
        self.c4 = nn.Conv2d(self.remaining, self.distilled, 3, padding=1)
        self.c5 = nn.Conv2d(self.distilled * 4, channels, 1)
        self.cca = _CCA(self.distilled * 4, reduced)

    def forward(self, x):
        split = (self.distilled, self.remaining)
        d1, r1 = torch.split(F.leaky_relu(self.c1(x), SLOPE), split, dim=1)
        d2, r2 = torch.split(F.leaky_relu(self.c2(r1), SLOPE), split, dim=1)
        d3, r3 = torch.split(F.leaky_relu(self.c3(r2), SLOPE), split, dim=1)
        out = torch.cat([d1, d2, d3, self.c4(r3)], dim=1)
        return self.c5(self.cca(out)) + x


class IMDN(nn.Module):
    """(N, C, H, W) -> (N, C, H * scale, W * scale), in the range the weights were trained on."""

    def __init__(self, channels: int, feats: int, blocks: int, reduced: int, scale: int):
        super().__init__()
        self.fea_conv = nn.Conv2d(channels, feats, 3, padding=1)
        for i in range(1, blocks + 1):
            self.add_module(f"IMDB{i}", _IMDB(feats, reduced))
        self.blocks = blocks
        self.c = nn.Sequential(nn.Conv2d(feats * blocks, feats, 1), nn.LeakyReLU(SLOPE))
        self.LR_conv = nn.Conv2d(feats, feats, 3, padding=1)
        self.upsampler = nn.Sequential(nn.Conv2d(feats, channels * scale ** 2, 3, padding=1), nn.PixelShuffle(scale))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        fea = self.fea_conv(x)
        outs, out = [], fea
        for i in range(1, self.blocks + 1):
            out = getattr(self, f"IMDB{i}")(out)
            outs.append(out)
        return self.upsampler(self.LR_conv(self.c(torch.cat(outs, dim=1))) + fea)


def load(sd: StateDict, scale: int | None = None) -> Imported | None:
    blocks = sorted(int(m.group(1)) for m in map(_BLOCK.match, sd) if m)
    if "fea_conv.weight" not in sd or "upsampler.0.weight" not in sd or not blocks or "c.0.weight" not in sd:
        return None
    if blocks != list(range(1, len(blocks) + 1)):
        raise Mismatch(f"IMDN: blocks numbered {blocks}; expected 1..{len(blocks)}")
    w1, up = sd["fea_conv.weight"], sd["upsampler.0.weight"]
    channels, feats = int(w1.shape[1]), int(w1.shape[0])
    s = math.isqrt(int(up.shape[0]) // channels)
    if s < 1 or channels * s * s != up.shape[0]:
        raise Mismatch(f"IMDN: upsampler.0.weight gives {up.shape[0]} channels, not {channels} x scale^2")
    if scale is not None and scale != s:
        raise Mismatch(f"IMDN: the weights are for x{s}, --scale asked for x{scale}")
    if "IMDB1.cca.conv_du.0.weight" not in sd:
        raise Mismatch("IMDN: IMDB1 has no cca.conv_du (the attention); IMDN-RTC/speed blocks are not supported")
    reduced = int(sd["IMDB1.cca.conv_du.0.weight"].shape[0])
    net = load_weights(IMDN(channels, feats, len(blocks), reduced, s), sd, "IMDN")
    meta = metadata(task="sr", channels=channels, scale=s, arch="imdn")
    desc = f"IMDN x{s} ({len(blocks)} blocks, {feats} features)"
    return Imported("IMDN", net, {**meta, "imgen.description": desc}, [f"scale {s} from upsampler.0's channels"],
                    infer_range=True)


FAMILY: Family = Family("IMDN", "fea_conv, IMDBn (c1..c5, cca.conv_du), c.0, LR_conv, upsampler.0 (Zheng222/IMDN); "
                        "range decided by behaviour", load)
