"""RLFN (Kong et al. 2022, the NTIRE 2022 efficient-SR winner) and its pruned challenge variants.

Accepted: ``conv_1``, residual local feature blocks ``block_N`` (``c1_r``, ``c2_r``, ``c3_r`` 3x3 convs with
leaky ReLUs, ``c5`` 1x1 and an enhanced spatial attention ``esa``: ``conv1``, ``conv_f``, ``conv2`` (stride 2),
``conv3``, ``conv4``), ``conv_2`` and ``upsampler.0`` (a conv to 3 x scale^2 channels and a PixelShuffle); any
number of blocks and widths (RLFN: 6 blocks of 52; RLFN_Prune: 4 of 46/48).  The scale is read from the
weights.  The input range is not: the NTIRE test scripts feed [0, 255] (``data_range = 255``), the
authors' training code [0, 1]; it is decided by behaviour (families.infer_range), and
``--info range=...`` settles it.
"""
from __future__ import annotations

import math
import re

import torch
from torch import nn
from torch.nn import functional as F

from ..import_errors import Mismatch
from . import Family, Imported, StateDict, load_weights, metadata

#: The attention's stride-2 conv and 7x7 max pool need 15 input pixels on each side.
MIN_SIZE = 15
_BLOCK = re.compile(r"^block_(\d+)\.c1_r\.weight$")


class _ESA(nn.Module):
    def __init__(self, esa: int, feats: int):
        super().__init__()
        self.conv1 = nn.Conv2d(feats, esa, 1)
        self.conv_f = nn.Conv2d(esa, esa, 1)
        self.conv2 = nn.Conv2d(esa, esa, 3, stride=2, padding=0)
        self.conv3 = nn.Conv2d(esa, esa, 3, padding=1)
        self.conv4 = nn.Conv2d(esa, feats, 1)

    def forward(self, x):
        c1_ = self.conv1(x)
        c1 = self.conv2(c1_)
        v_max = F.max_pool2d(c1, kernel_size=7, stride=3)
        c3 = F.interpolate(self.conv3(v_max), (x.size(2), x.size(3)), mode="bilinear", align_corners=False)
        return x * torch.sigmoid(self.conv4(c3 + self.conv_f(c1_)))


class _RLFB(nn.Module):
    def __init__(self, feats: int, mid: int, out: int, esa: int, slope: float = 0.05):
        super().__init__()
        self.c1_r = nn.Conv2d(feats, mid, 3, padding=1)
        self.c2_r = nn.Conv2d(mid, mid, 3, padding=1)
        self.c3_r = nn.Conv2d(mid, feats, 3, padding=1)
        self.c5 = nn.Conv2d(feats, out, 1)
        self.esa = _ESA(esa, out)
        self.slope = slope

    def forward(self, x):
        out = F.leaky_relu(self.c1_r(x), self.slope)
        out = F.leaky_relu(self.c2_r(out), self.slope)
        out = F.leaky_relu(self.c3_r(out), self.slope) + x
        return self.esa(self.c5(out))


class RLFN(nn.Module):
    """(N, C, H, W) -> (N, C, H * scale, W * scale), in the range the weights were trained on."""

    def __init__(self, channels: int, feats: int, mid: int, esa: int, blocks: int, scale: int):
        super().__init__()
        self.conv_1 = nn.Conv2d(channels, feats, 3, padding=1)
        for i in range(1, blocks + 1):
            self.add_module(f"block_{i}", _RLFB(feats, mid, feats, esa))
        self.blocks = blocks
        self.conv_2 = nn.Conv2d(feats, feats, 3, padding=1)
        self.upsampler = nn.Sequential(nn.Conv2d(feats, channels * scale ** 2, 3, padding=1), nn.PixelShuffle(scale))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        feature = self.conv_1(x)
        out = feature
        for i in range(1, self.blocks + 1):
            out = getattr(self, f"block_{i}")(out)
        return self.upsampler(self.conv_2(out) + feature)


def load(sd: StateDict, scale: int | None = None) -> Imported | None:
    blocks = sorted(int(m.group(1)) for m in map(_BLOCK.match, sd) if m)
    if "conv_1.weight" not in sd or "upsampler.0.weight" not in sd or not blocks \
            or "block_1.esa.conv1.weight" not in sd:
        return None
    if blocks != list(range(1, len(blocks) + 1)):
        raise Mismatch(f"RLFN: blocks numbered {blocks}; expected 1..{len(blocks)}")
    w1, up = sd["conv_1.weight"], sd["upsampler.0.weight"]
    channels, feats = int(w1.shape[1]), int(w1.shape[0])
    s = math.isqrt(int(up.shape[0]) // channels)
    if channels * s * s != up.shape[0]:
        raise Mismatch(f"RLFN: upsampler.0.weight gives {up.shape[0]} channels, not {channels} x scale^2")
    if scale is not None and scale != s:
        raise Mismatch(f"RLFN: the weights are for x{s}, --scale asked for x{scale}")
    mid, esa = int(sd["block_1.c1_r.weight"].shape[0]), int(sd["block_1.esa.conv1.weight"].shape[0])
    net = load_weights(RLFN(channels, feats, mid, esa, len(blocks), s), sd, "RLFN")
    meta = metadata(task="sr", channels=channels, scale=s, arch="rlfn", min_size=str(MIN_SIZE))
    desc = f"RLFN x{s} ({len(blocks)} blocks, {feats}/{mid} features, ESA {esa})"
    return Imported("RLFN", net, {**meta, "imgen.description": desc}, [f"scale {s} from upsampler.0's channels"],
                    infer_range=True, min_size=MIN_SIZE)


FAMILY: Family = Family("RLFN", "conv_1, block_N (c1_r, c2_r, c3_r, c5, esa.*), conv_2, upsampler.0 (RLFN, RLFN_Prune, "
                        "NTIRE ESR entries); range decided by behaviour", load)
