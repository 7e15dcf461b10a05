"""Tests-only stand-in for the two torchvision functions spandrel imports (tests/stubs/README.md)."""
from __future__ import annotations

from enum import Enum

import torch


class InterpolationMode(Enum):
    NEAREST = "nearest"
    BILINEAR = "bilinear"
    BICUBIC = "bicubic"


def normalize(tensor: torch.Tensor, mean, std, inplace: bool = False) -> torch.Tensor:
    """(tensor - mean) / std per channel of a (..., C, H, W) tensor, as torchvision's."""
    mean = torch.as_tensor(mean, dtype=tensor.dtype, device=tensor.device).view(-1, 1, 1)
    std = torch.as_tensor(std, dtype=tensor.dtype, device=tensor.device).view(-1, 1, 1)
    return tensor.sub_(mean).div_(std) if inplace else (tensor - mean) / std


def rotate(img: torch.Tensor, angle, interpolation=InterpolationMode.NEAREST, expand: bool = False,
           center=None, fill=None) -> torch.Tensor:
    """Counter-clockwise rotation by a multiple of 90 degrees (exact); other angles are not covered."""
    angle = float(angle)
    if angle % 90 != 0 or expand or center is not None:
        raise NotImplementedError("the tests' torchvision stand-in rotates by multiples of 90 degrees only")
    return torch.rot90(img, int(angle // 90) % 4, dims=(-2, -1))
