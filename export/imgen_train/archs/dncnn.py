"""DnCNN (Zhang et al., 2017): a plain conv stack that predicts the noise (residual learning).

Layout of the layers follows KAIR's ``DnCNN`` with batch norm merged into the conv biases, so a
KAIR checkpoint (``model.0.weight`` ... ``model.N.weight``) loads directly: conv + ReLU, then
(depth - 2) x (conv + ReLU), then a last conv.  Input/output NCHW float, [0, 1] images.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn


@dataclass(frozen=True)
class DnCNNConfig:
    in_channels: int = 1
    depth: int = 17          # conv layers in all
    width: int = 64          # channels of the hidden layers
    residual: bool = True    # output = input - net(input)
    batch_norm: bool = False  # BN after hidden convs (training); KAIR's released weights have it merged


class DnCNN(nn.Module):
    """DnCNN(config): (N, C, H, W) noisy -> (N, C, H, W) denoised; any H, W."""

    name = "dncnn"
    noise_input = False
    size_multiple = 1

    def __init__(self, config: DnCNNConfig = DnCNNConfig()):
        super().__init__()
        if config.depth < 2:
            raise ValueError(f"DnCNN depth must be >= 2, got {config.depth}")
        self.config = config
        c, w = config.in_channels, config.width
        layers: list[nn.Module] = [nn.Conv2d(c, w, 3, padding=1, bias=True), nn.ReLU(inplace=True)]
        for _ in range(config.depth - 2):
            layers.append(nn.Conv2d(w, w, 3, padding=1, bias=not config.batch_norm))
            if config.batch_norm:
                layers.append(nn.BatchNorm2d(w, momentum=0.1, eps=1e-4))
            layers.append(nn.ReLU(inplace=True))
        layers.append(nn.Conv2d(w, c, 3, padding=1, bias=True))
        self.model = nn.Sequential(*layers)

    @property
    def in_channels(self) -> int:
        return self.config.in_channels

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n = self.model(x)
        return x - n if self.config.residual else n

    @property
    def receptive_radius(self) -> int:
        return self.config.depth
