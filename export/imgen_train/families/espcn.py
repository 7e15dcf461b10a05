"""ESPCN (Shi et al. 2016): two tanh convs and a sub-pixel conv, on the Y channel of the low-resolution
image.  Accepted: yjn870/ESPCN-pytorch's layout (``first_part.0`` and ``first_part.2`` convs,
``last_part.0`` conv to channels * scale^2 and a PixelShuffle); the scale is read from the weights."""
from __future__ import annotations

import math

import torch
from torch import nn

from ..import_errors import Mismatch
from . import Family, Imported, StateDict, load_weights, metadata

KEYS = {f"{p}.{s}" for p in ("first_part.0", "first_part.2", "last_part.0") for s in ("weight", "bias")}


class ESPCN(nn.Module):
    """(N, C, H, W) low-resolution image in [0, 1] -> (N, C, H * scale, W * scale)."""

    def __init__(self, channels: int, widths: tuple[int, int], kernels: tuple[int, int, int], scale: int):
        super().__init__()
        (f1, f2), (k1, k2, k3) = widths, kernels
        self.first_part = nn.Sequential(nn.Conv2d(channels, f1, k1, padding=k1 // 2), nn.Tanh(),
                                        nn.Conv2d(f1, f2, k2, padding=k2 // 2), nn.Tanh())
        self.last_part = nn.Sequential(nn.Conv2d(f2, channels * scale ** 2, k3, padding=k3 // 2),
                                       nn.PixelShuffle(scale))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.last_part(self.first_part(x))


def load(sd: StateDict, scale: int | None = None) -> Imported | None:
    if set(sd) != KEYS:
        return None
    w1, w2, w3 = sd["first_part.0.weight"], sd["first_part.2.weight"], sd["last_part.0.weight"]
    channels = int(w1.shape[1])
    s = math.isqrt(int(w3.shape[0]) // channels)
    if s < 2 or channels * s * s != w3.shape[0]:
        raise Mismatch(f"ESPCN: last_part.0.weight gives {w3.shape[0]} channels, not {channels} x scale^2")
    if scale is not None and scale != s:
        raise Mismatch(f"ESPCN: the weights are for x{s}, --scale asked for x{scale}")
    kernels = (int(w1.shape[2]), int(w2.shape[2]), int(w3.shape[2]))
    net = load_weights(ESPCN(channels, (int(w1.shape[0]), int(w2.shape[0])), kernels, s), sd, "ESPCN")
    y = channels == 1
    meta = metadata(task="sr", channels=channels, scale=s, color_space="y" if y else None, arch="espcn")
    desc = f"ESPCN x{s} on {'the Y channel' if y else 'RGB'} in [0, 1]"
    return Imported("ESPCN", net, {**meta, "imgen.description": desc}, [f"scale {s} from last_part.0's channels"])


FAMILY: Family = Family("ESPCN", "first_part.0/2 and last_part.0 convs with a PixelShuffle (yjn870/ESPCN-pytorch), "
                         "scale from the weights", load)
