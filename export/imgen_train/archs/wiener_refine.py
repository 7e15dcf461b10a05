"""WienerRefine: non-blind deblurring as a correction of Wiener's output (task ``deblur``).

The kernel is known, so Wiener deconvolution (``imgen.restoration.wiener``, the kernel and its
``balance``) does the inversion; what it leaves — amplified noise, ringing along edges and at the
kernel's spectral zeros — is local and kernel-shaped, and this network (DeJpeg's residual stack on
the 2x pixel-unshuffled image, ``size_multiple`` 2) learns to remove it, for any kernel of the
training family.  It is trained by task ``deblur_wiener`` and run by the registry's ``wiener_net``
method, which feeds it Wiener's output at the config's ``wiener_balance`` (in the exported
metadata, ``imgen.wiener_balance``) clipped to [0, 1].  A balance below Wiener's best alone keeps
more detail for the network, at more noise for it to remove.
Input/output (N, C, H, W) float in [0, 1], H and W even (imgen pads).
"""
from __future__ import annotations

from dataclasses import dataclass

from .dejpeg import DeJpeg, DeJpegConfig


@dataclass(frozen=True)
class WienerRefineConfig(DeJpegConfig):
    wiener_balance: float = 0.01  # Wiener's balance for its input (imgen.restoration.wiener; its default)


class WienerRefine(DeJpeg):
    """WienerRefine(config): (N, C, H, W) Wiener output -> (N, C, H, W) restored."""

    name = "wiener_refine"
    task = "deblur"               # what the exported graph does (its metadata)
    train_task = "deblur_wiener"  # how it is trained: on Wiener's output with the true kernel
    size_multiple = 2
    def __init__(self, config: WienerRefineConfig | None = None):
        config = config if config is not None else WienerRefineConfig()
        if not 0 < config.wiener_balance <= 1000:
            raise ValueError(f"wiener_balance must be in (0, 1000], got {config.wiener_balance}")
        super().__init__(config)
        self.wiener_balance = float(config.wiener_balance)

    @property
    def graph_extra(self) -> dict[str, str]:
        """Metadata: the graph's input is Wiener's output at this balance (``wiener_net`` reads both)."""
        return {"input_from": "wiener", "wiener_balance": repr(self.wiener_balance)}

