"""Classical denoisers: plain functions over HWC numpy images."""
from __future__ import annotations

from ._sigma import estimate_sigma

__all__ = ["estimate_sigma"]
