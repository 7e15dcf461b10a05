"""DeblurNet: a small three-scale U-Net for blind deblurring (task ``deblur``).

Blur kernels span up to 25 px, and undoing them needs a wider view still, so the network works
on the 2x pixel-unshuffled image (1/2 scale), then 1/4 and 1/8 (strided 3x3 convs), where
``depth`` dilated 3x3 convs (dilations 1, 2, 2, 1, ...) see far at little cost; it comes back up
with pixel shuffles and additive skips, and predicts a correction added to its input.
``size_multiple`` is 8 (three halvings); tiles start on that grid, so a tile computes exactly
what the whole image does wherever its view stays inside the tile.
Input/output (N, C, H, W) float in [0, 1], H and W multiples of 8 (imgen pads).
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn
from torch.nn import functional as F


@dataclass(frozen=True)
class DeblurNetConfig:
    in_channels: int = 1
    depth: int = 4           # dilated convs at 1/8 scale
    width: int = 20          # channels at 1/2 scale (2x at 1/4, 4x at 1/8)


def _dilations(depth: int) -> list[int]:
    pattern = (1, 2, 2, 1)
    return [pattern[k % len(pattern)] for k in range(depth)]


def _conv(cin: int, cout: int, stride: int = 1, dilation: int = 1) -> nn.Conv2d:
    conv = nn.Conv2d(cin, cout, 3, stride=stride, padding=dilation, dilation=dilation)
    nn.init.kaiming_normal_(conv.weight, nonlinearity="relu")  # PyTorch's default shrinks the signal
    nn.init.zeros_(conv.bias)
    return conv


def _block(*convs: nn.Conv2d) -> nn.Sequential:
    layers: list[nn.Module] = []
    for conv in convs:
        layers += [conv, nn.ReLU(inplace=True)]
    return nn.Sequential(*layers)


class DeblurNet(nn.Module):
    """DeblurNet(config): (N, C, H, W) blurred -> (N, C, H, W) restored."""

    name = "deblurnet"
    task = "deblur"
    noise_input = False
    size_multiple = 8
    tile = 1024

    def __init__(self, config: DeblurNetConfig = DeblurNetConfig()):
        super().__init__()
        if config.depth < 1 or config.width < 4:
            raise ValueError(f"DeblurNet needs depth >= 1 and width >= 4, got {config.depth} and {config.width}")
        self.config = config
        c, w = config.in_channels, config.width
        self.enc1 = _block(_conv(4 * c, w), _conv(w, w))                       # 1/2
        self.enc2 = _block(_conv(w, 2 * w, stride=2), _conv(2 * w, 2 * w))     # 1/4
        self.bottom = _block(_conv(2 * w, 4 * w, stride=2),                    # 1/8
                             *(_conv(4 * w, 4 * w, dilation=d) for d in _dilations(config.depth)))
        self.up2 = _conv(4 * w, 4 * 2 * w)
        self.dec2 = _block(_conv(2 * w, 2 * w))
        self.up1 = _conv(2 * w, 4 * w)
        self.dec1 = _block(_conv(w, w))
        self.tail = nn.Conv2d(w, 4 * c, 3, padding=1)
        nn.init.normal_(self.tail.weight, std=1e-3)
        nn.init.zeros_(self.tail.bias)

    @property
    def in_channels(self) -> int:
        return self.config.in_channels

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        e1 = self.enc1(F.pixel_unshuffle(x, 2))
        e2 = self.enc2(e1)
        b = self.bottom(e2)
        d2 = self.dec2(F.pixel_shuffle(self.up2(b), 2) + e2)
        d1 = self.dec1(F.pixel_shuffle(self.up1(d2), 2) + e1)
        return x + F.pixel_shuffle(self.tail(d1), 2)

    @property
    def receptive_radius(self) -> int:
        """Pixels one output pixel sees on each side (an upper bound, layer by layer)."""
        # 1/2 scale: enc1 2 convs, dec1 1, tail 1, up1 reads 1/4 (x4); 1/4: stride conv of enc2
        # (x2), enc2 conv, dec2, up2 reads 1/8 (x8); 1/8: bottom's stride conv reads 1/4 (x4)
        # plus up to 7 for where a pixel sits on the 8-pixel grid of the coarsest scale
        return 2 * 2 + 2 * 2 + 2 + 4 + 4 + 4 + 8 + 4 + 8 * sum(_dilations(self.config.depth)) + 2 + 7

    @property
    def tile_overlap(self) -> int:
        """A seam-free overlap (imgen weights only the inner three quarters of it), multiple of 8."""
        need = 4 * (self.receptive_radius + 1)
        return -(-need // 8) * 8
