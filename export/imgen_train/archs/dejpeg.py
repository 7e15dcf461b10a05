"""DeJpeg: DnCNN (residual conv stack, see dncnn.py) trained on JPEG round trips (task ``jpeg``),
blind to the quality.  Input/output (N, C, H, W) float in [0, 1]; any H, W."""
from __future__ import annotations

from dataclasses import dataclass

from .dncnn import DnCNN, DnCNNConfig


@dataclass(frozen=True)
class DeJpegConfig(DnCNNConfig):
    depth: int = 12
    width: int = 48


class DeJpeg(DnCNN):
    """DeJpeg(config): (N, C, H, W) decoded JPEG -> (N, C, H, W) restored."""

    name = "dejpeg"
    task = "jpeg"

    def __init__(self, config: DeJpegConfig = DeJpegConfig()):
        super().__init__(config)
