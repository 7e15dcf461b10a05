"""DeJpeg: a DnCNN-style residual conv stack on the 2x pixel-unshuffled image (FFDNet's layout,
without the noise map), trained on JPEG round trips (task ``jpeg``), blind to the quality.

The unshuffle quarters the cost per layer and doubles the receptive field (JPEG's artefacts span
8x8 blocks).  ``size_multiple`` is 8: JPEG's blocks start on the 8-pixel grid, training patches
are compressed from their own origin, and tiles then start on that grid too.
Input/output (N, C, H, W) float in [0, 1], H and W multiples of 8 (imgen pads).
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn
from torch.nn import functional as F


@dataclass(frozen=True)
class DeJpegConfig:
    in_channels: int = 1
    depth: int = 10          # conv layers in all
    width: int = 48          # hidden channels
    batch_norm: bool = True  # BN after the hidden convs (folded into them on export)


class DeJpeg(nn.Module):
    """DeJpeg(config): (N, C, H, W) decoded JPEG -> (N, C, H, W) restored."""

    name = "dejpeg"
    task = "jpeg"
    noise_input = False
    size_multiple = 8

    def __init__(self, config: DeJpegConfig = DeJpegConfig()):
        super().__init__()
        if config.depth < 2:
            raise ValueError(f"DeJpeg depth must be >= 2, got {config.depth}")
        self.config = config
        c, w = config.in_channels, config.width
        layers: list[nn.Module] = [nn.Conv2d(4 * c, w, 3, padding=1), nn.ReLU(inplace=True)]
        for _ in range(config.depth - 2):
            layers.append(nn.Conv2d(w, w, 3, padding=1, bias=not config.batch_norm))
            if config.batch_norm:
                layers.append(nn.BatchNorm2d(w, momentum=0.1, eps=1e-4))
            layers.append(nn.ReLU(inplace=True))
        for layer in layers:  # He init: PyTorch's default shrinks the signal ~3x per ReLU layer
            if isinstance(layer, nn.Conv2d):
                nn.init.kaiming_normal_(layer.weight, nonlinearity="relu")
        last = nn.Conv2d(w, 4 * c, 3, padding=1)
        nn.init.zeros_(last.weight)  # start at the identity (the decoded JPEG), not 20 dB below it;
        nn.init.zeros_(last.bias)    # with He init and BN above, its gradient is not zero
        layers.append(last)
        self.model = nn.Sequential(*layers)

    @property
    def in_channels(self) -> int:
        return self.config.in_channels

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + F.pixel_shuffle(self.model(F.pixel_unshuffle(x, 2)), 2)

    @property
    def receptive_radius(self) -> int:
        return 2 * self.config.depth
