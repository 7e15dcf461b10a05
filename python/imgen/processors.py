"""Image processors built from the options the CLI takes: a model or a classical denoiser.

A processor is a callable ``list[ndarray] -> list[ndarray]`` over HWC images (uint8, uint16 or
float32 in [0, 1]) that keeps each image's dtype.  It pickles as its options alone and loads its
model again on first use after unpickling, so a worker process can rebuild it once per worker.
"""
from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from typing import Sequence

import numpy as np

from ._validate import as_sigma, image_max
from .denoise import WAVELETS
from .errors import ImgenError
from .image_model import ImageModel
from .pixels import channel_count, with_alpha
from .restoration import METHODS as TASK_METHODS
from .restoration import TASKS

log = logging.getLogger("imgen")

METHODS = tuple(dict.fromkeys(m for ms in TASK_METHODS.values() for m in ms))   # every task's
STAGES = ("both", "hard")
THRESHOLDS = ("bayes", "visu")
MODES = ("soft", "hard")


@dataclass(frozen=True)
class ProcessorOptions:
    """What to run on each image; the fields mirror `imgen video` / `imgen denoise` options.

    model: an .onnx file or a shipped model name; or method: "bm3d" / "wavelet" (exactly one).
    sigma: noise level, a fraction of the full range in [0, 1] whatever the image dtype (25 on
        the 0-255 scale: 25/255; the CLI's --sigma takes 0-255); None = estimated per image.
    tile / overlap / batch_size / providers / threads: as `imgen.load` and `ImageModel.__call__`
        (model only; threads are onnxruntime's; the classical denoisers use `imgen.set_num_threads`).
    info: (key, value) metadata entries that override or supply the model file's
        (`Model.open(metadata=...)`, the CLI's --info KEY=VALUE).
    stage: BM3D stages ("both" or "hard").  wavelet / levels / threshold / mode / shifts: the
        wavelet denoiser's basis, decomposition levels, "bayes"/"visu", "soft"/"hard" and
        cycle-spinning shifts.
    color_order: channel order of the images, "rgb" (video frames) or "bgr" (OpenCV files).
    task: "denoise" (default), "sr", "deblur" or "jpeg"; picks the classical methods allowed
        (``imgen.restoration.METHODS``).  scale: SR factor (2-16; needed by classical SR, checked
        against a model's).  kernel: the known blur kernel for classical deblurring, a name from
        ``imgen.degrade.fixed_kernels`` or a 2-D array (kept as a tuple of rows).  balance /
        iterations: Wiener's regularisation and Richardson-Lucy's iteration count.  quality: the
        JPEG quality the images were saved at (1-100; sets BM3D's sigma, ``restoration.jpeg_sigma``).
    whole_pixels: instance-norm models' pixel budget for whole-image inference (``ImageModel.__call__``).

    A 1-channel model on colour images keeps the colour: it runs on the Y, Cb and Cr planes
    (BT.601, full range) separately, a given sigma scaled to each plane's noise level, and the
    result goes back to the images' colour order (``benchmarks/gray_model_on_colour.py``: this
    beats running on R, G and B by 0.0 / 0.7 / 0.8 dB at sigma 15 / 25 / 50, and luma alone by
    6-11 dB).  A 1-channel upscaler (scale > 1: a luma SR model, trained on Y as the SR papers
    do) enlarges Y only; Cb and Cr are enlarged by OpenCV bicubic.  Conversions are listed in
    :attr:`FrameProcessor.notes`.
    """

    model: str | None = None
    method: str | None = None
    sigma: float | None = None
    tile: int | None = None
    overlap: int | None = None
    batch_size: int | None = None
    info: tuple[tuple[str, str], ...] = ()
    providers: tuple[str, ...] | None = None
    threads: int | None = None
    stage: str = "both"
    wavelet: str = "db1"
    levels: int | None = None
    threshold: str = "bayes"
    mode: str = "soft"
    shifts: int = 1
    color_order: str = "rgb"
    task: str = "denoise"
    scale: int | None = None
    kernel: str | tuple[tuple[float, ...], ...] | None = None
    balance: float = 0.01
    iterations: int = 30
    quality: int | None = None
    whole_pixels: int | None = None

    def __post_init__(self):
        if self.task not in TASKS:
            raise ImgenError(f"task must be one of {', '.join(TASKS)}, got {self.task!r}")
        allowed = TASK_METHODS[self.task]
        if (self.model is None) == (self.method is None):
            raise ImgenError(f"give either a model or a method ({' or '.join(allowed)}), not both or neither")
        if self.method is not None and self.method not in allowed:
            raise ImgenError(f"method must be one of {', '.join(allowed)}, got {self.method!r} (task {self.task})")
        self._check_task_fields()
        if self.sigma is not None:
            try:
                object.__setattr__(self, "sigma", as_sigma(self.sigma))
            except (TypeError, ValueError) as e:
                raise ImgenError(str(e)) from None
        for name, value, allowed in (("stage", self.stage, STAGES), ("wavelet", self.wavelet, WAVELETS),
                                     ("threshold", self.threshold, THRESHOLDS), ("mode", self.mode, MODES),
                                     ("color_order", self.color_order, ("rgb", "bgr"))):
            if value not in allowed:
                raise ImgenError(f"{name} must be one of {', '.join(allowed)}, got {value!r}")
        for name, value, least in (("levels", self.levels, 1), ("shifts", self.shifts, 1), ("tile", self.tile, 0),
                                   ("overlap", self.overlap, 0), ("threads", self.threads, 0),
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

    def _check_task_fields(self) -> None:
        """scale / kernel / quality / balance / iterations: valid, and given where the task needs them."""
        from .degrade import as_kernel

        for name, value, lo, hi in (("scale", self.scale, 1, 16), ("quality", self.quality, 1, 100),
                                    ("iterations", self.iterations, 1, 1000)):
            if value is not None and (isinstance(value, bool) or not isinstance(value, (int, np.integer))
                                      or not lo <= value <= hi):
                raise ImgenError(f"{name} must be an integer from {lo} to {hi}, got {value!r}")
        if isinstance(self.balance, bool) or not isinstance(self.balance, (int, float)) \
                or not 0 < self.balance <= 1000:
            raise ImgenError(f"balance must be a number in (0, 1000], got {self.balance!r}")
        if self.method is not None and self.task == "sr" and self.scale is None:
            raise ImgenError("classical super-resolution needs a scale (2, 3, 4, ...)")
        if self.method is not None and self.task == "deblur" and self.kernel is None:
            raise ImgenError("classical deblurring needs the blur kernel (a fixed kernel's name or a 2-D array)")
        if self.kernel is not None:
            try:
                k = as_kernel(self.kernel if isinstance(self.kernel, str) else np.asarray(self.kernel, np.float64))
            except (TypeError, ValueError) as e:
                raise ImgenError(str(e)) from None
            if not isinstance(self.kernel, str):
                object.__setattr__(self, "kernel", tuple(tuple(float(v) for v in row) for row in k))
        for name in ("scale", "kernel", "quality"):
            needs = {"scale": "sr", "kernel": "deblur", "quality": "jpeg"}[name]
            if getattr(self, name) is not None and self.task != needs:
                raise ImgenError(f"{name} is for task {needs}, not {self.task}")


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
        if self.options.sigma is not None and not model.takes_noise_level:
            raise ImgenError(f"sigma given, but model {model.name} has no noise-level input")
        restoring = ("sr", "deblur", "jpeg")
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
            return self.options.scale if self.options.task == "sr" else 1
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
        model, opts = self.model, self.options
        if model.info.channels == 1 and any(_big_colour(img) for img in images):
            self._note_conversions(images, 1)
            return [self._run_planes(img) if _big_colour(img) else self._run_model([img])[0] for img in images]
        self._note_conversions(images, model.info.channels)
        planes = model.info.channels == 1
        scale = int(model.info.scale or 1)
        work, sigmas, chroma = [], [], []
        sigma = opts.sigma
        for img in images:
            if planes and channel_count(img) > 1:
                group = _ycc_planes(img, opts.color_order)
                if scale > 1:  # a luma upscaler: Y through the model, Cb and Cr bicubic (the SR papers' way)
                    chroma.append([_upscale_plane(p, scale) for p in group[1:]])
                    group = group[:1]
                work.append(group)
                sigmas += [None if sigma is None else sigma * n for n in YCC_NOISE[:len(group)]]
            else:
                work.append([img])
                sigmas.append(sigma)
        flat = [p for group in work for p in group]
        kwargs = {}
        if model.takes_noise_level and opts.sigma is not None:
            kwargs["sigma"] = sigmas
        outs = model(flat, tile=opts.tile, overlap=opts.overlap, batch_size=opts.batch_size,
                     color_order=opts.color_order, convert_channels=True, whole_pixels=opts.whole_pixels, **kwargs)
        result, k, c = [], 0, 0
        for img, group in zip(images, work):
            got = list(outs[k:k + len(group)])
            k += len(group)
            if planes and channel_count(img) > 1 and scale > 1:
                got += chroma[c]
                c += 1
            result.append(_from_ycc_planes(got, img, opts.color_order) if len(got) == 3 else got[0])
        return result

    def _run_planes(self, img: np.ndarray) -> np.ndarray:
        """A large colour image on a 1-channel model: Y, Cb and Cr one after another (each made,
        run and kept as the model's output before the next is made), 8-bit images as 16-bit planes,
        so the float planes and their outputs (24 bytes a pixel, ~4 GB for 12000^2) are never all
        held; the result is the batched path's (the 16-bit rounding is far below 8-bit steps)."""
        model, opts = self.model, self.options
        scale = int(model.info.scale or 1)
        compact = img.dtype == np.uint8
        outs = []
        for c in range(3):
            plane = _ycc_plane(img, opts.color_order, c, compact)
            if scale > 1 and c:  # a luma upscaler: Cb and Cr bicubic
                outs.append(_upscale_plane(plane, scale))
                continue
            kwargs = {}
            if model.takes_noise_level and opts.sigma is not None:
                kwargs["sigma"] = opts.sigma * YCC_NOISE[c]
            outs.append(model(plane, tile=opts.tile, overlap=opts.overlap, batch_size=opts.batch_size,
                              color_order=opts.color_order, convert_channels=True, whole_pixels=opts.whole_pixels,
                              **kwargs))
            del plane
        return _from_ycc_planes(outs, img, opts.color_order)

    def _note_conversions(self, images: list[np.ndarray], want: int) -> None:
        for img in images:
            have = channel_count(img)
            if want == 1 and have > 1 and int(self.model.info.scale or 1) > 1:
                self.notes.add("1-channel upscaler on colour images: Y through the model, Cb and Cr bicubic")
            elif want == 1 and have > 1:
                self.notes.add("1-channel model on colour images: run on Y, Cb and Cr separately, colour kept")
            elif have != want and not (have == 4 and want == 3):
                self.notes.add(f"{have}-channel images converted to the model's {want} channel(s)")
            if have == 4 and want in (1, 3):
                self.notes.add("alpha channels passed through untouched")

    def _run_classical(self, image: np.ndarray) -> np.ndarray:
        from . import denoise, restoration

        opts = self.options
        if opts.task == "sr":   # interpolation treats channels alike: alpha is enlarged with the rest
            return restoration.upscale(image, opts.scale, method=opts.method)
        work, alpha = _colour_view(image, opts.color_order)
        sigma = opts.sigma
        kernel = opts.kernel if isinstance(opts.kernel, str) or opts.kernel is None else np.asarray(opts.kernel)
        if opts.task == "deblur" and opts.method == "wiener":
            out = restoration.wiener(work, kernel, balance=opts.balance)
        elif opts.task == "deblur":
            out = restoration.richardson_lucy(work, kernel, iterations=opts.iterations)
        elif opts.task == "jpeg":
            out = restoration.dejpeg_bm3d(work, opts.quality, sigma=sigma)
        elif opts.method == "wavelet":
            out = denoise.wavelet(work, sigma=sigma, wavelet=opts.wavelet, levels=opts.levels,
                                  method=opts.threshold, mode=opts.mode, shifts=opts.shifts)
        else:
            out = denoise.bm3d(work, sigma=sigma, stage=opts.stage)
        return _restore_colour(out, alpha, opts.color_order)


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
    stage: str = "both",
    wavelet: str = "db1",
    levels: int | None = None,
    threshold: str = "bayes",
    mode: str = "soft",
    shifts: int = 1,
    color_order: str = "rgb",
    task: str = "denoise",
    scale: int | None = None,
    kernel=None,
    quality: int | None = None,
) -> FrameProcessor:
    """Build a processor (``list[ndarray] -> list[ndarray]``) from the CLI's options.

    Exactly one of model (an .onnx path or shipped model name; any image-to-image model,
    upscalers included) and method (one of ``imgen.restoration.METHODS[task]``; task "denoise" by
    default: "bm3d" or "wavelet"; scale / kernel / quality as :class:`ProcessorOptions`).  sigma is a fraction of the full range
    (25/255 for 25 on the 0-255 scale) whatever the images' dtype; None estimates it per image.  The other fields are those of
    :class:`ProcessorOptions`.  The model is loaded now, so a bad path or a sigma for a model
    without a noise input raises ImgenError / ModelError here, not on the first frame.  The
    result pickles as its options (a worker process reloads the model on first use).
    """
    options = ProcessorOptions(
        model=None if model is None else os.fspath(model), method=method, sigma=sigma, tile=tile,
        overlap=overlap, providers=None if providers is None else tuple(providers), threads=threads,
        stage=stage, wavelet=wavelet, levels=levels, threshold=threshold, mode=mode, shifts=shifts,
        color_order=color_order, task=task, scale=scale, kernel=kernel, quality=quality,
    )
    return FrameProcessor(options)


# -- channel helpers ---------------------------------------------------------------------------

# BT.601 full-range RGB -> YCbCr (JPEG's); Cb and Cr are offset by half the range.  YCC_NOISE:
# the standard deviation of each plane's noise for unit i.i.d. noise on R, G and B.
_RGB_TO_YCC = np.array([[0.299, 0.587, 0.114],
                        [-0.168736, -0.331264, 0.5],
                        [0.5, -0.418688, -0.081312]], np.float64)
_YCC_TO_RGB = np.linalg.inv(_RGB_TO_YCC)
YCC_NOISE = tuple(float(n) for n in np.linalg.norm(_RGB_TO_YCC, axis=1))


# Rows of a band in the colour helpers: about 2**18 pixels, so their temporaries stay small
# (a few MiB) whatever the image's size.
_BAND_PIXELS = 1 << 18


def _bands(height: int, width: int):
    step = max(1, _BAND_PIXELS // max(width, 1))
    return (slice(y, y + step) for y in range(0, height, step))


def _ycc_planes(image: np.ndarray, color_order: str) -> list[np.ndarray]:
    """Y, Cb, Cr of an HWC colour image (alpha left out) as float32 (H, W) planes in [0, 1] (Cb and
    Cr offset by 0.5).  Computed in float32 a band of rows at a time: the three planes are the only
    full-size arrays (12 bytes a pixel)."""
    return [_ycc_plane(image, color_order, c) for c in range(3)]


#: Colour images of at least this many pixels run on a 1-channel model plane by plane (_run_planes).
PLANE_BY_PLANE_PIXELS = 1 << 22


def _big_colour(img: np.ndarray) -> bool:
    return channel_count(img) > 1 and img.shape[0] * img.shape[1] >= PLANE_BY_PLANE_PIXELS


def _ycc_plane(image: np.ndarray, color_order: str, c: int, compact: bool = False) -> np.ndarray:
    """Plane ``c`` (0 Y, 1 Cb, 2 Cr) of :func:`_ycc_planes`; compact: as uint16 (value x 65535,
    rounded and clamped; 2 bytes a pixel instead of 4)."""
    h, w = image.shape[:2]
    order = (2, 1, 0) if color_order == "bgr" else (0, 1, 2)
    k = (_RGB_TO_YCC / image_max(image.dtype)).astype(np.float32)
    plane = np.empty((h, w), np.uint16 if compact else np.float32)
    for band in _bands(h, w):
        chans = [image[band, :, ch].astype(np.float32) for ch in order]
        out = np.multiply(chans[0], k[c, 0])
        out += np.multiply(chans[1], k[c, 1], out=chans[0])
        out += np.multiply(chans[2], k[c, 2], out=chans[1])
        if c:
            out += np.float32(0.5)
        if compact:
            np.rint(np.clip(out, 0, 1, out=out) * np.float32(65535), out=out)
        plane[band] = out
        del chans, out  # freed before the next band's
    return plane


def _from_ycc_planes(planes: list[np.ndarray], original: np.ndarray, color_order: str) -> np.ndarray:
    """The inverse of :func:`_ycc_planes`, in the original's dtype, with its alpha (resized to
    the output's size for upscalers).  float64 a band of rows at a time."""
    planes = [p if p.ndim == 2 else p[..., 0] for p in planes]
    h, w = planes[0].shape
    top = image_max(original.dtype)
    dtype = np.float32 if original.dtype == np.float32 else original.dtype
    out = np.empty((h, w, 3), dtype)
    for band in _bands(h, w):
        ycc = np.stack([p[band] / 65535.0 if p.dtype == np.uint16 else p[band] for p in planes],
                       axis=2).astype(np.float64)
        ycc[..., 1:] -= 0.5
        rgb = ycc @ _YCC_TO_RGB.T
        if color_order == "bgr":
            rgb = rgb[..., ::-1]
        out[band] = rgb if original.dtype == np.float32 else np.clip(np.rint(rgb * top), 0, top)
    if original.shape[2] == 4:
        out = with_alpha(out, original[..., 3])
    return np.ascontiguousarray(out)


def _upscale_plane(plane: np.ndarray, scale: int) -> np.ndarray:
    """A float32 (H, W) plane enlarged ``scale`` times by OpenCV bicubic (the chroma of a luma SR model)."""
    from .restoration import upscale

    return upscale(plane, scale, method="bicubic")


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
