"""VAE (Kingma & Welling, 2014): a conv encoder to mean / log-variance, a conv decoder back.

Encoder: (N, C, size, size) in [0, 1] -> k stride-2 4x4 convs (LeakyReLU 0.2; channels width,
2 width, ...) down to 4x4 -> flatten -> two linear heads: mean and log-variance (N, latent).
Decoder: (N, latent) -> linear to a 4x4 map -> k stride-2 transposed convs (ReLU) -> sigmoid:
(N, C, size, size) in [0, 1], read as the means of independent Bernoulli pixels (the loss is
binary cross-entropy).  Reparameterisation: z = mean + exp(logvar / 2) * eps.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from .dcgan import LatentImageModel, _levels


@dataclass(frozen=True)
class VAEConfig:
    in_channels: int = 1
    image_size: int = 32     # a power of two >= 8
    latent: int = 32
    width: int = 32


class Encoder(nn.Module):
    """(N, C, size, size) in [0, 1] -> (mean, logvar), each (N, latent)."""

    def __init__(self, config: VAEConfig):
        super().__init__()
        k, w = _levels(config.image_size), config.width
        chans = [config.in_channels] + [w * 2**i for i in range(k)]
        layers: list[nn.Module] = []
        for a, b in zip(chans, chans[1:]):
            layers += [nn.Conv2d(a, b, 4, 2, 1), nn.LeakyReLU(0.2, True)]
        self.net = nn.Sequential(*layers, nn.Flatten())
        self.mean = nn.Linear(chans[-1] * 16, config.latent)
        self.logvar = nn.Linear(chans[-1] * 16, config.latent)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = self.net(x)
        return self.mean(h), self.logvar(h)


class Decoder(nn.Module):
    """(N, latent) -> (N, C, size, size) in [0, 1] (sigmoid of the logits)."""

    def __init__(self, config: VAEConfig):
        super().__init__()
        k, w = _levels(config.image_size), config.width
        chans = [w * 2**i for i in reversed(range(k))]
        self.top = chans[0]
        self.fc = nn.Linear(config.latent, chans[0] * 16)
        layers: list[nn.Module] = [nn.ReLU(True)]
        for a, b in zip(chans, chans[1:]):
            layers += [nn.ConvTranspose2d(a, b, 4, 2, 1), nn.ReLU(True)]
        layers.append(nn.ConvTranspose2d(chans[-1], config.in_channels, 4, 2, 1))
        self.net = nn.Sequential(*layers)

    def logits(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(self.fc(z).reshape(z.shape[0], self.top, 4, 4))

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.logits(z))


class VAE(LatentImageModel):
    """``encoder`` and ``decoder`` (each exported); forward(x) -> (decoder logits, mean, logvar)."""

    name = "vae"
    task = "vae"
    value_range = (0.0, 1.0)

    def __init__(self, config: VAEConfig = VAEConfig()):
        super().__init__()
        _levels(config.image_size)
        self.config = config
        self.encoder = Encoder(config)
        self.decoder = Decoder(config)

    def forward(self, x: torch.Tensor, eps: torch.Tensor | None = None):
        mean, logvar = self.encoder(x)
        z = mean if eps is None else mean + torch.exp(0.5 * logvar) * eps
        return self.decoder.logits(z), mean, logvar
