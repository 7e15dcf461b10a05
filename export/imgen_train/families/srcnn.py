"""SRCNN (Dong et al. 2014): three convs (9-5-5 or 9-1-5) with ReLUs, on the Y channel of an input
already upscaled to the target size by bicubic.

Accepted: ``conv1``, ``conv2``, ``conv3`` weights and biases (yjn870/SRCNN-pytorch and most ports), 1 channel
(Y) or 3.  Exported as a scale-1 graph with ``imgen.pre_upsample=bicubic`` and ``imgen.scale`` from
``--scale`` (required: SRCNN's weights do not say the scale they were trained for).
"""
from __future__ import annotations

import torch
from torch import nn

from ..import_errors import Mismatch
from . import Family, Imported, ScaleRequired, StateDict, load_weights, metadata

SCALES = (2, 3, 4)
KEYS = {f"conv{i}.{p}" for i in (1, 2, 3) for p in ("weight", "bias")}


class SRCNN(nn.Module):
    """(N, C, H, W) bicubic-upscaled image in [0, 1] -> the restored image (same size)."""

    def __init__(self, channels: int, widths: tuple[int, int], kernels: tuple[int, int, int]):
        super().__init__()
        (f1, f2), (k1, k2, k3) = widths, kernels
        self.conv1 = nn.Conv2d(channels, f1, k1, padding=k1 // 2)
        self.conv2 = nn.Conv2d(f1, f2, k2, padding=k2 // 2)
        self.conv3 = nn.Conv2d(f2, channels, k3, padding=k3 // 2)
        self.relu = nn.ReLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv3(self.relu(self.conv2(self.relu(self.conv1(x)))))


def load(sd: StateDict, scale: int | None = None) -> Imported | None:
    if set(sd) != KEYS:
        return None
    w1, w2, w3 = (sd[f"conv{i}.weight"] for i in (1, 2, 3))
    if any(w.dim() != 4 for w in (w1, w2, w3)) or any(w.shape[2] % 2 == 0 for w in (w1, w2, w3)):
        raise Mismatch(f"SRCNN: conv weights {tuple(w1.shape)}, {tuple(w2.shape)}, {tuple(w3.shape)}; expected "
                       "odd square kernels")
    channels = int(w1.shape[1])
    kernels = (int(w1.shape[2]), int(w2.shape[2]), int(w3.shape[2]))
    net = load_weights(SRCNN(channels, (int(w1.shape[0]), int(w2.shape[0])), kernels), sd, "SRCNN")
    if scale is None:
        raise ScaleRequired("SRCNN", SCALES, "SRCNN runs on an input already upscaled by bicubic and its weights "
                                             "do not say for which scale they were trained")
    y = channels == 1
    meta = metadata(task="sr", channels=channels, scale=scale, pre_upsample="bicubic",
                    color_space="y" if y else None, receptive_field=sum(k // 2 for k in kernels), arch="srcnn")
    desc = (f"SRCNN {'-'.join(map(str, kernels))} x{scale}: runs on {'the Y channel of ' if y else ''}an input "
            f"upscaled x{scale} by MATLAB-compatible bicubic (imgen does that before the graph)")
    return Imported("SRCNN", net, {**meta, "imgen.description": desc},
                    [f"pre_upsample=bicubic, scale={scale}" + (", color_space=y" if y else "")], probe=False)


FAMILY: Family = Family("SRCNN", "conv1, conv2, conv3 (9-5-5 or 9-1-5) with biases, 1 (Y) or 3 channels; Y of a "
                         "bicubic-upscaled input, --scale", load)
