"""SRNet: a small ESPCN/Compact-style super-resolver working at low resolution.

``depth`` 3x3 convs (PReLU between them) on the LR image predict ``scale**2`` sub-pixel planes per
channel, pixel-shuffled to the HR grid and added to the bicubic enlargement of the input (residual
over bicubic: the net only learns the detail bicubic misses, which converges fast on a CPU).
Input (N, C, H, W) float in [0, 1] at low resolution; output (N, C, scale*H, scale*W), not clipped.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn
from torch.nn import functional as F


@dataclass(frozen=True)
class SRNetConfig:
    in_channels: int = 1
    scale: int = 2
    depth: int = 8           # conv layers in all
    width: int = 32          # hidden channels


class SRNet(nn.Module):
    """SRNet(config): (N, C, H, W) LR -> (N, C, scale*H, scale*W); any H, W."""

    name = "srnet"
    task = "sr"
    noise_input = False
    size_multiple = 1

    def __init__(self, config: SRNetConfig = SRNetConfig()):
        super().__init__()
        if config.depth < 2:
            raise ValueError(f"SRNet depth must be >= 2, got {config.depth}")
        if not 2 <= config.scale <= 8:
            raise ValueError(f"SRNet scale must be 2-8, got {config.scale}")
        self.config = config
        c, w, s = config.in_channels, config.width, config.scale
        layers: list[nn.Module] = [nn.Conv2d(c, w, 3, padding=1), nn.PReLU(w)]
        for _ in range(config.depth - 2):
            layers += [nn.Conv2d(w, w, 3, padding=1), nn.PReLU(w)]
        last = nn.Conv2d(w, c * s * s, 3, padding=1)
        nn.init.zeros_(last.weight)   # starts as plain bicubic
        nn.init.zeros_(last.bias)
        layers.append(last)
        self.body = nn.Sequential(*layers)

    @property
    def in_channels(self) -> int:
        return self.config.in_channels

    @property
    def scale(self) -> int:
        return self.config.scale

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        up = F.interpolate(x, scale_factor=self.config.scale, mode="bicubic", align_corners=False)
        return up + F.pixel_shuffle(self.body(x), self.config.scale)

    @property
    def receptive_radius(self) -> int:
        """In output (HR) pixels."""
        return self.config.scale * (self.config.depth + 2)
