"""Image processors built from the options the CLI takes: a model or a classical denoiser.
``ProcessorOptions`` is an ``imgen.jobs.Job`` and ``FrameProcessor`` an ``imgen.jobs.Processor``.

A processor is a callable ``list[ndarray] -> list[ndarray]`` over HWC images (uint8, uint16 or
float32 in [0, 1]) that keeps each image's dtype.  It pickles as its options alone and loads its
model again on first use after unpickling, so a worker process can rebuild it once per worker.
"""
from __future__ import annotations

import dataclasses
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from ._validate import as_sigma
from .errors import ImgenError
from .image_model import ImageModel
from .jobs import model_ref
from .methods import REGISTRY
from .pixels import channel_count, conversion_note

log = logging.getLogger("imgen")


@dataclass(frozen=True)
class ProcessorOptions:
    """What to run on each image: a model, or a classical method with its ``Params``.

    model: an .onnx file or a shipped model name; or method: a name of ``imgen.methods.REGISTRY``
        for ``task`` (exactly one).  params: the method's ``Params`` (``imgen.methods.params(name,
        task, **values)``; None: its defaults); build from keywords with :meth:`create`.
    task: "denoise" (default), "sr", "deblur" or "jpeg" (``REGISTRY.tasks()``): picks the methods
        allowed, and a model of another restoration task is refused.
    sigma: noise level, a fraction of the full range in [0, 1] whatever the image dtype (25 on
        the 0-255 scale: 25/255; the CLI's --sigma takes 0-255); None = estimated per image.  A
        model's noise-level input, or the method's ``sigma`` param (kept equal to it).
    scale: SR factor (task sr: checked against a model's; the method's ``scale`` param).
    tile / overlap / batch_size / whole_pixels: how a model runs an image (``ImageModel.__call__``).
    providers / threads / info: how a model is opened (``Model.open``: onnxruntime's providers and
        threads, (key, value) metadata entries overriding the file's, the CLI's --info); the classical
        methods use ``imgen.set_num_threads``.
    color_order: channel order of the images, "rgb" (video frames) or "bgr" (OpenCV files).

    A model runs through its own call, ``ImageModel.__call__``, with its default colour policy
    (``color="ycbcr"``): a 1-channel model on colour images keeps the colour, running on the Y, Cb
    and Cr planes (BT.601, full range) separately, a given sigma scaled to each plane's noise level
    (``benchmarks/quality/gray_model_on_colour.py``: this beats running on R, G and B by 0.0 / 0.7 / 0.8 dB
    at sigma 15 / 25 / 50, and luma alone by 6-11 dB); a 1-channel upscaler or a Y model
    (``imgen.color_space`` y) runs on Y only, Cb and Cr enlarged by MATLAB bicubic.  So
    ``imgen.load(m)(img)`` and ``imgen.restore(img, model=m)`` give the same pixels.  Conversions
    are listed in :attr:`FrameProcessor.notes`.
    """

    model: str | None = None
    method: str | None = None
    params: Any = None
    task: str = "denoise"
    sigma: float | None = None
    scale: int | None = None
    tile: int | None = None
    overlap: int | None = None
    batch_size: int | None = None
    whole_pixels: int | None = None
    info: tuple[tuple[str, str], ...] = ()
    providers: tuple[str, ...] | None = None
    threads: int | None = None
    color_order: str = "rgb"

    @classmethod
    def create(cls, *, method: str | None = None, task: str = "denoise", **values: Any) -> "ProcessorOptions":
        """Options from keywords: this class's fields, and the method's ``Params`` fields (``stage``,
        ``shifts``, ``kernel``, ``balance``, ...; ImgenError for one the method does not take)."""
        own = {f.name for f in dataclasses.fields(cls)} - {"params"}
        params = {k: values.pop(k) for k in list(values) if k not in own}
        if params:
            if method is None:
                raise ImgenError(f"{', '.join(sorted(params))}: options of a classical method; none was given")
            values["params"] = REGISTRY.get(method, task).params(**params)
        return cls(method=method, task=task, **values)

    def __post_init__(self):
        if self.task not in REGISTRY.tasks():
            raise ImgenError(f"task must be one of {', '.join(REGISTRY.tasks())}, got {self.task!r}")
        if (self.model is None) == (self.method is None):
            allowed = REGISTRY.names(self.task)
            raise ImgenError(f"give either a model or a method ({' or '.join(allowed)}), not both or neither")
        if self.sigma is not None:
            try:
                object.__setattr__(self, "sigma", as_sigma(self.sigma))
            except (TypeError, ValueError) as e:
                raise ImgenError(str(e)) from None
        if self.scale is not None and (isinstance(self.scale, bool) or not isinstance(self.scale, (int, np.integer))
                                       or not 1 <= self.scale <= 16):
            raise ImgenError(f"scale must be an integer from 1 to 16, got {self.scale!r}")
        if self.scale is not None and self.task != "sr":
            raise ImgenError(f"scale is for task sr, not {self.task}")
        if self.method is not None:
            self._bind_method()
        elif self.params is not None:
            raise ImgenError("params are a classical method's; a model takes none")
        if self.color_order not in ("rgb", "bgr"):
            raise ImgenError(f"color_order must be one of rgb, bgr, got {self.color_order!r}")
        for name, value, least in (("tile", self.tile, 0), ("overlap", self.overlap, 0), ("threads", self.threads, 0),
                                   ("batch_size", self.batch_size, 1), ("whole_pixels", self.whole_pixels, 1)):
            if value is not None and not value >= least:
                raise ImgenError(f"{name} must be >= {least}, got {value}")
        if self.providers is not None and not isinstance(self.providers, tuple):
            object.__setattr__(self, "providers", tuple(self.providers))
        info = tuple(self.info.items()) if isinstance(self.info, dict) else tuple(tuple(kv) for kv in self.info)
        if any(len(kv) != 2 for kv in info):
            raise ImgenError(f"info must be (key, value) pairs or a dict, got {self.info!r}")
        if info and self.model is None:
            raise ImgenError("info describes a model; a classical method takes none")
        object.__setattr__(self, "info", tuple((str(k), str(v)) for k, v in info))
        if self.model is not None:
            object.__setattr__(self, "model", os.fspath(self.model))

    def _bind_method(self) -> None:
        """params: the method's (built from its defaults when None), with sigma and scale the same on
        both (the options' own, when given, win)."""
        method = REGISTRY.get(self.method, self.task)
        names = {f.name for f in method.fields()}
        shared = {k: getattr(self, k) for k in ("sigma", "scale") if getattr(self, k) is not None}
        for k in shared:
            if k not in names:
                raise ImgenError(f"method {self.method} ({self.task}) takes no {k}")
        if self.params is None:
            params = method.params(**shared)
        elif not isinstance(self.params, method.Params):
            raise ImgenError(f"params for method {self.method} ({self.task}) must be its Params "
                             f"(imgen.methods.params({self.method!r}, {self.task!r}, ...)), "
                             f"got {type(self.params).__name__}")
        else:
            params = dataclasses.replace(self.params, **shared) if shared else self.params
        object.__setattr__(self, "params", params)
        for k in ("sigma", "scale"):
            if k in names:
                object.__setattr__(self, k, getattr(params, k))

    @property
    def classical(self):
        """The registered method (``imgen.methods.Method``), or None for a model."""
        return None if self.method is None else REGISTRY.get(self.method, self.task)

    # -- the Job protocol (imgen.jobs): what the file loop, Ray and serve run -----------------

    #: Files run in batches: nothing here depends on the file's name.
    per_file = False

    @property
    def desc(self) -> str:
        """The model's file stem or shipped name, or the method: for progress bars."""
        if self.model is None:
            return str(self.method)
        return Path(self.model).stem if self.model.endswith(".onnx") else self.model

    def portable(self) -> "ProcessorOptions":
        """The same options with a model file's path made absolute (workers may run elsewhere)."""
        return dataclasses.replace(self, model=model_ref(self.model))

    def with_providers(self, providers: tuple[str, ...] | None) -> "ProcessorOptions":
        return dataclasses.replace(self, providers=providers)

    def __call__(self, threads: int | None = None) -> "FrameProcessor":
        """The processor, its model loaded now with ``threads`` onnxruntime threads (None: ``self.threads``)."""
        return build_processor(self, threads)


class FrameProcessor:
    """A picklable ``list[ndarray] -> list[ndarray]`` built from :class:`ProcessorOptions`.

    Images are HWC (H, W) or (H, W, C) uint8 / uint16 / float32 in [0, 1]; outputs keep each
    input's dtype and are scaled by ``scale`` (models with a scale factor).  Colour input stays
    colour, also through a gray model (see :class:`ProcessorOptions`); gray input through a colour
    model comes out in colour (three equal channels in, the model's colour out).  ``notes`` collects what had to be
    converted (gray/colour, alpha), for the caller to report.  Pickling keeps the options only;
    the model is loaded again on the first call in the new process.
    """

    def __init__(self, options: ProcessorOptions, *, model=None):
        """model: an already loaded `imgen.Model` for ``options.model`` (else it is loaded now)."""
        self.options = options
        self.notes: set[str] = set()
        self._model = None
        if options.model is not None:
            if model is not None:
                self._model = self._check(model)
            else:
                self._load()
        elif model is not None:
            raise ImgenError("a loaded model was given for a classical-denoiser processor")

    # -- state ----------------------------------------------------------------------------

    def __getstate__(self) -> dict:
        return {"options": self.options}

    def __setstate__(self, state: dict) -> None:
        self.options = state["options"]
        self.notes = set()
        self._model = None

    def __repr__(self) -> str:
        what = f"model={self.options.model!r}" if self.options.model else f"method={self.options.method!r}"
        return f"FrameProcessor({what}, sigma={self.options.sigma})"

    def _load(self) -> ImageModel:
        from .engine import Model

        opts = self.options
        model = Model.open(opts.model, providers=list(opts.providers) if opts.providers else None,
                           threads=opts.threads, metadata=dict(opts.info))
        self._model = self._check(model)
        return self._model

    def _check(self, model) -> ImageModel:
        model = ImageModel.adopt(model, "a processor", hint=" (image to image)")
        if model.info.extra.get("input_from") == "wiener":
            raise ImgenError(f"model {model.name} restores Wiener's output, not a blurred image: run it as method "
                             f"wiener_net of task deblur (refiner={model.name!r}, with the kernel)")
        if self.options.sigma is not None and not model.takes_noise_level:
            raise ImgenError(f"sigma given, but model {model.name} has no noise-level input")
        # the registry's tasks besides denoising (sr, deblur, jpeg): a model of one is checked against the options'
        restoring = tuple(t for t in REGISTRY.tasks() if t != "denoise")
        if self.options.task in restoring and model.info.task in restoring and model.info.task != self.options.task:
            raise ImgenError(f"model {model.name} is for task {model.info.task}, not {self.options.task}")
        if self.options.task == "sr" and model.info.scale is not None and int(model.info.scale) == 1:
            raise ImgenError(f"task sr needs a model that upscales, and model {model.name} keeps the size "
                             f"(task {model.info.task}, scale 1)")
        want = self.options.scale
        if want is not None and int(model.info.scale or 1) != want:
            raise ImgenError(f"scale {want} asked for, but model {model.name} upscales by {model.info.scale or 1}")
        return model

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
        if model is None:
            return self.options.scale or 1
        return int(model.info.scale or 1)

    # -- processing -----------------------------------------------------------------------

    def __call__(self, images: Sequence[np.ndarray]) -> list[np.ndarray]:
        if not isinstance(images, (list, tuple)):
            raise TypeError(f"a processor takes a list of HWC images, got {type(images).__name__}")
        if not images:
            return []
        if self.options.model is not None:
            return self._run_model(list(images))
        return [self._run_classical(img) for img in images]

    def _run_model(self, images: list[np.ndarray]) -> list[np.ndarray]:
        """The model call, with its one colour policy (``ImageModel.__call__``'s ``color``, default
        "ycbcr"): what a model does to an image is decided there, the same for every door."""
        model, opts = self.model, self.options
        for img in images:
            have = channel_count(img)
            note = conversion_note(have, model.info)
            if note:
                self.notes.add(note)
            if have == 4 and model.info.channels in (1, 3):
                self.notes.add("alpha channels passed through untouched")
        kwargs = {"sigma": opts.sigma} if model.takes_noise_level and opts.sigma is not None else {}
        return model(images, tile=opts.tile, overlap=opts.overlap, batch_size=opts.batch_size,
                     color_order=opts.color_order, whole_pixels=opts.whole_pixels, **kwargs)

    def _run_classical(self, image: np.ndarray) -> np.ndarray:
        opts = self.options
        method = opts.classical
        if method.layout == "any":   # e.g. interpolation treats channels alike: alpha is enlarged with the rest
            return method(image, opts.params)
        work, alpha = _colour_view(image, opts.color_order)
        return _restore_colour(method(work, opts.params), alpha, opts.color_order)


def build_processor(options: ProcessorOptions, threads: int | None = None) -> FrameProcessor:
    """A FrameProcessor for ``options`` with onnxruntime's thread count set to ``threads`` (what a
    worker calls once with its CPU share; ``functools.partial(build_processor, options)`` pickles)."""
    from dataclasses import replace

    return FrameProcessor(options if threads is None else replace(options, threads=threads))


def make_processor(
    *,
    model: str | os.PathLike | None = None,
    method: str | None = None,
    sigma: float | None = None,
    tile: int | None = None,
    overlap: int | None = None,
    providers: Sequence[str] | None = None,
    threads: int | None = None,
    color_order: str = "rgb",
    task: str = "denoise",
    scale: int | None = None,
    **params: Any,
) -> FrameProcessor:
    """Build a processor (``list[ndarray] -> list[ndarray]``).

    Exactly one of model (an .onnx path or shipped model name; any image-to-image model,
    upscalers included) and method (a name of ``imgen.methods.REGISTRY.names(task)``; task
    "denoise" by default: "bm3d", "wavelet", ...).  sigma is a fraction of the full range (25/255
    for 25 on the 0-255 scale) whatever the images' dtype; None estimates it per image.  Other
    keywords are the method's ``Params`` fields (``stage``, ``shifts``, ``kernel``, ...).  The
    model is loaded now, so a bad path or a sigma for a model without a noise input raises
    ImgenError / ModelError here, not on the first frame.  The result pickles as its options (a
    worker process reloads the model on first use).
    """
    options = ProcessorOptions.create(
        model=None if model is None else os.fspath(model), method=method, sigma=sigma, tile=tile,
        overlap=overlap, providers=None if providers is None else tuple(providers), threads=threads,
        color_order=color_order, task=task, scale=scale, **params)
    return FrameProcessor(options)


# -- channel helpers ---------------------------------------------------------------------------

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
