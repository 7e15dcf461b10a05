"""CycleGAN (Zhu et al., 2017): ResNet generators and 70x70 PatchGAN discriminators.

Generator (Johnson et al.'s layout): 7x7 conv (reflection pad) -> two stride-2 3x3 convs
(width, 2 width, 4 width) -> ``depth`` residual blocks -> two x2 upsamplings (``upsample``) -> 7x7
conv -> tanh (or, with ``residual``, clamp(x + that conv's output, -1, 1), initialised to the
identity: for translations that change colours more than content).  ``norm`` (instance norm, as in the paper; or batch or none) + ReLU after every conv
but the last.  Instance norm makes the output depend on each input's (tile's) statistics and hides
a flat patch's absolute colour; "none" keeps the generator a plain convolution (tile-safe).  (N, C, H, W) in [-1, 1] ->
the same shape; H and W must be multiples of 4 (imgen pads: size_multiple = 4).
Upsampling (``upsample``): ``transposed`` (the paper's 3x3 stride-2 transposed convs; their uneven
kernel overlap paints a checkerboard, Odena et al. 2016), ``resize`` (nearest-neighbour x2 then a 3x3
conv: resize-convolution) or ``pixelshuffle`` (a 3x3 conv to 4x the channels, then sub-pixel shuffle,
ICNR-initialised).  With resize-convolution and no normalisation a constant image maps to a constant
image (away from the borders): no checkerboard, whatever the weights.
Discriminator (PatchGAN, 70x70 receptive field with the paper's 3 stride-2 layers): 4x4 convs
width, 2w, 4w (stride 2), 8w (stride 1), then a 1-channel 4x4 conv: one real/fake score per patch.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn


@dataclass(frozen=True)
class CycleGANConfig:
    in_channels: int = 3
    width: int = 32          # generator's first-layer channels (paper: 64)
    depth: int = 6           # residual blocks (paper: 9 at 256x256, 6 at 128x128)
    disc_width: int = 64     # discriminator's first-layer channels (paper: 64)
    norm: str = "instance"   # generator normalisation: instance (paper) | batch | none
    residual: bool = False   # generator output = clamp(input + net(input)), starting at the identity (not in the paper)
    upsample: str = "transposed"  # transposed (paper; checkerboard) | resize | pixelshuffle


NORMS = ("instance", "batch", "none")
UPSAMPLES = ("transposed", "resize", "pixelshuffle")


def _up(a: int, b: int, kind: str) -> list[nn.Module]:
    """x2 upsampling from ``a`` to ``b`` channels (no norm, no activation)."""
    if kind == "resize":
        return [nn.Upsample(scale_factor=2, mode="nearest"), nn.ReflectionPad2d(1), nn.Conv2d(a, b, 3)]
    if kind == "pixelshuffle":
        return [nn.ReflectionPad2d(1), nn.Conv2d(a, 4 * b, 3), nn.PixelShuffle(2)]
    return [nn.ConvTranspose2d(a, b, 3, 2, 1, output_padding=1)]


def _norm(c: int, kind: str = "instance") -> nn.Module:
    if kind == "batch":
        return nn.BatchNorm2d(c)
    if kind == "none":
        return nn.Identity()
    return nn.InstanceNorm2d(c, affine=False, track_running_stats=False)


class ResBlock(nn.Module):
    def __init__(self, c: int, norm: str = "instance"):
        super().__init__()
        self.body = nn.Sequential(nn.ReflectionPad2d(1), nn.Conv2d(c, c, 3), _norm(c, norm), nn.ReLU(True),
                                  nn.ReflectionPad2d(1), nn.Conv2d(c, c, 3), _norm(c, norm))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


class ResnetGenerator(nn.Module):
    """(N, C, H, W) in [-1, 1], H and W multiples of 4 -> (N, C, H, W) in [-1, 1]."""

    def __init__(self, c: int, w: int, blocks: int, norm: str = "instance", residual: bool = False,
                 upsample: str = "transposed"):
        super().__init__()
        self.residual = residual
        layers: list[nn.Module] = [nn.ReflectionPad2d(3), nn.Conv2d(c, w, 7), _norm(w, norm), nn.ReLU(True)]
        for m in (1, 2):
            layers += [nn.Conv2d(w * m, w * m * 2, 3, 2, 1), _norm(w * m * 2, norm), nn.ReLU(True)]
        layers += [ResBlock(4 * w, norm) for _ in range(blocks)]
        for m in (4, 2):
            layers += [*_up(w * m, w * m // 2, upsample), _norm(w * m // 2, norm), nn.ReLU(True)]
        layers += [nn.ReflectionPad2d(3), nn.Conv2d(w, c, 7)]
        if not residual:
            layers.append(nn.Tanh())
        self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.residual:
            return (x + self.net(x)).clamp(-1, 1)
        return self.net(x)


def _next(seq: nn.Sequential, module: nn.Module) -> nn.Module | None:
    """The layer after ``module`` in ``seq`` (None if last or absent)."""
    layers = list(seq)
    for k, m in enumerate(layers[:-1]):
        if m is module:
            return layers[k + 1]
    return None


class PatchDiscriminator(nn.Module):
    """(N, C, H, W) in [-1, 1] -> (N, 1, H/8 - 2, W/8 - 2) scores (least-squares: real 1, fake 0)."""

    def __init__(self, c: int, w: int):
        super().__init__()
        layers: list[nn.Module] = [nn.Conv2d(c, w, 4, 2, 1), nn.LeakyReLU(0.2, True)]
        for a, b, stride in ((w, 2 * w, 2), (2 * w, 4 * w, 2), (4 * w, 8 * w, 1)):
            layers += [nn.Conv2d(a, b, 4, stride, 1), _norm(b), nn.LeakyReLU(0.2, True)]
        layers.append(nn.Conv2d(8 * w, 1, 4, 1, 1))
        self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


class CycleGAN(nn.Module):
    """Generators ``g_ab``, ``g_ba`` (exported) and discriminators ``d_a``, ``d_b`` (training only)."""

    name = "cyclegan"
    task = "cyclegan"
    value_range = (-1.0, 1.0)
    size_multiple = 4

    def __init__(self, config: CycleGANConfig = CycleGANConfig()):
        super().__init__()
        if config.depth < 0 or config.width < 1:
            raise ValueError(f"CycleGAN needs depth >= 0 and width >= 1, got {config.depth}, {config.width}")
        if config.norm not in NORMS:
            raise ValueError(f"CycleGAN norm must be one of {', '.join(NORMS)}, got {config.norm!r}")
        if config.upsample not in UPSAMPLES:
            raise ValueError(f"CycleGAN upsample must be one of {', '.join(UPSAMPLES)}, got {config.upsample!r}")
        self.config = config
        c = config.in_channels
        gen = (c, config.width, config.depth, config.norm, config.residual, config.upsample)
        self.g_ab, self.g_ba = ResnetGenerator(*gen), ResnetGenerator(*gen)
        self.d_a = PatchDiscriminator(c, config.disc_width)
        self.d_b = PatchDiscriminator(c, config.disc_width)
        # The paper's N(0, 0.02) initialisation relies on normalisation layers to restore the scale;
        # without them (norm="none") it shrinks the signal ~4x per conv and the ReLUs die, so such
        # generators get He initialisation (variance-preserving through ReLUs) instead.
        for net in (self.g_ab, self.g_ba, self.d_a, self.d_b):
            he = config.norm == "none" and net in (self.g_ab, self.g_ba)
            for m in net.modules():
                if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)):
                    if he:
                        nn.init.kaiming_normal_(m.weight, nonlinearity="relu")
                    else:
                        nn.init.normal_(m.weight, 0.0, 0.02)
                    nn.init.zeros_(m.bias)
        if config.upsample == "pixelshuffle":  # ICNR (Aitken et al. 2017): the 4 sub-pixels of a channel
            for g in (self.g_ab, self.g_ba):  # start with one kernel, so the shuffle starts checkerboard-free
                for m in g.modules():
                    if isinstance(m, nn.Conv2d) and isinstance(_next(g.net, m), nn.PixelShuffle):
                        m.weight.data.copy_(m.weight.data[0::4].repeat_interleave(4, dim=0))
                        m.bias.data.copy_(m.bias.data[0::4].repeat_interleave(4, dim=0))
        if config.residual:  # the generators start as the identity map
            for g in (self.g_ab, self.g_ba):
                nn.init.zeros_(g.net[-1].weight)

    @property
    def tile_safe(self) -> bool:
        """Without instance norm the generators are plain convolutions: tiles blend without seams."""
        return self.config.norm != "instance"

    @property
    def in_channels(self) -> int:
        return self.config.in_channels

    @property
    def receptive_radius(self) -> int:
        # 7x7 + 2 downs + 2 convs per block at 1/4 resolution + 2 ups (sub-pixel: its convs run at 1/4 and 1/2) + 7x7
        ups = 6 if self.config.upsample == "pixelshuffle" else 4
        return 3 + 2 + 4 * (2 * self.config.depth) + ups + 3

    def forward(self, a: torch.Tensor) -> torch.Tensor:
        return self.g_ab(a)
