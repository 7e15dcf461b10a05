"""VDSR (Kim et al. 2016): 20 3x3 convs with ReLUs and a global residual, on the Y channel of an input
already upscaled to the target size by MATLAB bicubic; one network for x2, x3 and x4.

Accepted: twtygqyy/pytorch-vdsr's layout (``input.weight``, ``residual_layer.N.conv.weight``,
``output.weight``; bias-free, as published, or with biases), any depth and width, 1 channel (Y) or 3.
The residual is added inside the network (its forward returns the image).  Exported as a scale-1 graph
with ``imgen.pre_upsample=bicubic``, ``imgen.scale`` from ``--scale`` (required: the weights serve every
scale) and, for 1-channel files, ``imgen.color_space=y``.
"""
from __future__ import annotations

import re

import torch
from torch import nn

from ..import_errors import Mismatch
from . import Family, Imported, ScaleRequired, StateDict, load_weights, metadata

SCALES = (2, 3, 4)
_MID = re.compile(r"^residual_layer\.(\d+)\.conv\.(weight|bias)$")


class _Block(nn.Module):
    def __init__(self, width: int, bias: bool):
        super().__init__()
        self.conv = nn.Conv2d(width, width, 3, padding=1, bias=bias)
        self.relu = nn.ReLU()

    def forward(self, x):
        return self.relu(self.conv(x))


class VDSR(nn.Module):
    """(N, C, H, W) bicubic-upscaled image in [0, 1] -> the restored image (residual added inside)."""

    def __init__(self, channels: int = 1, width: int = 64, blocks: int = 18, bias: bool = False):
        super().__init__()
        self.input = nn.Conv2d(channels, width, 3, padding=1, bias=bias)
        self.residual_layer = nn.Sequential(*[_Block(width, bias) for _ in range(blocks)])
        self.output = nn.Conv2d(width, channels, 3, padding=1, bias=bias)
        self.relu = nn.ReLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.output(self.residual_layer(self.relu(self.input(x)))) + x


def load(sd: StateDict, scale: int | None = None) -> Imported | None:
    if "input.weight" not in sd or "output.weight" not in sd or not any(_MID.match(k) for k in sd):
        return None
    w = sd["input.weight"]
    if w.dim() != 4:
        raise Mismatch(f"VDSR: input.weight has shape {tuple(w.shape)}; expected (width, channels, 3, 3)")
    blocks = 1 + max(int(m.group(1)) for m in map(_MID.match, sd) if m)
    channels, width, bias = int(w.shape[1]), int(w.shape[0]), "input.bias" in sd
    net = load_weights(VDSR(channels, width, blocks, bias), sd, "VDSR")
    if scale is None:
        raise ScaleRequired("VDSR", SCALES, "one network serves x2, x3 and x4 (it runs on an input already "
                                            "upscaled by bicubic), so the file does not say which to export")
    y = channels == 1
    meta = metadata(task="sr", channels=channels, scale=scale, pre_upsample="bicubic",
                    color_space="y" if y else None, receptive_field=blocks + 2, arch="vdsr")
    desc = (f"VDSR x{scale}, {blocks + 2} layers, {width} features: runs on "
            f"{'the Y channel (BT.601, as MATLAB rgb2ycbcr) of ' if y else ''}an input upscaled x{scale} by "
            f"MATLAB-compatible bicubic (imgen does that before the graph; the graph itself keeps the size), "
            f"residual added inside")
    notes = [f"pre_upsample=bicubic, scale={scale}" + (", color_space=y" if y else ""),
             "range 0,1: the published test script feeds Y/255"]
    return Imported("VDSR", net, {**meta, "imgen.description": desc}, notes, probe=False)


FAMILY: Family = Family("VDSR", "input.weight, residual_layer.N.conv.weight, output.weight (twtygqyy/pytorch-vdsr), "
                        "with or without bias, 1 (Y) or 3 channels; Y of a bicubic-upscaled input, --scale", load)
