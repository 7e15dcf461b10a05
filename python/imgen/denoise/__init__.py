"""Classical denoisers: plain functions over HWC numpy images."""
from __future__ import annotations

from ._sigma import estimate_sigma
from .wavelet import WAVELETS, dwt2, idwt2, wavelet

__all__ = ["WAVELETS", "dwt2", "estimate_sigma", "idwt2", "wavelet"]
