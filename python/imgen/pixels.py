"""Pixel conversion between a caller's images and a model's tensors, shared by every caller of a
model (engine, generative, processors).

Images are HWC numpy arrays (H, W) / (H, W, C): uint8, uint16, or float32 in [0, 1]; tensors
are NCHW float in the model's value range (``ModelInfo.value_range``) and colour order.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from . import _ycbcr
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


#: What a model call does when an image's channels differ from the model's (``color=``):
#: "ycbcr" converts and keeps the image's colour, "luma" runs colour as its luma and returns gray,
#: "strict" refuses (ValueError).  See :func:`prepare`.
COLOR_POLICIES = ("ycbcr", "luma", "strict")


#: Colour images of at least this many pixels on a 1-channel model ("ycbcr") run one plane at a
#: time (:attr:`Prepared.makers`): the three float planes and their three outputs (24 bytes a
#: pixel, ~3.5 GB for 12000^2) are never all held.  Smaller ones run as a batch of three planes.
PLANE_BY_PLANE_PIXELS = 1 << 22


def _same(out: np.ndarray) -> np.ndarray:
    return out


@dataclass
class Prepared:
    """One caller image made ready for a model's graph: ``inputs`` (HWC/HW images, each a graph
    input at the graph's own scale), each one's noise level, and ``finish``, which turns the graph's
    outputs for ``inputs`` into the image the caller gets.

    A large image's inputs may instead come as ``makers`` (``inputs`` then empty): the caller makes
    each input, runs it and passes its output through ``keep`` (a compact form) before making the
    next, then calls ``finish`` with the kept outputs, so only one input is ever held."""

    inputs: list[np.ndarray]
    sigmas: list[float | None]
    finish: Callable[[list[np.ndarray]], np.ndarray]
    makers: list[Callable[[], np.ndarray]] = field(default_factory=list)
    keep: Callable[[np.ndarray], np.ndarray] = _same


def prepare(img: np.ndarray, info: ModelInfo, *, color: str, color_order: str, sigma: float | None,
            clamp: bool, what: str, model: str) -> Prepared:
    """The conventions of a model (``info``: channels, ``color_space``, ``pre_upsample``, scale)
    applied to one caller image (HWC/HW uint8, uint16 or float32, finite), under the colour policy
    ``color`` (one of COLOR_POLICIES, checked by the caller).  The one place where imgen decides what a model sees:

    - channels that match go as they are (RGBA on a 3-channel model: alpha kept aside, resized to
      the output's size);
    - a 1-channel model on colour: "ycbcr" runs Y, Cb and Cr (BT.601 full range) through the model
      as three gray images, ``sigma`` scaled to each plane's noise, for a model that keeps the size
      (from PLANE_BY_PLANE_PIXELS one plane at a time, 8-bit images as uint16 planes);
      Y alone for an upscaler (``imgen.scale`` > 1) and for a ``color_space`` y model (studio-range Y,
      MATLAB's), Cb and Cr then enlarged by MATLAB bicubic (unchanged at scale 1); "luma" runs the
      BT.601 luma and returns gray; "strict" raises ValueError;
    - a ``color_space`` y model on gray: the gray as Y (R = G = B) and back;
    - gray on a colour model: three equal channels (colour out); on a 4-channel alpha model, an
      opaque alpha added ("strict" raises);
    - ``pre_upsample``: every graph input enlarged by ``info.scale`` with MATLAB bicubic
      (``degrade.upscale``, in float32) before the graph, whose scale is then 1.

    The finished image has the caller's dtype (integers rounded and clipped; float32 clipped to
    [0, 1] with ``clamp``) and layout (2-D gray stays 2-D)."""
    dtype, gray2d = img.dtype, img.ndim == 2
    want, have = info.channels, channel_count(img)
    if want is None:
        raise ValueError(f"model {model} does not say how many channels it takes: pass info={{'channels': N}}")
    alpha = None
    if have == 4 and want in (1, 3):
        img, alpha, have = img[..., :3], img[..., 3], 3

    def done(out: np.ndarray) -> np.ndarray:
        return restore_layout(to_dtype(out, dtype, clamp), alpha, gray2d)

    if want == 1 and have == 3:
        if color == "strict":
            raise ValueError(f"model {model} expects 1 channel (gray), {what} has {3 if alpha is None else 4}; "
                             f"pass color='ycbcr' (colour kept) or color='luma' (gray out)")
        if color == "luma":  # gray out, without the alpha (gray + alpha is no image imgen writes)
            return _gray_prepared(luma(img), info, sigma, _ycbcr.FULL.noise[0],
                                  lambda out: restore_layout(to_dtype(out, dtype, clamp), None, False))
        return _ycbcr_prepared(img, info, color_order, sigma, clamp, dtype, alpha)
    if want == 1:
        return _gray_prepared(img, info, sigma, 1.0, done)
    if have != want:
        if want == 4 and info.extra_channels != "alpha":
            raise ValueError(f"model {model} takes 4 channels but does not say what the 4th is, so {what} "
                             f"({have} channel(s)) cannot be converted: if it is alpha, declare it with "
                             f"info={{'extra_channels': 'alpha'}}")
        if color == "strict":
            names = {1: "gray", 3: "colour", 4: "colour with alpha"}
            raise ValueError(f"model {model} expects {want} channel(s) ({names[want]}), {what} has {have}; "
                             f"pass color='ycbcr' to convert")
        if not (want == 3 and have == 1):
            img = _to_colour(img, want)
        # gray on a colour model stays gray here: the engine makes each batch of tiles three channels
        # (ImageModel._expand), so a full-size RGB copy is never held (3.47 GB at 20000^2 gray before)
        gray2d = False
    return Prepared([_pre_upsample(img, info)], [sigma], lambda outs: done(outs[0]))


def _gray_prepared(img: np.ndarray, info: ModelInfo, sigma, gain: float, done) -> Prepared:
    """A gray image (HW or HW1) on a 1-channel model: as it is, or as Y for a ``color_space`` y
    model.  ``gain``: the noise of this gray image for unit noise in the caller's (the luma's 0.669)."""
    if info.color_space != "y":
        return Prepared([_pre_upsample(img, info)], [_scaled(sigma, gain)], lambda outs: done(outs[0]))
    space = _ycbcr.STUDIO
    plane = space.gray_to_y(as_float(img).reshape(img.shape[:2]))
    return Prepared([_pre_upsample(plane, info)], [_scaled(sigma, gain * sum(space.matrix[0]))],
                    lambda outs: done(space.y_to_gray(outs[0].reshape(outs[0].shape[:2]))[..., None]))


def _ycbcr_prepared(img, info: ModelInfo, color_order: str, sigma, clamp: bool, dtype, alpha) -> Prepared:
    """A colour image on a 1-channel model under the "ycbcr" policy.  From PLANE_BY_PLANE_PIXELS
    the planes are made one at a time (:attr:`Prepared.makers`), 8-bit images' as uint16 planes
    whose outputs are kept as uint16 (an identity is still exact, a denoiser within 1 level)."""
    space = _ycbcr.STUDIO if info.color_space == "y" else _ycbcr.FULL
    luma_only = info.color_space == "y" or (info.scale or 1) > 1
    count = 1 if luma_only else 3
    sigmas = [_scaled(sigma, n) for n in space.noise[:count]]
    h = img.shape[0]
    one_at_a_time = img.shape[0] * img.shape[1] >= PLANE_BY_PLANE_PIXELS
    planes = None if one_at_a_time else _ycbcr.to_planes(img, color_order, space)
    compact = one_at_a_time and dtype == np.uint8

    def plane(c: int, small: bool) -> np.ndarray:
        return planes[c] if planes is not None else _ycbcr.plane(img, color_order, c, space, compact=small)

    def finish(outs: list[np.ndarray]) -> np.ndarray:
        got = [o.reshape(o.shape[:2]) for o in outs]
        if luma_only:
            factor = outs[0].shape[0] // h
            got += [plane(c, compact) if factor == 1 else _degrade().upscale(plane(c, False), factor)
                    for c in (1, 2)]
        out = _ycbcr.from_planes(got, dtype, color_order, space, clamp)
        return out if alpha is None else with_alpha(out, alpha)

    if planes is not None:
        return Prepared([_pre_upsample(p, info) for p in planes[:count]], sigmas, finish)
    makers: list[Callable[[], np.ndarray]] = [
        functools.partial(lambda c: _pre_upsample(plane(c, compact), info), c) for c in range(count)]
    keep = (lambda out: out if out.dtype == np.uint16 else _ycbcr.to_compact(out)) if compact else _same
    return Prepared([], sigmas, finish, makers=makers, keep=keep)


def _scaled(sigma: float | None, factor: float) -> float | None:
    return None if sigma is None else sigma * factor


def _degrade():
    from . import degrade  # here: degrade imports _validate only, but keeps pixels light to import

    return degrade


def _pre_upsample(img: np.ndarray, info: ModelInfo) -> np.ndarray:
    """The graph's input for a pre-upsampling model (``imgen.pre_upsample``): the image in float32,
    enlarged by ``info.scale`` with MATLAB's bicubic; other models' inputs are returned as they are."""
    if info.pre_upsample is None:
        return img
    assert info.pre_upsample == "bicubic" and info.scale is not None
    return _degrade().upscale(as_float(img), info.scale)


def as_float(img: np.ndarray) -> np.ndarray:
    """An image as float32 in [0, 1] (uint8 / uint16 divided by their white level)."""
    if img.dtype == np.float32:
        return img
    return img.astype(np.float32) * np.float32(1.0 / image_max(img.dtype))


def to_dtype(out: np.ndarray, dtype: np.dtype, clamp: bool = False) -> np.ndarray:
    """A float32 [0, 1] (or already ``dtype``) image in ``dtype``: integers rounded and clipped,
    float32 clipped to [0, 1] only with ``clamp``."""
    dtype = np.dtype(dtype)
    if out.dtype == dtype:
        return out
    if dtype == np.float32:
        out = out.astype(np.float32)
        return np.clip(out, 0.0, 1.0, out=out) if clamp else out
    top = image_max(dtype)
    return np.clip(np.rint(out * np.float32(top)), 0, top).astype(dtype)


def luma(img: np.ndarray) -> np.ndarray:
    """BT.601 luma (H, W) of a colour HWC image in its own dtype (integers rounded), band by band
    so a large image never has a full-size float copy."""
    gray = np.empty(img.shape[:2], img.dtype)
    for y0, y1 in bands(img):
        value = img[y0:y1, :, :3].astype(np.float32) @ _LUMA
        if img.dtype != np.float32:
            value = np.clip(np.rint(value), 0, image_max(img.dtype)).astype(img.dtype)
        gray[y0:y1] = value
    return gray


def _to_colour(img: np.ndarray, want: int) -> np.ndarray:
    """Gray -> three equal channels; for ``want`` 4 an opaque alpha appended."""
    have = channel_count(img)
    base = img if img.ndim == 2 else img[..., 0]
    rgb = np.repeat(base[..., None], 3, axis=2) if have == 1 else img[..., :3]
    if want == 4:
        alpha = np.full(base.shape, image_max(img.dtype), img.dtype)
        rgb = np.concatenate([rgb, alpha[..., None]], axis=2)
    return rgb


def conversion_note(have: int, info: ModelInfo, color: str = "ycbcr") -> str | None:
    """What :func:`prepare` does to an image of ``have`` channels on this model, for a caller to
    report (None when nothing is converted)."""
    want = info.channels
    if want == 1 and have in (3, 4) and color == "ycbcr":
        if info.color_space == "y":
            return "1-channel Y model (imgen.color_space y) on colour images: Y through the model, Cb and Cr " + (
                "MATLAB bicubic" if (info.scale or 1) > 1 else "unchanged")
        if (info.scale or 1) > 1:
            return "1-channel upscaler on colour images: Y through the model, Cb and Cr MATLAB bicubic"
        return "1-channel model on colour images: run on Y, Cb and Cr separately, colour kept"
    if want == 1 and have in (3, 4):
        return "colour images run as their luma (gray out)"
    if have != want and not (have == 4 and want == 3):
        return f"{have}-channel images converted to the model's {want} channel(s)"
    return None


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
