"""DCGAN (Radford et al., 2016): a transposed-conv generator and a conv discriminator with batch norm.

Generator: latent z (N, latent) -> a 4x4 map of ``width * 2**(k-1)`` channels (k = log2(size/4))
-> k stride-2 transposed convs (batch norm + ReLU between), halving the channels each time ->
tanh: (N, C, size, size) in [-1, 1].  Discriminator: the mirror image (stride-2 convs, batch norm
from the second layer, LeakyReLU 0.2) down to 4x4, then a 4x4 conv to one logit per image.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn


@dataclass(frozen=True)
class DCGANConfig:
    in_channels: int = 1     # image channels (1 gray, 3 RGB)
    image_size: int = 32     # a power of two >= 8
    latent: int = 64
    width: int = 32          # channels of the last generator / first discriminator layer


def _levels(size: int) -> int:
    k = int(round(math.log2(size / 4))) if size >= 8 else 0
    if size < 8 or 4 * 2**k != size:
        raise ValueError(f"DCGAN image_size must be a power of two >= 8, got {size}")
    return k


class Generator(nn.Module):
    """(N, latent) float -> (N, C, size, size) in [-1, 1]."""

    def __init__(self, config: DCGANConfig):
        super().__init__()
        k, w = _levels(config.image_size), config.width
        chans = [w * 2**i for i in reversed(range(k))]  # e.g. 128, 64, 32
        layers: list[nn.Module] = [nn.ConvTranspose2d(config.latent, chans[0], 4, 1, 0, bias=False),
                                   nn.BatchNorm2d(chans[0]), nn.ReLU(True)]
        for a, b in zip(chans, chans[1:]):
            layers += [nn.ConvTranspose2d(a, b, 4, 2, 1, bias=False), nn.BatchNorm2d(b), nn.ReLU(True)]
        layers += [nn.ConvTranspose2d(chans[-1], config.in_channels, 4, 2, 1), nn.Tanh()]
        self.net = nn.Sequential(*layers)
        self.latent = config.latent

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(z.reshape(z.shape[0], self.latent, 1, 1))


class Discriminator(nn.Module):
    """(N, C, size, size) in [-1, 1] -> (N,) logits (real > 0)."""

    def __init__(self, config: DCGANConfig):
        super().__init__()
        k, w = _levels(config.image_size), config.width
        chans = [w * 2**i for i in range(k)]  # e.g. 32, 64, 128
        layers: list[nn.Module] = [nn.Conv2d(config.in_channels, chans[0], 4, 2, 1), nn.LeakyReLU(0.2, True)]
        for a, b in zip(chans, chans[1:]):
            layers += [nn.Conv2d(a, b, 4, 2, 1, bias=False), nn.BatchNorm2d(b), nn.LeakyReLU(0.2, True)]
        layers.append(nn.Conv2d(chans[-1], 1, 4, 1, 0))
        self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x).flatten()


def init_dcgan_weights(module: nn.Module) -> None:
    """The paper's initialisation: conv weights N(0, 0.02), batch-norm scales N(1, 0.02)."""
    for m in module.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)):
            nn.init.normal_(m.weight, 0.0, 0.02)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.normal_(m.weight, 1.0, 0.02)
            nn.init.zeros_(m.bias)


class LatentImageModel(nn.Module):
    """Shared by DCGAN and VAE: image channels and latent shape from the config."""

    @property
    def in_channels(self) -> int:
        return self.config.in_channels

    @property
    def latent_shape(self) -> tuple[int, ...]:
        return (self.config.latent,)


class DCGAN(LatentImageModel):
    """The pair trained together: ``generator`` (exported) and ``discriminator`` (training only)."""

    name = "dcgan"
    task = "gan"
    value_range = (-1.0, 1.0)

    def __init__(self, config: DCGANConfig = DCGANConfig()):
        super().__init__()
        _levels(config.image_size)
        self.config = config
        self.generator = Generator(config)
        self.discriminator = Discriminator(config)
        init_dcgan_weights(self)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.generator(z)
