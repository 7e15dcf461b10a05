"""The imgen model contract: metadata read from an ONNX file's ``metadata_props``.

Every key is prefixed ``imgen.``; values are strings.  See docs/model-format.md.
"""
from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Mapping

from .errors import ModelError

SCHEMA_VERSION = 1
PREFIX = "imgen."
TASKS = ("denoise", "restore", "generate", "encode", "decode", "translate", "inpaint", "sr", "deblur", "jpeg")
IMAGE_TASKS = ("denoise", "restore", "translate", "sr", "deblur", "jpeg")
COLOR_ORDERS = ("rgb", "bgr")
NOISE_KINDS = ("map", "scalar")
#: What the image input's channels beyond the colour ones mean: an alpha channel (imgen.channels 4)
#: or a noise-level map appended to the colour channels (DRUNet's RGB+sigma input).
EXTRA_CHANNELS = ("alpha", "noise")
#: Units of the noise level fed to a model: a fraction of the full range (0-1, imgen's unit; 25/255
#: for sigma 25 on 8-bit images) or the 0-255 scale.
NOISE_UNITS = ("fraction", "255")
#: imgen.norm_stats: which normalisation layers report and take their statistics (docs/model-format.md).
NORM_STATS = ("instance",)
#: Most channels of an image input tensor (imgen.input_channels).
MAX_INPUT_CHANNELS = 64
#: imgen.mask_polarity: the mask value that marks a missing pixel.
MASK_POLARITIES = ("1", "0")
#: imgen.pre_upsample: how imgen enlarges the input of a graph that runs at the output's size.
PRE_UPSAMPLES = ("bicubic",)
#: imgen.color_space: what a model's channels hold ("y": Y of BT.601 studio-range YCbCr, MATLAB's rgb2ycbcr).
COLOR_SPACES = ("rgb", "y")
#: Largest magnitude of an imgen.range bound: tensors are float32 (or float16), and a range much wider
#: than any image format's (0-65535) overflows or loses every gray level in them.
MAX_RANGE = 1e6
#: Largest imgen.size_multiple and imgen.min_size: imgen pads every image (or tile) up to them, so a
#: larger value would allocate absurdly for any input.
MAX_SIDE = 4096
#: Most elements of one latent (the product of imgen.latent_shape): 4 Mi, 16 MiB of float32.
MAX_LATENT_ELEMENTS = 1 << 22


@dataclass(frozen=True)
class ModelInfo:
    """What a model expects and produces.

    channels: image channels of the input (1 gray, 3 colour, 4 with alpha); None = read from the
        graph.  value_range: the tensor values that black and white map to.  scale: output size /
        input size (None = measured on the first run).  size_multiple: input height and width must
        be multiples of it (imgen pads by reflection).  tile: preferred tile size (0 = never tile).
    input_channels: channels of the image input tensor when it is more than ``channels`` (a noise map
        appended); extra_channels: what channels after the colour ones mean ("alpha", "noise").
    noise_units: sigma as a fraction of the full range ("fraction") or on the 0-255 scale ("255").
    receptive_field: radius in input pixels that one output pixel sees (a seam-free tile overlap
        needs it, see docs/model-format.md); whole_image: True when the output depends on the whole
        input (global pooling, image-wide attention: tiles can never match the whole image).
    norm_stats: "instance" when the file's instance-norm layers report their per-channel statistics
        and can take given ones (graph inputs/outputs ``imgen_given_*``/``imgen_stat_*``), so
        large images run in tiles fed statistics of a whole-image pass (docs/model-format.md).
    pre_upsample: "bicubic" when the graph runs at the output's size (VDSR, SRCNN): imgen enlarges
        the input by ``scale`` with MATLAB's bicubic (``imgen.degrade.upscale``) and runs a scale-1 graph.
    color_space: "rgb" (the channels are the image's: gray, RGB/BGR) or "y" (a 1-channel model on Y
        of BT.601 studio-range YCbCr, MATLAB's rgb2ycbcr: colour images run as Y through the model,
        Cb and Cr resampled as the model resamples).  published: free text, the figure the model's
        paper reports (shown by ``imgen info`` and ``imgen bench``).
    square: height and width must be equal.  inferred: metadata keys found by probing the graph
        rather than declared by the model's author (``imgen import`` of a third-party file).
    """

    task: str | None = None
    channels: int | None = None
    color_order: str = "rgb"
    value_range: tuple[float, float] = (0.0, 1.0)
    scale: int | None = None
    size_multiple: int = 1
    min_size: int = 1
    tile: int | None = None
    tile_overlap: int | None = None
    noise_input: str | None = None
    noise_kind: str = "map"
    latent_shape: tuple[int, ...] | None = None
    mask_input: str | None = None
    mask_polarity: str = "1"
    zero_holes: bool = False
    schema: int | None = None
    name: str | None = None
    description: str | None = None
    extra: Mapping[str, str] = field(default_factory=dict)
    input_channels: int | None = None
    extra_channels: str | None = None
    noise_units: str = "fraction"
    receptive_field: int | None = None
    whole_image: bool | None = None
    square: bool = False
    inferred: tuple[str, ...] = ()
    norm_stats: str | None = None
    pre_upsample: str | None = None
    color_space: str = "rgb"
    published: str | None = None

    @property
    def graph_scale(self) -> int | None:
        """Output size / input size of the graph itself: 1 for a pre-upsampling model (``scale`` is
        then the overall factor), else ``scale`` (None = unknown until a run)."""
        return 1 if self.pre_upsample is not None else self.scale

    def replace(self, **changes: object) -> "ModelInfo":
        """A copy with some fields changed (validated)."""
        info = dataclasses.replace(self, **changes)
        info.validate()
        return info

    def validate(self) -> None:
        """Raise ModelError if a field holds an unsupported value; the message names the metadata
        key (``imgen.min_size``), what was given and what is allowed."""
        if self.schema is not None and self.schema < 1:
            raise ModelError(f"imgen.schema must be >= 1, got {self.schema}")
        if self.task is not None and self.task not in TASKS:
            raise ModelError(f"imgen.task must be one of {', '.join(TASKS)}, got {self.task!r}")
        if self.channels is not None and self.channels not in (1, 3, 4):
            raise ModelError(f"imgen.channels must be 1, 3 or 4, got {self.channels}")
        if self.color_order not in COLOR_ORDERS:
            raise ModelError(f"imgen.color_order must be 'rgb' or 'bgr', got {self.color_order!r}")
        self._validate_range()
        if self.scale is not None and self.scale < 1:
            raise ModelError(f"imgen.scale must be a positive integer, got {self.scale}")
        for key, value in (("size_multiple", self.size_multiple), ("min_size", self.min_size)):
            if not 1 <= value <= MAX_SIDE:
                raise ModelError(f"imgen.{key} must be an integer from 1 to {MAX_SIDE}, got {value}")
        if self.tile is not None and self.tile < 0:
            raise ModelError(f"imgen.tile must be >= 0 (0 = never tile), got {self.tile}")
        if self.tile_overlap is not None and self.tile_overlap < 0:
            raise ModelError(f"imgen.tile_overlap must be >= 0, got {self.tile_overlap}")
        if self.noise_kind not in NOISE_KINDS:
            raise ModelError(f"imgen.noise_kind must be 'map' or 'scalar', got {self.noise_kind!r}")
        if self.latent_shape is not None:
            self._validate_latent_shape()
        self._validate_channels()
        if self.noise_units not in NOISE_UNITS:
            raise ModelError(f"imgen.noise_units must be 'fraction' or '255', got {self.noise_units!r}")
        if self.receptive_field is not None and not 0 <= self.receptive_field <= 65536:
            raise ModelError(f"imgen.receptive_field must be an integer from 0 to 65536, got {self.receptive_field}")
        unknown = [k for k in self.inferred if k not in METADATA_KEYS]
        if unknown:
            raise ModelError(f"imgen.inferred names unknown keys {', '.join(unknown)}; expected keys such as "
                             f"scale, size_multiple, receptive_field")
        if self.norm_stats is not None and self.norm_stats not in NORM_STATS:
            raise ModelError(f"imgen.norm_stats must be {' or '.join(repr(k) for k in NORM_STATS)}, "
                             f"got {self.norm_stats!r}")
        self._validate_conventions()
        if self.mask_polarity not in MASK_POLARITIES:
            raise ModelError(f"imgen.mask_polarity must be '1' (1 = missing) or '0' (0 = missing), "
                             f"got {self.mask_polarity!r}")

    def _validate_conventions(self) -> None:
        if self.pre_upsample is not None:
            if self.pre_upsample not in PRE_UPSAMPLES:
                raise ModelError(f"imgen.pre_upsample must be {' or '.join(repr(k) for k in PRE_UPSAMPLES)}, "
                                 f"got {self.pre_upsample!r}")
            if self.scale is None or self.scale < 2:
                raise ModelError(f"imgen.pre_upsample {self.pre_upsample} needs imgen.scale, the overall factor "
                                 f"imgen enlarges the input by (an integer >= 2), got {self.scale}")
        if self.color_space not in COLOR_SPACES:
            raise ModelError(f"imgen.color_space must be 'rgb' or 'y' (Y of YCbCr), got {self.color_space!r}")
        if self.color_space == "y" and self.channels not in (None, 1):
            raise ModelError(f"imgen.color_space y is for 1-channel models (Y of YCbCr), but the model has "
                             f"{self.channels} channels (imgen.channels)")

    def _validate_channels(self) -> None:
        if self.extra_channels is not None and self.extra_channels not in EXTRA_CHANNELS:
            raise ModelError(f"imgen.extra_channels must be 'alpha' or 'noise', got {self.extra_channels!r}")
        if self.extra_channels == "alpha" and self.channels not in (None, 4):
            raise ModelError(f"imgen.extra_channels 'alpha' needs imgen.channels 4, got {self.channels}")
        if self.input_channels is None:
            if self.extra_channels == "noise":
                raise ModelError("imgen.extra_channels 'noise' needs imgen.input_channels (colour channels + 1)")
            return
        if not 1 <= self.input_channels <= MAX_INPUT_CHANNELS:
            raise ModelError(f"imgen.input_channels must be an integer from 1 to {MAX_INPUT_CHANNELS}, "
                             f"got {self.input_channels}")
        if self.extra_channels == "noise":
            if self.channels not in (1, 3) or self.input_channels != self.channels + 1:
                raise ModelError(f"imgen.extra_channels 'noise' needs imgen.channels 1 or 3 and imgen.input_channels "
                                 f"one more, got channels {self.channels}, input_channels {self.input_channels}")
        elif self.channels is not None and self.input_channels != self.channels:
            raise ModelError(f"imgen.input_channels {self.input_channels} differs from imgen.channels "
                             f"{self.channels}; say what the extra channels are with imgen.extra_channels=noise")

    @property
    def overlap_needed(self) -> int | None:
        """The smallest tile overlap that blends seam-free at the receptive field (None = unknown):
        the outer quarter of an overlap gets no weight, so four times (radius + 1), at least 8."""
        return None if self.receptive_field is None else max(8, 4 * (self.receptive_field + 1))

    def _validate_range(self) -> None:
        given = ",".join(f"{v:g}" for v in self.value_range) if len(self.value_range) == 2 else self.value_range
        if len(self.value_range) != 2 or not all(math.isfinite(v) for v in self.value_range):
            raise ModelError(f"imgen.range must be two finite numbers low,high, got {given}")
        lo, hi = self.value_range
        if not lo < hi:
            raise ModelError(f"imgen.range must have low < high, got {given}")
        if max(abs(lo), abs(hi)) > MAX_RANGE or (hi - lo) < max(abs(lo), abs(hi)) * 2.0**-8:
            raise ModelError(f"imgen.range {given} does not fit float32 tensors: bounds within "
                             f"+-{MAX_RANGE:g} and a span of at least 1/256 of their magnitude "
                             f"(e.g. 0,1 or -1,1 or 0,255)")

    def _validate_latent_shape(self) -> None:
        shape = self.latent_shape
        given = ",".join(str(d) for d in shape)
        if not shape or any(d < 1 for d in shape):
            raise ModelError(f"imgen.latent_shape must be positive integers, got {given or '(empty)'}")
        elements = math.prod(shape)
        if elements > MAX_LATENT_ELEMENTS:
            raise ModelError(f"imgen.latent_shape {given} has {elements} elements; at most "
                             f"{MAX_LATENT_ELEMENTS} (16 MiB of float32) are allowed")

    def to_metadata(self) -> dict[str, str]:
        """The ``metadata_props`` entries that describe this model (for exporters)."""
        out = {"imgen.schema": str(SCHEMA_VERSION)}
        if self.task is not None:
            out["imgen.task"] = self.task
        if self.channels is not None:
            out["imgen.channels"] = str(self.channels)
        out["imgen.color_order"] = self.color_order
        out["imgen.range"] = f"{self.value_range[0]:g},{self.value_range[1]:g}"
        if self.scale is not None:
            out["imgen.scale"] = str(self.scale)
        out["imgen.size_multiple"] = str(self.size_multiple)
        if self.min_size != 1:
            out["imgen.min_size"] = str(self.min_size)
        if self.tile is not None:
            out["imgen.tile"] = str(self.tile)
        if self.tile_overlap is not None:
            out["imgen.tile_overlap"] = str(self.tile_overlap)
        if self.noise_input is not None:
            out["imgen.noise_input"] = self.noise_input
            out["imgen.noise_kind"] = self.noise_kind
        if self.latent_shape is not None:
            out["imgen.latent_shape"] = ",".join(str(d) for d in self.latent_shape)
        if self.mask_input is not None:
            out["imgen.mask_input"] = self.mask_input
            out["imgen.mask_polarity"] = self.mask_polarity
            out["imgen.zero_holes"] = "1" if self.zero_holes else "0"
        if self.name is not None:
            out["imgen.name"] = self.name
        if self.description is not None:
            out["imgen.description"] = self.description
        if self.input_channels is not None:
            out["imgen.input_channels"] = str(self.input_channels)
        if self.extra_channels is not None:
            out["imgen.extra_channels"] = self.extra_channels
        if self.noise_input is not None or self.extra_channels == "noise" or self.noise_units != "fraction":
            out["imgen.noise_units"] = self.noise_units
        if self.receptive_field is not None:
            out["imgen.receptive_field"] = str(self.receptive_field)
        if self.whole_image is not None:
            out["imgen.whole_image"] = "true" if self.whole_image else "false"
        if self.square:
            out["imgen.square"] = "true"
        if self.norm_stats is not None:
            out["imgen.norm_stats"] = self.norm_stats
        if self.pre_upsample is not None:
            out["imgen.pre_upsample"] = self.pre_upsample
        if self.color_space != "rgb":
            out["imgen.color_space"] = self.color_space
        if self.published is not None:
            out["imgen.published"] = self.published
        if self.inferred:
            out["imgen.inferred"] = ",".join(self.inferred)
        out.update({PREFIX + k: v for k, v in self.extra.items()})
        return out


def _int(key: str, value: str) -> int:
    try:
        return int(value)
    except ValueError:
        raise ModelError(f"metadata {key} must be an integer, got {value!r}") from None


def _floats(key: str, value: str, count: int | None = None) -> tuple[float, ...]:
    try:
        parts = tuple(float(p) for p in value.split(","))
    except ValueError:
        raise ModelError(f"metadata {key} must be comma-separated numbers, got {value!r}") from None
    if count is not None and len(parts) != count:
        raise ModelError(f"metadata {key} must have {count} comma-separated numbers, got {value!r}")
    return parts


def _bool(key: str, value: str) -> bool:
    lowered = value.lower()
    if lowered in ("1", "true", "yes"):
        return True
    if lowered in ("0", "false", "no"):
        return False
    raise ModelError(f"metadata {key} must be true or false (or 1/0), got {value!r}")


#: The metadata keys imgen reads (after the ``imgen.`` prefix); others are kept in ModelInfo.extra.
METADATA_KEYS = (
    "schema", "task", "channels", "color_order", "range", "scale", "size_multiple", "min_size",
    "tile", "tile_overlap", "noise_input", "noise_kind", "latent_shape", "name", "description",
    "input_channels", "extra_channels", "noise_units", "receptive_field", "whole_image", "square", "inferred",
    "mask_input", "mask_polarity", "zero_holes", "norm_stats", "pre_upsample", "color_space", "published",
)


def parse_metadata(props: Mapping[str, str]) -> ModelInfo:
    """Build a ModelInfo from ONNX ``metadata_props``; keys without the prefix are ignored.

    Raises ModelError naming the key for a malformed value or a newer schema version.
    """
    meta = {k[len(PREFIX):]: v.strip() for k, v in props.items() if k.startswith(PREFIX)}
    kw: dict[str, object] = {}
    if "schema" in meta:
        kw["schema"] = _int("imgen.schema", meta["schema"])
        if kw["schema"] > SCHEMA_VERSION:
            raise ModelError(
                f"model metadata uses imgen schema {kw['schema']}, this imgen reads up to "
                f"{SCHEMA_VERSION}: upgrade imgen"
            )
    for key in ("task", "noise_input", "mask_input", "mask_polarity", "name", "description", "published"):
        if key in meta:
            kw[key] = meta[key]
    for key in ("color_order", "noise_kind", "extra_channels", "noise_units", "norm_stats", "pre_upsample",
                "color_space"):
        if key in meta:
            kw[key] = meta[key].lower()
    for key in ("channels", "scale", "size_multiple", "min_size", "tile", "tile_overlap", "input_channels",
                "receptive_field"):
        if key in meta:
            kw[key] = _int("imgen." + key, meta[key])
    if "zero_holes" in meta:
        kw["zero_holes"] = _bool("imgen.zero_holes", meta["zero_holes"])
    if "range" in meta:
        kw["value_range"] = _floats("imgen.range", meta["range"], 2)
    if "latent_shape" in meta:
        kw["latent_shape"] = tuple(_int("imgen.latent_shape", p) for p in meta["latent_shape"].split(","))
    for key in ("whole_image", "square"):
        if key in meta:
            kw[key] = _bool("imgen." + key, meta[key])
    if meta.get("inferred"):
        kw["inferred"] = tuple(k.strip() for k in meta["inferred"].split(",") if k.strip())
    kw["extra"] = {k: v for k, v in meta.items() if k not in METADATA_KEYS}
    info = ModelInfo(**kw)  # type: ignore[arg-type]
    info.validate()
    return info
