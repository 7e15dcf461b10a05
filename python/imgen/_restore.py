"""``imgen.restore``: one call for every restoration task, classical or learned, on one image."""
from __future__ import annotations

import os

import numpy as np

from ._validate import as_image
from .processors import FrameProcessor, ProcessorOptions


def restore(image: np.ndarray, *, task: str = "denoise", method: str | None = None,
            model: str | os.PathLike | None = None, scale: int | None = None, kernel=None,
            quality: int | None = None, sigma: float | None = None, tile: int | None = None,
            overlap: int | None = None, color_order: str = "rgb", **params) -> np.ndarray:
    """Restore one HWC/HW image (uint8 / uint16 / float32 / float64 in [0, 1]; dtype and layout kept, size
    times ``scale`` for SR).

    task: "sr", "deblur", "jpeg" or "denoise" (``imgen.methods.REGISTRY.tasks()``).  Exactly one of
    method (classical: ``imgen.methods.REGISTRY.names(task)``, e.g. "bicubic", "wiener", "bm3d") and
    model (an .onnx file or shipped name).  scale: SR factor; kernel: blur kernel (name from
    ``imgen.degrade.fixed_kernels`` or a 2-D array); quality: JPEG quality; sigma: noise level (a
    fraction of the full range).  Other keywords are the method's ``Params`` fields (balance,
    iterations, stage, wavelet, ...) or :class:`imgen.processors.ProcessorOptions` fields.  Raises
    ImgenError for options that do not fit.
    """
    double = isinstance(image, np.ndarray) and image.dtype == np.float64
    image = as_image(image)
    for name, value in (("kernel", kernel), ("quality", quality)):
        if value is not None:
            params[name] = value
    options = ProcessorOptions.create(model=None if model is None else os.fspath(model), method=method, task=task,
                                      scale=scale, sigma=sigma, tile=tile, overlap=overlap,
                                      color_order=color_order, **params)
    out = FrameProcessor(options)([image])[0]
    return out.astype(np.float64) if double else out  # float64 in, float64 out, as the model call
