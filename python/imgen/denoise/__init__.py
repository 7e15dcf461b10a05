"""Classical denoisers: plain functions over HWC numpy images."""
from __future__ import annotations

from ._sigma import estimate_sigma
from .bm3d import Bm3dParams, bm3d
from .wavelet import WAVELETS, dwt2, idwt2, wavelet
from .nlm import nlm

__all__ = ["WAVELETS", "Bm3dParams", "bm3d", "dwt2", "estimate_sigma", "idwt2", "nlm", "wavelet"]
