"""Inpaint models (task ``inpaint``): an image and a mask in, the filled image out.

The model runs once per hole region (``regions.hole_regions``): each group of holes' bounding box
plus ``context`` pixels on each side, boxes merged where they overlap, padded by reflection to the
model's size multiple; only those crops run, however large the image.  A region larger than
``max_side`` on either side is refused (ValueError naming both sizes) rather than run at a size the
model was not made for: split the mask or raise max_side (no downscale-fill-upscale fallback).
"""
from __future__ import annotations

import numpy as np

from .. import _core
from .._validate import as_image
from ..engine import Model, with_article
from ..errors import ModelError
from ..model_info import ModelInfo
from ..pixels import normalization
from .regions import fill_regions, hole_regions
from .masks import as_mask

_TENSOR_DTYPES = {"tensor(float)": np.float32, "tensor(float16)": np.float16}
DEFAULT_CONTEXT = 64
DEFAULT_MAX_SIDE = 4096


class InpaintModel(Model):
    """Call it as ``model(image, mask)``: image HWC (H, W) / (H, W, C), uint8 / uint16 / float32
    (0-1); mask (H, W) nonzero = missing.  Returns the image (same dtype and shape) with the holes
    filled and every other pixel exactly as given."""

    TASKS = ("inpaint",)

    def _complete_info(self, info: ModelInfo) -> ModelInfo:
        info = super()._complete_info(info)
        if info.task not in self.TASKS:
            return info
        names = [i.name for i in self.inputs]
        if info.mask_input is None or info.mask_input not in names:
            raise ModelError(f"{with_article(info.task)} model must name its mask input in imgen.mask_input "
                             f"(one of {', '.join(names)}), got {info.mask_input!r}")
        images = [i for i in self.inputs if i.name != info.mask_input]
        if len(images) != 1 or len(images[0].shape) != 4 or images[0].type not in _TENSOR_DTYPES:
            raise ModelError(f"an inpaint model needs one 4-D float NCHW image input besides its mask "
                             f"{info.mask_input!r}, got {self.inputs}")
        if info.channels is None and isinstance(images[0].shape[1], int):
            info = info.replace(channels=images[0].shape[1])
        return info

    @property
    def image_input(self):
        return next(s for s in self.inputs if s.name != self.info.mask_input)

    def __call__(self, image: np.ndarray, mask: np.ndarray, *, context: int = DEFAULT_CONTEXT,
                 max_side: int = DEFAULT_MAX_SIDE, color_order: str = "rgb") -> np.ndarray:
        image = as_image(image)
        holes = as_mask(mask, image.shape)
        c = 1 if image.ndim == 2 else image.shape[2]
        if self.info.channels is not None and c != self.info.channels:
            raise ValueError(f"model {self.name} takes {self.info.channels}-channel images, got {c} "
                             f"(shape {image.shape})")
        if context < 0:
            raise ValueError(f"context must be >= 0 pixels, got {context}")
        if not holes.any():
            return image.copy()
        regions = hole_regions(holes, context)
        for y0, y1, x0, x1 in regions:
            if max(y1 - y0, x1 - x0) > max_side:
                raise ValueError(f"a hole with {context} px context spans {x1 - x0}x{y1 - y0} (WxH), larger than "
                                 f"max_side={max_side}: split the mask or raise max_side")
        return fill_regions(image, holes, regions, lambda crop, crop_holes: self._run(crop, crop_holes, color_order))

    def _run(self, crop: np.ndarray, holes: np.ndarray, color_order: str) -> np.ndarray:
        h, w = crop.shape[:2]
        c = 1 if crop.ndim == 2 else crop.shape[2]
        m, least = self.info.size_multiple, self.info.min_size
        ph, pw = (max(-(-s // m) * m, -(-least // m) * m) for s in (h, w))
        tensor_dtype = _TENSOR_DTYPES[self.image_input.type]
        norm = normalization(self.info, crop.dtype, color_order, c)
        regions = None if (ph, pw) == (h, w) else [(0, 0, ph, pw)]
        tensor = _core.to_tensor([crop], dtype=tensor_dtype, regions=regions, **norm)
        missing = np.zeros((1, 1, ph, pw), np.float32)
        missing[0, 0, :h, :w] = holes
        if self.info.zero_holes:
            tensor = tensor * (1 - missing).astype(tensor.dtype)
        spec = next(i for i in self.inputs if i.name == self.info.mask_input)
        mask_value = missing if self.info.mask_polarity == "1" else 1 - missing
        feeds = {self.image_input.name: tensor,
                 spec.name: mask_value.astype(_TENSOR_DTYPES.get(spec.type, np.float32))}
        out = self.run(feeds)[0]
        if out.shape[:2] != (1, c) or out.shape[2:] != (ph, pw):
            raise ModelError(f"inpaint model {self.name} returned shape {out.shape}, expected (1, {c}, {ph}, {pw})")
        norm_out = normalization(self.info, crop.dtype, color_order, c)
        crop_box = None if (ph, pw) == (h, w) else (0, 0, h, w)
        result = _core.from_tensor(out, dtype=crop.dtype, crop=crop_box, clamp=True, **norm_out)[0]
        return result.reshape(crop.shape)
