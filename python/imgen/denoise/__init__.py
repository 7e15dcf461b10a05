"""Classical denoisers: plain functions over HWC numpy images."""
from __future__ import annotations

from ._sigma import estimate_sigma
from .bm3d import bm3d

__all__ = ["bm3d", "estimate_sigma"]
