"""Image processors built from the options the CLI takes: a model or a classical denoiser.

A processor is a callable ``list[ndarray] -> list[ndarray]`` over HWC images (uint8, uint16 or
float32 in [0, 1]) that keeps each image's dtype.  It pickles as its options alone and loads its
model again on first use after unpickling, so a worker process can rebuild it once per worker.
"""
from __future__ import annotations

import logging
import math
import os
from dataclasses import dataclass
from typing import Sequence

import numpy as np

from ._validate import image_max
from .denoise import WAVELETS
from .errors import ImgenError
from .model_info import IMAGE_TASKS

log = logging.getLogger("imgen")

METHODS = ("bm3d", "wavelet")
STAGES = ("both", "hard")
THRESHOLDS = ("bayes", "visu")
MODES = ("soft", "hard")


@dataclass(frozen=True)
class ProcessorOptions:
    """What to run on each image; the fields mirror `imgen video` / `imgen denoise` options.

    model: an .onnx file or a shipped model name; or method: "bm3d" / "wavelet" (exactly one).
    sigma: noise level on the 0-255 scale whatever the image dtype (None = estimated per image).
    tile / overlap / providers / threads: as `imgen.load` and `Model.__call__` (model only;
        threads are onnxruntime's; the classical denoisers use `imgen.set_num_threads`).
    stage: BM3D stages ("both" or "hard").  wavelet / levels / threshold / mode / shifts: the
        wavelet denoiser's basis, decomposition levels, "bayes"/"visu", "soft"/"hard" and
        cycle-spinning shifts.
    color_order: channel order of the images, "rgb" (video frames) or "bgr" (OpenCV files).
    per_channel: a 1-channel model on colour images runs on each colour channel separately and
        keeps the colour (True), or converts the images to gray (False, as `imgen denoise`).
    """

    model: str | None = None
    method: str | None = None
    sigma: float | None = None
    tile: int | None = None
    overlap: int | None = None
    providers: tuple[str, ...] | None = None
    threads: int | None = None
    stage: str = "both"
    wavelet: str = "db1"
    levels: int | None = None
    threshold: str = "bayes"
    mode: str = "soft"
    shifts: int = 1
    color_order: str = "rgb"
    per_channel: bool = True

    def __post_init__(self):
        if (self.model is None) == (self.method is None):
            raise ImgenError("give either a model or a method (bm3d or wavelet), not both or neither")
        if self.method is not None and self.method not in METHODS:
            raise ImgenError(f"method must be one of {', '.join(METHODS)}, got {self.method!r}")
        if self.sigma is not None and not (math.isfinite(self.sigma) and self.sigma >= 0):
            raise ImgenError(f"sigma must be a finite number >= 0, got {self.sigma}")
        for name, value, allowed in (("stage", self.stage, STAGES), ("wavelet", self.wavelet, WAVELETS),
                                     ("threshold", self.threshold, THRESHOLDS), ("mode", self.mode, MODES),
                                     ("color_order", self.color_order, ("rgb", "bgr"))):
            if value not in allowed:
                raise ImgenError(f"{name} must be one of {', '.join(allowed)}, got {value!r}")
        for name, value, least in (("levels", self.levels, 1), ("shifts", self.shifts, 1), ("tile", self.tile, 0),
                                   ("overlap", self.overlap, 0), ("threads", self.threads, 0)):
            if value is not None and not value >= least:
                raise ImgenError(f"{name} must be >= {least}, got {value}")
        if self.providers is not None and not isinstance(self.providers, tuple):
            object.__setattr__(self, "providers", tuple(self.providers))
        if self.model is not None:
            object.__setattr__(self, "model", os.fspath(self.model))


class FrameProcessor:
    """A picklable ``list[ndarray] -> list[ndarray]`` built from :class:`ProcessorOptions`.

    Images are HWC (H, W) or (H, W, C) uint8 / uint16 / float32 in [0, 1]; outputs keep each
    input's dtype, are scaled by ``scale`` (models with a scale factor) and keep gray/colour
    as the input had it (see ``per_channel``).  Pickling keeps the options only; the model is
    loaded again on the first call in the new process.
    """

    def __init__(self, options: ProcessorOptions, *, model=None):
        """model: an already loaded `imgen.Model` for ``options.model`` (else it is loaded now)."""
        self.options = options
        self._model = None
        if options.model is not None:
            if model is not None:
                self._check(model)
                self._model = model
            else:
                self._load()
        elif model is not None:
            raise ImgenError("a loaded model was given for a classical-denoiser processor")

    # -- state ----------------------------------------------------------------------------

    def __getstate__(self) -> dict:
        return {"options": self.options}

    def __setstate__(self, state: dict) -> None:
        self.options = state["options"]
        self._model = None

    def __repr__(self) -> str:
        what = f"model={self.options.model!r}" if self.options.model else f"method={self.options.method!r}"
        return f"FrameProcessor({what}, sigma={self.options.sigma})"

    def _load(self):
        from .engine import load

        opts = self.options
        model = load(opts.model, providers=list(opts.providers) if opts.providers else None, threads=opts.threads)
        self._check(model)
        self._model = model
        return model

    def _check(self, model) -> None:
        if model.info.task not in IMAGE_TASKS:
            raise ImgenError(f"{self.options.model} is a {model.info.task} model; a processor needs an "
                             f"image-to-image model ({', '.join(IMAGE_TASKS)})")
        if self.options.sigma is not None and model.info.noise_input is None:
            raise ImgenError(f"sigma given, but model {model.name} has no noise-level input")

    @property
    def model(self):
        """The loaded `imgen.Model`, or None for a classical denoiser."""
        if self.options.model is None:
            return None
        return self._model if self._model is not None else self._load()

    @property
    def name(self) -> str:
        """The model's name or the method, for progress bars and logs."""
        return self.model.name if self.options.model is not None else self.options.method

    @property
    def scale(self) -> int:
        """How much the processor enlarges images (1 for denoisers; a model's scale, if known)."""
        model = self.model
        return int(model.info.scale or 1) if model is not None else 1

    # -- processing -----------------------------------------------------------------------

    def __call__(self, images: Sequence[np.ndarray]) -> list[np.ndarray]:
        if not isinstance(images, (list, tuple)):
            raise TypeError(f"a processor takes a list of HWC images, got {type(images).__name__}")
        if not images:
            return []
        if self.options.model is not None:
            return self._run_model(list(images))
        return [self._run_classical(img) for img in images]

    def _sigma(self, image: np.ndarray) -> float | None:
        s = self.options.sigma
        return None if s is None else s / 255.0 * image_max(image.dtype)

    def _run_model(self, images: list[np.ndarray]) -> list[np.ndarray]:
        model, opts = self.model, self.options
        kwargs = {}
        planes = opts.per_channel and model.info.channels == 1 and any(_channels(i) > 1 for i in images)
        work = [_split_channels(img) for img in images] if planes else [[img] for img in images]
        flat = [p for group in work for p in group]
        if model.info.noise_input is not None and opts.sigma is not None:
            kwargs["sigma"] = [self._sigma(p) for p in flat]
        outs = model(flat, tile=opts.tile, overlap=opts.overlap, color_order=opts.color_order,
                     convert_channels=True, **kwargs)
        if not planes:
            return outs
        result, k = [], 0
        for img, group in zip(images, work):
            result.append(_merge_channels(outs[k:k + len(group)], img))
            k += len(group)
        return result

    def _run_classical(self, image: np.ndarray) -> np.ndarray:
        from . import denoise

        opts = self.options
        work, alpha = _colour_view(image, opts.color_order)
        sigma = self._sigma(image)
        if opts.method == "wavelet":
            out = denoise.wavelet(work, sigma=sigma, wavelet=opts.wavelet, levels=opts.levels,
                                  method=opts.threshold, mode=opts.mode, shifts=opts.shifts)
        else:
            out = denoise.bm3d(work, sigma=sigma, stage=opts.stage)
        return _restore_colour(out, alpha, opts.color_order)


def make_processor(
    *,
    model: str | os.PathLike | None = None,
    method: str | None = None,
    sigma: float | None = None,
    tile: int | None = None,
    overlap: int | None = None,
    providers: Sequence[str] | None = None,
    threads: int | None = None,
    stage: str = "both",
    wavelet: str = "db1",
    levels: int | None = None,
    threshold: str = "bayes",
    mode: str = "soft",
    shifts: int = 1,
    color_order: str = "rgb",
    per_channel: bool = True,
) -> FrameProcessor:
    """Build a processor (``list[ndarray] -> list[ndarray]``) from the CLI's options.

    Exactly one of model (an .onnx path or shipped model name; any image-to-image model,
    upscalers included) and method ("bm3d" or "wavelet").  sigma is on the 0-255 scale
    whatever the images' dtype; None estimates it per image.  The other fields are those of
    :class:`ProcessorOptions`.  The model is loaded now, so a bad path or a sigma for a model
    without a noise input raises ImgenError / ModelError here, not on the first frame.  The
    result pickles as its options (a worker process reloads the model on first use).
    """
    options = ProcessorOptions(
        model=None if model is None else os.fspath(model), method=method, sigma=sigma, tile=tile,
        overlap=overlap, providers=None if providers is None else tuple(providers), threads=threads,
        stage=stage, wavelet=wavelet, levels=levels, threshold=threshold, mode=mode, shifts=shifts,
        color_order=color_order, per_channel=per_channel,
    )
    return FrameProcessor(options)


# -- channel helpers ---------------------------------------------------------------------------

def _channels(image: np.ndarray) -> int:
    return 1 if image.ndim == 2 else image.shape[2]


def _split_channels(image: np.ndarray) -> list[np.ndarray]:
    """Colour channels of an HWC image as contiguous 2-D planes (alpha left out)."""
    if image.ndim == 2:
        return [image]
    n = min(image.shape[2], 3)
    return [np.ascontiguousarray(image[..., c]) for c in range(n)]


def _merge_channels(planes: list[np.ndarray], original: np.ndarray) -> np.ndarray:
    if original.ndim == 2:
        return planes[0]
    out = np.stack([p if p.ndim == 2 else p[..., 0] for p in planes], axis=2)
    if original.shape[2] == 4:
        import cv2

        alpha = original[..., 3]
        if alpha.shape != out.shape[:2]:
            alpha = cv2.resize(alpha, (out.shape[1], out.shape[0]), interpolation=cv2.INTER_LINEAR)
        out = np.dstack([out, alpha])
    return out


def _colour_view(image: np.ndarray, color_order: str) -> tuple[np.ndarray, np.ndarray | None]:
    """(RGB or gray image for a classical denoiser, alpha or None)."""
    if image.ndim == 2 or image.shape[2] == 1:
        return image, None
    alpha = image[..., 3] if image.shape[2] == 4 else None
    if color_order == "bgr":
        return np.ascontiguousarray(image[..., 2::-1]), alpha
    return (np.ascontiguousarray(image[..., :3]) if alpha is not None else image), alpha


def _restore_colour(out: np.ndarray, alpha: np.ndarray | None, color_order: str) -> np.ndarray:
    if out.ndim == 2 or out.shape[2] == 1:
        return out
    if color_order == "bgr":
        out = out[..., ::-1]
    if alpha is not None:
        out = np.dstack([out, alpha])
    return np.ascontiguousarray(out)
