"""A small mask-aware inpainting network with gated convolutions (Yu et al., 2019, "Free-Form
Image Inpainting with Gated Convolution"), coarse network only.

Inputs: image (N, C, H, W) float in [0, 1] and mask (N, 1, H, W) float, 1 = missing.  The holes
are zeroed and the mask appended as a channel; an encoder (two stride-2 gated convs), dilated
gated convs, and a decoder (nearest upsampling + gated convs) predict the image; the output is
composed with the input (holes from the net, the rest as given).  H and W: multiples of 4.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn
from torch.nn import functional as F


@dataclass(frozen=True)
class GatedInpaintConfig:
    in_channels: int = 3
    width: int = 32               # channels of the first level (doubled at each stride-2 level)
    dilations: tuple[int, ...] = (2, 4, 8)  # dilated gated convs at the bottleneck


class GatedConv2d(nn.Module):
    """y = ELU(conv_f(x)) * sigmoid(conv_g(x)): a learned soft mask per pixel and channel."""

    def __init__(self, cin: int, cout: int, kernel: int = 3, stride: int = 1, dilation: int = 1,
                 activation: bool = True):
        super().__init__()
        pad = dilation * (kernel - 1) // 2
        self.conv = nn.Conv2d(cin, 2 * cout, kernel, stride=stride, padding=pad, dilation=dilation)
        self.activation = activation

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        feature, gate = self.conv(x).chunk(2, dim=1)
        if self.activation:
            feature = F.elu(feature)
        return feature * torch.sigmoid(gate)


class GatedInpaint(nn.Module):
    """GatedInpaint(config): (image, mask) -> filled image, same shape as image."""

    name = "gated_inpaint"
    task = "inpaint"
    noise_input = False
    size_multiple = 4

    def __init__(self, config: GatedInpaintConfig = GatedInpaintConfig()):
        super().__init__()
        if config.width < 1 or not config.dilations or min(config.dilations) < 1:
            raise ValueError(f"GatedInpaint needs width >= 1 and dilations >= 1, got {config}")
        self.config = config
        c, w = config.in_channels, config.width
        self.encoder = nn.Sequential(
            GatedConv2d(c + 1, w, 5), GatedConv2d(w, 2 * w, 3, stride=2),
            GatedConv2d(2 * w, 4 * w, 3, stride=2))
        self.middle = nn.Sequential(*[GatedConv2d(4 * w, 4 * w, 3, dilation=d) for d in config.dilations])
        self.up1 = GatedConv2d(4 * w, 2 * w)
        self.up2 = GatedConv2d(2 * w, w)
        self.out = GatedConv2d(w, c, 3, activation=False)

    @property
    def in_channels(self) -> int:
        return self.config.in_channels

    def forward(self, image: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        known = 1 - mask
        x = torch.cat([image * known, mask], dim=1)
        x = self.middle(self.encoder(x))
        x = self.up1(F.interpolate(x, scale_factor=2.0, mode="nearest"))
        x = self.up2(F.interpolate(x, scale_factor=2.0, mode="nearest"))
        predicted = self.out(x)
        return image * known + predicted * mask

    @property
    def receptive_radius(self) -> int:
        return 2 + 4 * (1 + sum(self.config.dilations)) + 6
