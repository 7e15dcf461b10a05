"""Differentiable augmentation for GANs on little data (DiffAugment: Zhao, Liu, Lin, Zhu, Han,
"Differentiable Augmentation for Data-Efficient GAN Training", NeurIPS 2020).

The same random transforms are applied to real and generated images before the discriminator, so
the discriminator cannot memorise a hundred training images and the generator is not taught the
transforms (augmenting only the real images teaches them: brightness changes of the reals give
low-contrast samples).  Gradients flow through every transform.  Images: (N, C, H, W) float in
[-1, 1]; the transforms follow the paper's reference code:

- color: brightness + U(-0.5, 0.5); saturation x (0-2) around the pixel's channel mean (no-op on
  gray); contrast x (0.5-1.5) around the image mean;
- translation: an integer shift of up to 1/8 of the size in each direction, zeros shifted in;
- cutout: a square of half the size, at a random place, set to zero.
"""
from __future__ import annotations

import torch
from torch.nn import functional as F

POLICIES = ("color", "translation", "cutout")


def parse_policy(text: str) -> tuple[str, ...]:
    """'color,translation,cutout' -> the tuple; '' -> (); ValueError naming an unknown name."""
    names = tuple(p.strip() for p in text.split(",") if p.strip())
    unknown = [n for n in names if n not in POLICIES]
    if unknown:
        raise ValueError(f"--diffaugment: unknown transform(s) {', '.join(unknown)}; choose from {', '.join(POLICIES)}")
    return names


def diff_augment(x: torch.Tensor, policy: tuple[str, ...], generator: torch.Generator) -> torch.Tensor:
    """``x`` with the policy's transforms, in order, each image drawing its own parameters from
    ``generator`` (seeded by the caller: the same seed gives the same transforms)."""
    for name in policy:
        x = _TRANSFORMS[name](x, generator)
    return x


def _uniform(n: int, generator: torch.Generator, like: torch.Tensor) -> torch.Tensor:
    return torch.rand((n, 1, 1, 1), generator=generator).to(dtype=like.dtype, device=like.device)


def _color(x: torch.Tensor, g: torch.Generator) -> torch.Tensor:
    n = x.shape[0]
    x = x + (_uniform(n, g, x) - 0.5)
    mean = x.mean(dim=1, keepdim=True)
    x = (x - mean) * (_uniform(n, g, x) * 2) + mean
    mean = x.mean(dim=(1, 2, 3), keepdim=True)
    return (x - mean) * (_uniform(n, g, x) + 0.5) + mean


def _translation(x: torch.Tensor, g: torch.Generator, ratio: float = 0.125) -> torch.Tensor:
    n, _, h, w = x.shape
    sy, sx = max(1, int(h * ratio + 0.5)), max(1, int(w * ratio + 0.5))
    dy = torch.randint(-sy, sy + 1, (n,), generator=g).tolist()
    dx = torch.randint(-sx, sx + 1, (n,), generator=g).tolist()
    padded = F.pad(x, (sx, sx, sy, sy))
    return torch.stack([padded[k, :, sy - dy[k]:sy - dy[k] + h, sx - dx[k]:sx - dx[k] + w] for k in range(n)])


def _cutout(x: torch.Tensor, g: torch.Generator, ratio: float = 0.5) -> torch.Tensor:
    n, _, h, w = x.shape
    ch, cw = int(h * ratio + 0.5), int(w * ratio + 0.5)
    cy = torch.randint(0, h + (1 - ch % 2), (n,), generator=g)
    cx = torch.randint(0, w + (1 - cw % 2), (n,), generator=g)
    yy = torch.arange(h).view(1, h, 1)
    xx = torch.arange(w).view(1, 1, w)
    y0, x0 = (cy - ch // 2).view(n, 1, 1), (cx - cw // 2).view(n, 1, 1)
    inside = (yy >= y0) & (yy < y0 + ch) & (xx >= x0) & (xx < x0 + cw)
    return x * (~inside).unsqueeze(1).to(dtype=x.dtype, device=x.device)


_TRANSFORMS = {"color": _color, "translation": _translation, "cutout": _cutout}
