"""Pixel conversion between a caller's images and a model's tensors, shared by every caller of a
model (engine, generative, processors).

Images are HWC numpy arrays (H, W) / (H, W, C): uint8, uint16, or float32 in [0, 1]; tensors
are NCHW float in the model's value range (``ModelInfo.value_range``) and colour order.
"""
from __future__ import annotations

import numpy as np

from ._validate import image_max
from .model_info import ModelInfo

_LUMA = np.array([0.299, 0.587, 0.114], np.float32)  # BT.601


def normalization(info: ModelInfo, dtype: np.dtype, color_order: str, channels: int) -> dict:
    """``to_tensor`` / ``from_tensor`` keyword arguments mapping an image of ``dtype`` (white =
    image_max) in ``color_order`` to the model's value range and colour order, and back."""
    lo, hi = info.value_range
    return {"scale": (hi - lo) / image_max(dtype), "mean": -lo,
            "swap_rb": channels >= 3 and color_order != info.color_order}


def bands(image: np.ndarray, samples: int = 1 << 20) -> list[tuple[int, int]]:
    """(y0, y1) row bands of about `samples` samples each (a multiple of 16 rows), covering the image."""
    per_row = max(1, image[0].size)
    step = max(16, samples // per_row // 16 * 16)
    return [(y, min(y + step, image.shape[0])) for y in range(0, image.shape[0], step)]


def all_finite(image: np.ndarray) -> bool:
    """np.isfinite(image).all() without a full-size boolean array."""
    return all(np.isfinite(image[y0:y1]).all() for y0, y1 in bands(image))


def channel_count(image: np.ndarray) -> int:
    return 1 if image.ndim == 2 else image.shape[2]


def adapt_channels(img: np.ndarray, want: int, *, convert: bool, what: str, model: str,
                   fourth: str | None = None):
    """(image with ``want`` channels, alpha to re-attach or None, was 2-D).

    RGBA on a 3-channel model keeps its alpha aside; other mismatches raise ValueError naming
    ``model`` and ``what`` (the image) unless ``convert``: colour -> BT.601 luma, gray -> three
    equal channels; for a 4-channel model whose 4th channel is alpha (``fourth="alpha"``) an opaque
    alpha is added.  A 4-channel model that does not say what its 4th channel is cannot be fed
    converted images (ValueError naming the metadata that would say it)."""
    gray2d = img.ndim == 2
    have = channel_count(img)
    if have == want:
        return img, None, gray2d
    if have == 4 and want == 3:
        return img[..., :3], img[..., 3], gray2d
    if not convert:
        names = {1: "gray", 3: "colour", 4: "colour with alpha"}
        raise ValueError(f"model {model} expects {want} channel(s) ({names[want]}), {what} has {have}; "
                         f"pass convert_channels=True (CLI: converted automatically)")
    if want == 4 and fourth != "alpha":
        raise ValueError(f"model {model} takes 4 channels but does not say what the 4th is, so {what} "
                         f"({have} channel(s)) cannot be converted: if it is alpha, declare it with "
                         f"info={{'extra_channels': 'alpha'}} (command line: --info extra_channels=alpha)")
    if want == 1:
        # Band by band, so a large image never has a full-size float copy.
        gray = np.empty(img.shape[:2], img.dtype)
        for y0, y1 in bands(img):
            luma = img[y0:y1, :, :3].astype(np.float32) @ _LUMA
            if img.dtype != np.float32:
                luma = np.clip(np.rint(luma), 0, image_max(img.dtype)).astype(img.dtype)
            gray[y0:y1] = luma
        return gray, None, False
    base = img if gray2d else img[..., 0]
    rgb = np.repeat(base[..., None], 3, axis=2) if have == 1 else img[..., :3]
    if want == 4:  # colour (or gray made colour) with an opaque alpha
        alpha = np.full(base.shape, image_max(img.dtype), img.dtype)
        rgb = np.concatenate([rgb, alpha[..., None]], axis=2)
    return rgb, None, False


def with_alpha(out: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """``out`` (H, W, C) with ``alpha`` appended as its last channel, resized (bilinear) to the
    output's size for upscalers and cast to its dtype."""
    oh, ow = out.shape[:2]
    if alpha.shape != (oh, ow):
        import cv2

        alpha = cv2.resize(alpha, (ow, oh), interpolation=cv2.INTER_LINEAR)
    return np.concatenate([out, alpha[..., None].astype(out.dtype)], axis=2)


def restore_layout(out: np.ndarray, alpha: np.ndarray | None, gray2d: bool) -> np.ndarray:
    """Put the caller's alpha back and drop the channel axis for 2-D gray input."""
    if alpha is not None:
        out = with_alpha(out, alpha)
    if gray2d and out.shape[2] == 1:
        out = out[..., 0]
    return out
