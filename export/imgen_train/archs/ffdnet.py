"""FFDNet (Zhang et al., 2018): a conv stack on the 2x pixel-unshuffled image plus a noise-level map.

One model covers a range of noise levels: the level sigma (tensor units, i.e. 25/255 for uint8
sigma 25 on a [0, 1] image) is an input.  The image goes through pixel-unshuffle (x2, inside the
graph), is concatenated with the noise map at half resolution, runs through ``depth`` 3x3 convs
and is pixel-shuffled back.  Height and width must be even (imgen pads: size_multiple = 2).

``residual=True`` (our default, not in the paper) predicts the noise of the unshuffled image and
subtracts it, which converges much faster in short CPU training runs.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn
from torch.nn import functional as F


@dataclass(frozen=True)
class FFDNetConfig:
    in_channels: int = 1
    depth: int = 15          # conv layers in all (paper: 15 gray, 12 colour)
    width: int = 64          # hidden channels (paper: 64 gray, 96 colour)
    residual: bool = True
    batch_norm: bool = True


class FFDNet(nn.Module):
    """FFDNet(config): forward(x (N, C, H, W), sigma (N, 1, 1, 1) or (N, 1, H, W)) -> (N, C, H, W).

    H and W must be even.  A sigma map at full resolution is averaged down to half resolution.
    """

    name = "ffdnet"
    noise_input = True
    size_multiple = 2

    def __init__(self, config: FFDNetConfig = FFDNetConfig()):
        super().__init__()
        if config.depth < 2:
            raise ValueError(f"FFDNet depth must be >= 2, got {config.depth}")
        self.config = config
        c, w = config.in_channels, config.width
        layers: list[nn.Module] = [nn.Conv2d(4 * c + 1, w, 3, padding=1, bias=True), nn.ReLU(inplace=True)]
        for _ in range(config.depth - 2):
            layers.append(nn.Conv2d(w, w, 3, padding=1, bias=not config.batch_norm))
            if config.batch_norm:
                layers.append(nn.BatchNorm2d(w, momentum=0.1, eps=1e-4))
            layers.append(nn.ReLU(inplace=True))
        layers.append(nn.Conv2d(w, 4 * c, 3, padding=1, bias=True))
        self.model = nn.Sequential(*layers)

    @property
    def in_channels(self) -> int:
        return self.config.in_channels

    def forward(self, x: torch.Tensor, sigma: torch.Tensor) -> torch.Tensor:
        down = F.pixel_unshuffle(x, 2)
        if sigma.shape[-1] == 1 and sigma.shape[-2] == 1:
            noise = sigma.expand(-1, 1, down.shape[2], down.shape[3])
        else:
            noise = F.avg_pool2d(sigma, 2)
        out = self.model(torch.cat([down, noise], dim=1))
        if self.config.residual:
            out = down - out
        return F.pixel_shuffle(out, 2)

    @property
    def receptive_radius(self) -> int:
        return 2 * self.config.depth
