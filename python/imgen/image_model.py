"""Image-to-image models (denoise, restore, translate): HWC numpy images in, images out, tiled
when large.

Pixels go to tensors and back through :mod:`imgen.pixels` and the C++ core (``to_tensor``,
``from_tensor``, ``TileMerger``); ``Model.run`` executes.
"""
from __future__ import annotations

import logging
import math
import warnings
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Sequence, Union

import numpy as np

from . import _core
from ._validate import as_image, as_sigma
from .denoise import estimate_sigma
from .engine import Model, with_article
from .errors import ModelError
from .model_info import IMAGE_TASKS, ModelInfo
from .norm_stats import REPORT_FEEDS, NormStats, is_stat_output
from .pixels import COLOR_POLICIES, all_finite, normalization, prepare

log = logging.getLogger("imgen")

DEFAULT_TILE = 512
DEFAULT_OVERLAP = 64
#: Instance-norm models (imgen.norm_stats): images of up to this many pixels run whole (exact);
#: larger ones run in tiles fed the statistics of a copy downscaled to it (docs/models.md).  The
#: pixels of the engine's default batch of tiles (4 x 512 x 512, ``_auto_batch``): 1024 x 1024.
DEFAULT_WHOLE_PIXELS = 4 * DEFAULT_TILE**2
#: The smallest side of an instance-norm statistics pass's downscaled copy (a budget of a few
#: pixels would leave the network's reflection padding too little image).
MIN_STATS_SIDE = 16
#: The smallest tile an out-of-memory retry halves down to.
MIN_RETRY_TILE = 64
_OUT_OF_MEMORY = ("failed to allocate memory", "bad_alloc", "out of memory", "cudaerrormemoryallocation",
                  "cuda_error_out_of_memory")
_TENSOR_DTYPES = {"tensor(float)": np.float32, "tensor(float16)": np.float16}



@dataclass(frozen=True)
class RunOptions:
    """How one ``ImageModel.__call__`` runs its images, checked once and resolved against the model's
    metadata (``ImageModel._run_options``).  tile: as given (None = the model's default, 0 = never
    tile); tile_size / overlap: resolved (tile_size 0: no tiling); budget: whole_pixels resolved;
    stats: the model is instance-norm (``imgen.norm_stats``) with a free input size."""

    tile: int | None
    tile_size: int
    overlap: int
    color_order: str
    clamp: bool
    batch_size: int | None
    budget: int
    stats: bool


@dataclass(frozen=True)
class Whole:
    """Same-size images run whole, ``batch`` per run (padded to the model's size requirements)."""

    batch: int

    def smaller(self, h: int, w: int, run: RunOptions) -> "Tiled":
        """Out of memory: each image on its own, in tiles of half its longer side (for an
        instance-norm model, statistics from a copy of at most a quarter of its pixels)."""
        half = -(-max(h, w) // 2)
        overlap = min(run.overlap, half // 2)
        if run.stats:
            return StatsTiled(half, overlap, 1, min(run.budget, h * w // 4))
        return Tiled(half, overlap, 1)


@dataclass(frozen=True)
class Tiled:
    """One image in tiles of ``tile`` (``overlap`` blended), ``batch_size`` tiles per run (None:
    ``ImageModel._auto_batch``)."""

    tile: int
    overlap: int
    batch_size: int | None

    def smaller(self, least: int) -> "Tiled | None":
        """Out of memory: one tile per run, then tiles of half the side (not below ``least``); None
        when neither is left."""
        if self.batch_size != 1:
            return replace(self, batch_size=1)
        if self.tile // 2 < least:
            return None
        return replace(self, tile=self.tile // 2, overlap=min(self.overlap, self.tile // 4))


@dataclass(frozen=True)
class StatsTiled(Tiled):
    """An instance-norm model on one large image: one pass over a copy downscaled to at most
    ``budget`` pixels gives the per-channel statistics, then tiles fed those statistics."""

    budget: int = DEFAULT_WHOLE_PIXELS


Plan = Union[Whole, Tiled, StatsTiled]


class ImageModel(Model):
    """An image-to-image model.  Call it on images: ``model(image)`` with an HWC image (H, W) /
    (H, W, C), an NHWC batch or a list of images; uint8, uint16, float32 or float64 (0-1).  Returns
    images of the same dtype and layout (scaled by ``info.scale``).

    Example
    -------
    >>> import numpy as np, imgen
    >>> model = imgen.load("denoise-gray")
    >>> rgb = np.full((32, 32, 3), 128, np.uint8)
    >>> model(rgb, sigma=10 / 255).shape   # a gray model on colour: Y, Cb, Cr (color="ycbcr")
    (32, 32, 3)
    >>> model(rgb, sigma=10 / 255, color="luma").shape
    (32, 32, 1)
    """

    TASKS = IMAGE_TASKS

    def _complete_info(self, info: ModelInfo) -> ModelInfo:
        info = super()._complete_info(info)
        if info.task not in self.TASKS:
            return info  # Model.__init__ names the task this class does not serve
        spec = next((s for s in self.inputs if s.name != info.noise_input and len(s.shape) == 4), None)
        if spec is None:
            raise ModelError(f"{with_article(info.task)} model needs a 4-D NCHW image input, got {self.inputs}")
        if spec.type not in _TENSOR_DTYPES:
            raise ModelError(f"image input {spec.name!r} must be float or float16, got {spec.type}")
        others = [i for i in self.inputs if i.name not in (spec.name, info.noise_input)]
        if others:
            first = others[0].name
            raise ModelError(
                f"model {info.name or Path(self.path).stem} has input(s) "
                f"{', '.join(f'{i.name!r} {list(i.shape)}' for i in others)} besides its image input {spec.name!r}; "
                f"imgen feeds an image and, if declared, a noise level: if {first!r} is the noise level, say so "
                f"with info={{'noise_input': {first!r}}}")
        graph_channels = spec.shape[1] if isinstance(spec.shape[1], int) else None
        channels = info.channels or (None if info.input_channels else graph_channels)
        if channels is None:
            raise ModelError(
                "the model has no imgen.channels metadata and a dynamic channel axis: "
                "pass info={'channels': 1 or 3}"
            )
        tensor_channels = info.input_channels or channels
        if graph_channels is not None and graph_channels != tensor_channels:
            hint = (f"; if the last {graph_channels - channels} is a noise-level map, declare it with "
                    f"info={{'input_channels': {graph_channels}, 'extra_channels': 'noise'}}"
                    if graph_channels == channels + 1 else "")
            raise ModelError(f"metadata says {tensor_channels} input channels but the graph input has "
                             f"{graph_channels}{hint}")
        self._image_output = next((o.name for o in self.outputs if not is_stat_output(o.name)), None)
        if self._image_output is None:
            raise ModelError(f"model {info.name or Path(self.path).stem} has no image output, only "
                             f"{', '.join(o.name for o in self.outputs)}")
        #: The instance-norm statistics contract (imgen.norm_stats), None for other files.
        self.norm_stats = (NormStats.find(info.name or Path(self.path).stem, self.outputs, self.optional_inputs)
                           if info.norm_stats == "instance" else None)
        return info.replace(channels=channels) if channels != info.channels else info

    @property
    def takes_noise_level(self) -> bool:
        """Whether the model is told the noise level: a noise input, or a noise-map channel."""
        return self.info.noise_input is not None or self.info.extra_channels == "noise"

    # -- images -------------------------------------------------------------------------------

    def __call__(
        self,
        images,
        *,
        sigma: float | Sequence[float] | None = None,
        tile: int | None = None,
        overlap: int | None = None,
        color_order: str = "rgb",
        batch_size: int | None = None,
        color: str = "ycbcr",
        clamp: bool = False,
        whole_pixels: int | None = None,
        convert_channels: bool | None = None,
    ):
        """Run an image-to-image model.

        images: an HWC image (H, W) / (H, W, C), an NHWC batch, or a list of images; uint8,
            uint16, float32 or float64 in [0, 1].  Float inputs with NaN/Inf raise ValueError.
        sigma: noise level for models with a noise input, a fraction of the full range in
            [0, 1] whatever the dtype (25 gray levels of a uint8 image: 25/255); one value or one
            per image; None = estimated per image.
        tile / overlap: tile size and overlap in the graph's input pixels (after pre-upsampling,
            ``info.pre_upsample``).  Images larger than the tile are run tile by tile and blended;
            tile=0 never tiles.  Defaults from the model's metadata, else 512 / 64.
        color_order: channel order of the caller's images ("rgb" or "bgr").
        color: what happens when an image's channels differ from the model's (the same policy
            through ``imgen.restore``, the CLI, video, serve and Ray): "ycbcr" (default) converts and
            keeps the image's colour: a 1-channel model runs on Y, Cb and Cr (BT.601) of a colour
            image, each plane as a gray image with ``sigma`` scaled to its noise; an upscaler or an
            ``info.color_space`` "y" model on Y alone, Cb and Cr enlarged by MATLAB bicubic; gray
            on a colour model becomes three equal channels.  "luma": colour on a 1-channel model
            runs as its BT.601 luma, and (H, W, 1) comes out.  "strict": any mismatch raises
            ValueError.  RGBA images on RGB models keep their alpha untouched (resized for scale > 1).
        convert_channels: deprecated, the former switch: True is color="luma", False color="strict".
        clamp: clamp float32 outputs to [0, 1] (integer outputs are always clamped).
        whole_pixels: instance-norm models (``info.norm_stats``): images of up to this many pixels
            run whole (exact); larger ones (and any image tiled by ``tile``) run in tiles fed the
            per-channel statistics of one pass over a copy downscaled (area) to at most this many
            pixels (no side below MIN_STATS_SIDE), tiles of ``tile`` (default the model's, else the square that fits this budget).
            None = DEFAULT_WHOLE_PIXELS (1024 x 1024).  Other models ignore it.
        Returns what was given: one image for one image, an NHWC array for an NHWC batch, a list
        for a list; each with its input's dtype and layout.  The model's conventions (value range,
        colour space, pre-upsampling: ``info``) are honoured here, for every caller.
        """
        run = self._run_options(tile=tile, overlap=overlap, color_order=color_order, batch_size=batch_size,
                                clamp=clamp, whole_pixels=whole_pixels)
        if convert_channels is not None:
            warnings.warn("convert_channels is deprecated: pass color='luma' (was True) or color='strict' "
                          "(was False); the default color='ycbcr' keeps colour", DeprecationWarning, stacklevel=2)
            color = "luma" if convert_channels else "strict"
        if color not in COLOR_POLICIES:
            raise ValueError(f"color must be one of {', '.join(COLOR_POLICIES)}, got {color!r}")
        items, kind = _split_images(images)
        sigmas = self._sigmas(sigma, len(items))

        prepared, doubles = [], []
        for idx, img in enumerate(items):
            name = "image" if kind == "single" else f"images[{idx}]"
            doubles.append(isinstance(img, np.ndarray) and img.dtype == np.float64)
            img = as_image(img, name)
            if img.dtype == np.float32 and not all_finite(img):
                raise ValueError(f"{name} contains NaN or Inf; imgen does not guess values for them")
            prepared.append(prepare(img, self.info, color=color, color_order=color_order, sigma=sigmas[idx],
                                    clamp=clamp, what=name, model=self.name))
        batched = [p for p in prepared if not p.makers]
        work = [x for p in batched for x in p.inputs]
        work_sigmas = [s for p in batched for s in p.sigmas]
        outs = self._run_graph(work, work_sigmas, run)
        finished, k = [], 0
        for p, double in zip(prepared, doubles):
            if p.makers:  # a large image's inputs one at a time: each made, run and kept before the next
                got = [p.keep(self._run_graph([make()], [s], run)[0]) for make, s in zip(p.makers, p.sigmas)]
            else:
                got = outs[k:k + len(p.inputs)]
                k += len(p.inputs)
            out = p.finish(got)
            finished.append(out.astype(np.float64) if double else out)
        if kind == "single":
            return finished[0]
        if kind == "batch":
            return np.stack(finished)  # one input shape, so one output shape
        return finished

    def _run_options(self, *, tile: int | None, overlap: int | None, color_order: str, batch_size: int | None,
                     clamp: bool, whole_pixels: int | None) -> RunOptions:
        """The call's options, checked once (ValueError naming the bad one) and resolved against the
        model's metadata; everything downstream trusts them."""
        if color_order not in ("rgb", "bgr"):
            raise ValueError(f"color_order must be 'rgb' or 'bgr', got {color_order!r}")
        tile_size, overlap_px = self._tiling(tile, overlap)
        if batch_size is not None and batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        budget = DEFAULT_WHOLE_PIXELS if whole_pixels is None else whole_pixels
        if isinstance(budget, bool) or not isinstance(budget, (int, np.integer)) or budget < 1:
            raise ValueError(f"whole_pixels must be a positive integer (pixels), got {whole_pixels!r}")
        return RunOptions(tile=tile, tile_size=tile_size, overlap=overlap_px, color_order=color_order,
                          clamp=clamp, batch_size=batch_size, budget=int(budget),
                          stats=self.norm_stats is not None and self._fixed_size() is None)

    def _plan(self, h: int, w: int, run: RunOptions) -> Plan:
        """How images of h x w run: whole (batched), in tiles, or (instance-norm models over the
        budget or asked for tiles) in tiles fed the statistics of a downscaled copy."""
        if run.stats:
            if run.tile != 0 and (h * w > run.budget if run.tile is None else h > run.tile or w > run.tile):
                side = run.tile or self.info.tile or self._budget_side(run.budget)
                batch = run.batch_size if run.batch_size is not None else max(1, run.budget // (side * side))
                return StatsTiled(side, min(run.overlap, side // 2), batch, run.budget)
        elif self._needs_tiles(h, w, run.tile_size):
            return Tiled(run.tile_size, run.overlap, run.batch_size)
        return Whole(run.batch_size or self._auto_batch(h, w, run.tile_size))

    def _run_graph(self, work: list[np.ndarray], sigmas: list, run: RunOptions) -> list[np.ndarray]:
        """The graph on each of ``work`` (images as the graph takes them, ``pixels.prepare``): images
        of one size share a plan (:meth:`_plan`); same-size whole images run in batches."""
        results: list[np.ndarray | None] = [None] * len(work)
        groups: dict[tuple, list[int]] = {}
        for idx, image in enumerate(work):
            groups.setdefault((image.shape, image.dtype.str), []).append(idx)
        for indices in groups.values():
            h, w = work[indices[0]].shape[:2]
            plan = self._plan(h, w, run)
            step = plan.batch if isinstance(plan, Whole) else 1
            for start in range(0, len(indices), step):
                chunk = indices[start:start + step]
                outs = self._execute(plan, [work[i] for i in chunk], [sigmas[i] for i in chunk], run)
                for i, out in zip(chunk, outs):
                    results[i] = out
        return results  # type: ignore[return-value]

    def _execute(self, plan: Plan, images: list[np.ndarray], sigmas: list, run: RunOptions) -> list[np.ndarray]:
        """``plan`` on same-size images (one, for tiled plans), under the one out-of-memory policy:
        each plan names its next smaller step (:meth:`Whole.smaller`, :meth:`Tiled.smaller`), taken
        with a warning until the run fits or no step is left (ModelError); other errors, and models
        of a fixed input size, are not retried.  A statistics pass runs once, before the tile ladder."""
        if isinstance(plan, Whole):
            try:
                return self._run_whole(images, sigmas, run.color_order, run.clamp)
            except ModelError as e:
                if not self._retryable(e):
                    raise
                h, w = images[0].shape[:2]
                smaller = plan.smaller(h, w, run)
                log.warning("model %s ran out of memory on %d image(s) of %dx%d; running them in "
                            "tiles of %d", self.name, len(images), w, h, smaller.tile)
                return [self._execute(smaller, [img], [sigma], run)[0] for img, sigma in zip(images, sigmas)]
        (image,), (sigma,) = images, sigmas
        given = None
        if isinstance(plan, StatsTiled):
            assert self.norm_stats is not None
            given = self.norm_stats.feeds(self._image_stats(image, sigma, plan.budget, run.color_order))
        least = max(MIN_RETRY_TILE, self.info.size_multiple, self.info.min_size)
        while True:
            try:
                return [self._run_tiled(image, sigma, plan.tile, plan.overlap, run.color_order, run.clamp,
                                        plan.batch_size, given)]
            except ModelError as e:
                if not self._retryable(e):
                    raise
                smaller_tiles = plan.smaller(least)
                if smaller_tiles is None:
                    raise ModelError(f"{e} (out of memory even with one {plan.tile}x{plan.tile} tile at a time)") from e
                if smaller_tiles.tile == plan.tile:
                    log.warning("model %s ran out of memory on a batch of tiles; running one tile at a time",
                                self.name)
                else:
                    log.warning("model %s ran out of memory; retrying with %dx%d tiles", self.name,
                                smaller_tiles.tile, smaller_tiles.tile)
                plan = smaller_tiles

    def _retryable(self, error: ModelError) -> bool:
        """Whether a failed run is retried smaller: out of memory, on a model whose input size may change."""
        return _out_of_memory(error) and self._fixed_size() is None

    # -- helpers ------------------------------------------------------------------------------

    def _sigmas(self, sigma, count: int) -> list[float | None]:
        if not self.takes_noise_level:
            if sigma is not None:
                raise ValueError(f"model {self.name} has no noise-level input; sigma is not used")
            return [None] * count
        if sigma is None:
            return [None] * count
        values = [sigma] * count if np.isscalar(sigma) else list(sigma)
        if len(values) != count:
            raise ValueError(f"got {len(values)} sigma values for {count} images")
        return [as_sigma(v) for v in values]

    def _tiling(self, tile: int | None, overlap: int | None) -> tuple[int, int]:
        info = self.info
        fixed = self._fixed_size()
        if fixed is not None:
            if tile not in (None, 0) and tile != max(fixed):
                log.info("model %s has a fixed %dx%d input; tile size set to it", self.name, *fixed)
            tile_size = max(fixed)
        elif tile is None and info.whole_image:
            tile_size = 0  # tiles could never match: run whole unless the caller asks for tiles
        elif tile is None:
            tile_size = info.tile if info.tile is not None else DEFAULT_TILE
        else:
            if tile < 0:
                raise ValueError(f"tile must be >= 0 (0 = no tiling), got {tile}")
            tile_size = tile
            if tile and info.whole_image and self.norm_stats is None:
                log.warning("model %s's output depends on the whole image (imgen.whole_image): tiles of %d "
                            "will not match running it whole", self.name, tile)
        if overlap is None:
            # The file's tile overlap, else enough for its receptive field, else the default.
            overlap = next(v for v in (info.tile_overlap, info.overlap_needed, DEFAULT_OVERLAP) if v is not None)
        if overlap < 0:
            raise ValueError(f"overlap must be >= 0, got {overlap}")
        if tile_size:
            overlap = min(overlap, tile_size // 2)
        return tile_size, overlap

    def _fixed_size(self) -> tuple[int, int] | None:
        shape = self.image_input.shape
        if isinstance(shape[2], int) and isinstance(shape[3], int):
            return shape[2], shape[3]
        return None

    def _needs_tiles(self, h: int, w: int, tile_size: int) -> bool:
        if self._fixed_size() is not None:
            return True
        return tile_size > 0 and (h > tile_size or w > tile_size)

    def _auto_batch(self, h: int, w: int, tile_size: int) -> int:
        """Images (or tiles) of h x w per run: the equivalent of 4 input tiles of the default
        tile's pixels, counted at the output's size (an x4 upscaler runs 16 times fewer)."""
        if isinstance(self.image_input.shape[0], int):
            return self.image_input.shape[0]
        budget = 4 * (tile_size or DEFAULT_TILE) ** 2
        return max(1, budget // (h * w * (self.info.graph_scale or 1) ** 2))

    def _budget_side(self, budget: int) -> int:
        """The side of the square tiles that fit ``budget`` pixels (a multiple of the model's size
        multiple; at least MIN_RETRY_TILE and its minimum size)."""
        m = self.info.size_multiple
        return max(math.isqrt(budget) // m * m, -(-max(MIN_RETRY_TILE, self.info.min_size) // m) * m)

    def _image_stats(self, image: np.ndarray, sigma, budget: int, color_order: str) -> list[np.ndarray]:
        """One statistics pass of an instance-norm model: the image, downscaled (INTER_AREA) to at
        most ``budget`` pixels when larger (but no side below MIN_STATS_SIDE or the model's minimum,
        unless the image's own is), run whole; the (1, C, 1, 1) statistics in
        the order of ``norm_stats.outputs``."""
        import cv2  # here, not at the top: imgen.imageio sets OpenCV's pixel limit before cv2 first loads

        h, w = image.shape[:2]
        small = image
        if h * w > budget:
            f = math.sqrt(budget / (h * w))
            least = max(MIN_STATS_SIDE, self.info.min_size, self.info.size_multiple)
            sh, sw = max(int(h * f), min(h, least)), max(int(w * f), min(w, least))
            small = cv2.resize(image, (sw, sh), interpolation=cv2.INTER_AREA).reshape((sh, sw) + image.shape[2:])
            log.info("model %s: instance-norm statistics from a %dx%d copy of the %dx%d image", self.name, sw, sh, w, h)
        if sigma is None and self.takes_noise_level:
            sigma = estimate_sigma(image)
        tensor = self._whole_tensor([small], color_order)
        assert self.norm_stats is not None
        feeds = {**self._feeds(tensor, [sigma], [small]), **REPORT_FEEDS}
        return self.run(feeds, self.norm_stats.outputs)

    def _tensor_dtype(self):
        return _TENSOR_DTYPES[self.image_input.type]

    def _padded(self, h: int, w: int) -> tuple[int, int]:
        m, least = self.info.size_multiple, self.info.min_size
        ph = max(-(-h // m) * m, -(-least // m) * m)
        pw = max(-(-w // m) * m, -(-least // m) * m)
        if self.info.square:
            ph = pw = max(ph, pw)
        return ph, pw

    def _feeds(self, tensor: np.ndarray, sigmas: list[float | None], images: list[np.ndarray]) -> dict:
        """The session's inputs: the image tensor, and the noise level where the model takes one
        (a noise input, or a map appended as the last image channel), in the model's noise units:
        imgen.noise_units "fraction" is sigma in the tensor's own units (sigma * (hi - lo) of its
        value range: the fraction itself for a [0, 1] model), "255" is sigma on the 0-255 scale."""
        if not self.takes_noise_level:
            return {self.image_input.name: tensor}
        lo, hi = self.info.value_range
        unit = 255.0 if self.info.noise_units == "255" else hi - lo
        values = [(estimate_sigma(img) if s is None else s) * unit for s, img in zip(sigmas, images)]
        n = tensor.shape[0]
        per_item = [values[k if len(values) == n else 0] for k in range(n)]
        if self.info.extra_channels == "noise":
            noise = np.empty((n, 1) + tensor.shape[2:], tensor.dtype)
            noise[:] = np.asarray(per_item, tensor.dtype).reshape(n, 1, 1, 1)
            return {self.image_input.name: np.concatenate([tensor, noise], axis=1)}
        spec = next(i for i in self.inputs if i.name == self.info.noise_input)
        dtype = _TENSOR_DTYPES.get(spec.type, np.float32)
        shape = (n, 1) + tensor.shape[2:] if self.info.noise_kind == "map" else (n, 1, 1, 1)
        noise = np.empty(shape, dtype)
        noise[:] = np.asarray(per_item, dtype).reshape(n, 1, 1, 1)
        return {self.image_input.name: tensor, spec.name: noise}

    def _scale_of(self, in_shape: tuple, out: np.ndarray) -> int:
        if out.ndim != 4 or out.shape[0] != in_shape[0]:
            raise ModelError(f"model {self.name} returned shape {out.shape} for input {in_shape}; "
                             f"expected an NCHW image batch")
        if out.dtype not in (np.float32, np.float16):
            raise ModelError(f"model {self.name} returned {out.dtype}; expected float32 or float16")
        sh, sw = out.shape[2] / in_shape[2], out.shape[3] / in_shape[3]
        expected = self.info.graph_scale
        if expected is not None:
            if sh != expected or sw != expected:
                what = (f"scale {expected}" if self.info.pre_upsample is None else
                        f"imgen.pre_upsample (imgen does the x{self.info.scale}; the graph must keep the size)")
                raise ModelError(f"model {self.name} has {what} but returned "
                                 f"{out.shape[2]}x{out.shape[3]} for {in_shape[2]}x{in_shape[3]}")
            return expected
        if sh != sw or sh < 1 or sh != int(sh):
            raise ModelError(f"model {self.name} output {out.shape[2]}x{out.shape[3]} is not an integer "
                             f"multiple of its input {in_shape[2]}x{in_shape[3]}")
        # Measured on each run: the contract (self.info) is shared by every thread and never changes.
        return int(sh)

    def _whole_tensor(self, images: list[np.ndarray], color_order: str) -> np.ndarray:
        """NCHW tensor of same-size images, padded (reflect) to the model's size requirements."""
        h, w = images[0].shape[:2]
        c = 1 if images[0].ndim == 2 else images[0].shape[2]
        ph, pw = self._padded(h, w)
        norm = normalization(self.info, images[0].dtype, color_order, c)
        regions = None if (ph, pw) == (h, w) else [(0, 0, ph, pw)] * len(images)
        return self._expand(_core.to_tensor(images, dtype=self._tensor_dtype(), regions=regions, **norm))

    def _expand(self, tensor: np.ndarray) -> np.ndarray:
        """A gray image's tensor made the 3 equal channels a colour model takes (gray images reach
        colour models unconverted, ``pixels.prepare``, so only a batch of tiles is ever held in three
        channels)."""
        if tensor.shape[1] == 1 and self.info.channels == 3:
            return np.repeat(tensor, 3, axis=1)
        return tensor

    def _run_whole(self, images: list[np.ndarray], sigmas, color_order: str, clamp: bool):
        h, w = images[0].shape[:2]
        dtype = images[0].dtype
        ph, pw = self._padded(h, w)
        tensor = self._whole_tensor(images, color_order)
        out = self.run(self._feeds(tensor, sigmas, images), [self._image_output])[0]
        s = self._scale_of(tensor.shape, out)
        norm_out = normalization(self.info, dtype, color_order, out.shape[1])
        crop = None if (ph, pw) == (h, w) else (0, 0, h * s, w * s)
        result = _core.from_tensor(out, dtype=dtype, crop=crop, clamp=clamp, **norm_out)
        return list(result)

    def _run_tiled(self, image: np.ndarray, sigma, tile_size: int, overlap: int, color_order: str,
                   clamp: bool, batch_size: int | None, given: dict | None = None) -> np.ndarray:
        """Tiles blended by the core's TileMerger; ``given``: extra feeds for every run (the
        statistics of an instance-norm model)."""
        h, w = image.shape[:2]
        c = 1 if image.ndim == 2 else image.shape[2]
        fixed = self._fixed_size()
        tile = fixed if fixed is not None else tile_size
        multiple = self.info.size_multiple
        grid = _core.plan_tiles(h, w, tile=tile, overlap=overlap, multiple=multiple)
        if fixed is not None and (grid.tile_height, grid.tile_width) != fixed:
            grid = _core.plan_tiles(h, w, tile=tile, overlap=overlap, multiple=max(fixed))
        rows, cols = grid.row_starts, grid.col_starts
        n_tiles, th, tw = len(rows) * len(cols), grid.tile_height, grid.tile_width
        if self.info.square:  # the shorter side's tiles reach past the image (reflected)
            th = tw = max(th, tw)
        per_batch = self._auto_batch(th, tw, tile_size) if batch_size is None or isinstance(
            self.image_input.shape[0], int) else batch_size
        norm = normalization(self.info, image.dtype, color_order, c)
        if sigma is None and self.takes_noise_level:
            sigma = estimate_sigma(image)
        if image.strides[0] <= 0 or not image[0].flags.c_contiguous:
            # to_tensor would copy an image whose pixels are not contiguous for every batch.
            image = np.ascontiguousarray(image)
        # Tiles go in row-major order, so the merger converts each band of finished rows straight
        # into the output and holds float accumulators only for about a tile height plus a stride.
        merger = None
        expected = None
        for start in range(0, n_tiles, per_batch):
            indices = list(range(start, min(start + per_batch, n_tiles)))
            batch = [(rows[i // len(cols)], cols[i % len(cols)], th, tw) for i in indices]
            tensor = self._expand(_core.to_tensor(image, dtype=self._tensor_dtype(), regions=batch, **norm))
            feeds = self._feeds(tensor, [sigma] * len(batch), [image] * len(batch))
            out = self.run({**feeds, **given} if given else feeds, [self._image_output])[0]
            if merger is None:
                s = self._scale_of(tensor.shape, out)
                expected = (out.shape[1], th * s, tw * s)
                merger = _core.TileMerger(
                    h * s, w * s, out.shape[1], [y * s for y in rows], [x * s for x in cols],
                    th * s, tw * s, overlap * s,
                    dtype=image.dtype, clamp=clamp, **normalization(self.info, image.dtype, color_order, out.shape[1]),
                )
            elif out.shape[1:] != expected:
                raise ModelError(f"model {self.name} returned tiles of shape {out.shape[1:]}, expected {expected}")
            merger.add(out, indices)
        return merger.finish()


def _split_images(images) -> tuple[list[np.ndarray], str]:
    """(list of HWC images, "single" | "batch" | "list")."""
    if isinstance(images, np.ndarray):
        if images.ndim == 4:
            if images.shape[0] == 0:
                raise ValueError("the batch is empty (shape (0, ...))")
            return list(images), "batch"
        return [images], "single"
    if isinstance(images, (list, tuple)):
        if not images:
            raise ValueError("the list of images is empty")
        return list(images), "list"
    raise TypeError(f"images must be a numpy array (HWC image or NHWC batch) or a list of arrays, "
                    f"got {type(images).__name__}")


def _out_of_memory(error: ModelError) -> bool:
    """Whether a failed run ran out of memory (onnxruntime's CPU or CUDA allocators, or Python's)."""
    cause = error.__cause__
    if isinstance(cause, MemoryError):
        return True
    text = f"{error} {cause}".lower()
    return any(marker in text for marker in _OUT_OF_MEMORY)
