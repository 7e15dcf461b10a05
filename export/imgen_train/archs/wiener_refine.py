"""WienerRefine: non-blind deblurring as a correction of Wiener's output (task ``deblur``).

The kernel is known, so Wiener deconvolution (``imgen.restoration.wiener``, the kernel and its
``balance``) does the inversion; what it leaves — amplified noise, ringing along edges and at the
kernel's spectral zeros — is local and kernel-shaped, and this network (DeJpeg's residual stack on
the 2x pixel-unshuffled image, ``size_multiple`` 2) learns to remove it, for any kernel of the
training family.  It is trained by task ``deblur_wiener`` and run by the registry's ``wiener_net``
method, which feeds it Wiener's output clipped to [0, 1].
Input/output (N, C, H, W) float in [0, 1], H and W even (imgen pads).
"""
from __future__ import annotations

from .dejpeg import DeJpeg, DeJpegConfig


class WienerRefine(DeJpeg):
    """WienerRefine(config): (N, C, H, W) Wiener output -> (N, C, H, W) restored."""

    name = "wiener_refine"
    task = "deblur"               # what the exported graph does (its metadata)
    train_task = "deblur_wiener"  # how it is trained: on Wiener's output with the true kernel
    size_multiple = 2
    #: metadata: the graph's input is Wiener's output (the ``wiener_net`` method checks it)
    graph_extra = {"input_from": "wiener"}


WienerRefineConfig = DeJpegConfig
