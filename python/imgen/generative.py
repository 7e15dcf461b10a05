"""Generative models through the engine: sampling, latent interpolation, VAE encode/decode.

Latents are standard normal draws from ``numpy.random.default_rng(seed)``: ``latents(model, n,
seed)`` is ``default_rng(seed).standard_normal((n, *latent_shape), dtype=float32)``, so image k of
``generate(model, n, seed=s)`` is the same whatever the batch size.  Images come back NHWC (C = the
model's channels, RGB order unless ``color_order="bgr"``), uint8 (default) or float32 in [0, 1].
"""
from __future__ import annotations

import math
from typing import TYPE_CHECKING, Sequence

import numpy as np

from ._core import from_tensor, to_tensor
from ._validate import as_image, image_max
from .errors import ModelError

if TYPE_CHECKING:
    from .engine import Model


def make_grid(images: np.ndarray | Sequence[np.ndarray], cols: int | None = None, pad: int = 1,
              fill: int | float = 0) -> np.ndarray:
    """Tile an (N, H, W, C) stack (or a list of same-shape HWC images) into one (H', W', C) image,
    ``cols`` per row (default: about square), ``pad`` pixels of ``fill`` between them."""
    stack = np.asarray(images)
    if stack.ndim == 3:
        stack = stack[..., None]
    if stack.ndim != 4 or stack.shape[0] == 0:
        raise ValueError(f"make_grid needs a non-empty (N, H, W, C) stack, got shape {stack.shape}")
    n, h, w, c = stack.shape
    cols = cols or math.ceil(math.sqrt(n))
    if cols < 1:
        raise ValueError(f"cols must be >= 1, got {cols}")
    rows = math.ceil(n / cols)
    grid = np.full((rows * (h + pad) + pad, cols * (w + pad) + pad, c), fill, stack.dtype)
    for k in range(n):
        y, x = pad + (k // cols) * (h + pad), pad + (k % cols) * (w + pad)
        grid[y:y + h, x:x + w] = stack[k]
    return grid


def with_article(word: str | None) -> str:
    """'a generate', 'an encode' (for messages naming tasks)."""
    word = str(word)
    return ("an " if word[:1] in "aeiou" else "a ") + word


def _as_model(model: "Model | str", tasks: tuple[str, ...], what: str) -> "Model":
    from .engine import Model, load

    if not isinstance(model, Model):
        model = load(model)
    if model.info.task not in tasks:
        raise ModelError(f"model {model.name} is {with_article(model.info.task)} model; {what} needs "
                         f"{with_article(' or '.join(tasks))} model")
    return model


def latent_shape(model: "Model") -> tuple[int, ...]:
    """The latent shape (without batch): ``imgen.latent_shape``, else the graph's static input dims."""
    if model.info.latent_shape:
        return tuple(model.info.latent_shape)
    dims = model.inputs[0].shape[1:]
    if dims and all(isinstance(d, int) for d in dims):
        return tuple(dims)
    raise ModelError(f"model {model.name} has no imgen.latent_shape metadata and a dynamic latent input "
                     f"{model.inputs[0].shape}: pass info={{'latent_shape': (N,)}} to imgen.load")


def latents(model: "Model | str", n: int, seed: int = 0) -> np.ndarray:
    """(n, *latent_shape) float32 standard normal draws from ``numpy.random.default_rng(seed)``."""
    model = _as_model(model, ("generate", "decode"), "latents")
    if n < 1:
        raise ValueError(f"n must be >= 1, got {n}")
    return np.random.default_rng(seed).standard_normal((n, *latent_shape(model)), dtype=np.float32)


def _norm(model: "Model", dtype, color_order: str, channels: int) -> dict:
    if color_order not in ("rgb", "bgr"):
        raise ValueError(f"color_order must be 'rgb' or 'bgr', got {color_order!r}")
    lo, hi = model.info.value_range
    return {"scale": (hi - lo) / image_max(dtype), "mean": -lo,
            "swap_rb": channels >= 3 and color_order != model.info.color_order}


def _out_dtype(dtype) -> np.dtype:
    dtype = np.dtype(dtype)
    if dtype not in (np.uint8, np.uint16, np.float32):
        raise TypeError(f"dtype must be uint8, uint16 or float32, got {dtype}")
    return dtype


def decode(model: "Model | str", z: np.ndarray, *, batch_size: int = 64, dtype="uint8",
           color_order: str = "rgb") -> np.ndarray:
    """Latents (n, *latent_shape) through a generate/decode model -> (n, H, W, C) images
    (uint8 / uint16, or float32 in [0, 1]).  Raises ValueError for a wrong latent shape."""
    model = _as_model(model, ("generate", "decode"), "decoding latents")
    want = latent_shape(model)
    z = np.asarray(z)
    if z.ndim != len(want) + 1 or tuple(z.shape[1:]) != want or z.shape[0] == 0:
        raise ValueError(f"model {model.name} takes latents of shape (N, {', '.join(map(str, want))}), "
                         f"got {z.shape}")
    if not np.isfinite(z).all():
        raise ValueError("latents contain NaN or Inf")
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    dtype = _out_dtype(dtype)
    spec = model.inputs[0]
    tensor_dtype = np.float16 if spec.type == "tensor(float16)" else np.float32
    outs = []
    for start in range(0, len(z), batch_size):
        out = model.run({spec.name: z[start:start + batch_size].astype(tensor_dtype)})[0]
        if out.ndim != 4:
            raise ModelError(f"model {model.name} returned shape {out.shape}; expected an NCHW image batch")
        # from_tensor clamps float32 to [0, 1/scale], which is not [0, 1] for ranges other than
        # (0, 1): clip here instead (integer outputs are always clamped to their type's range).
        images = from_tensor(out, dtype=dtype, clamp=False, **_norm(model, dtype, color_order, out.shape[1]))
        outs.append(np.clip(images, 0, 1, out=images) if dtype == np.float32 else images)
    return np.concatenate(outs)


def generate(model: "Model | str", n: int = 64, *, seed: int = 0, batch_size: int = 64, dtype="uint8",
             color_order: str = "rgb") -> np.ndarray:
    """``n`` new images (n, H, W, C) from a generator (or a VAE decoder): ``decode(model,
    latents(model, n, seed))``; image k depends only on (seed, k), whatever the batch size."""
    model = _as_model(model, ("generate", "decode"), "generating images")
    return decode(model, latents(model, n, seed), batch_size=batch_size, dtype=dtype, color_order=color_order)


def slerp(a: np.ndarray, b: np.ndarray, t: float) -> np.ndarray:
    """Spherical interpolation between two latents (linear when they are parallel)."""
    a64, b64 = a.astype(np.float64).ravel(), b.astype(np.float64).ravel()
    cos = np.dot(a64, b64) / max(np.linalg.norm(a64) * np.linalg.norm(b64), 1e-12)
    omega = np.arccos(np.clip(cos, -1, 1))
    if omega < 1e-6:
        return ((1 - t) * a + t * b).astype(np.float32)
    return ((np.sin((1 - t) * omega) * a + np.sin(t * omega) * b) / np.sin(omega)).astype(np.float32)


def interpolate(model: "Model | str", seeds: Sequence[int], steps: int = 8, *, spherical: bool = True,
                **kw) -> np.ndarray:
    """Images along a path through the latents of ``seeds`` (each seed's latent is
    ``latents(model, 1, seed)[0]``): ``steps`` images per segment, the last seed included, so
    (len(seeds) - 1) * steps + 1 images.  Spherical interpolation by default (latents are
    Gaussian, so a straight line passes through unlikely, low-norm points)."""
    model = _as_model(model, ("generate", "decode"), "interpolating")
    if len(seeds) < 2:
        raise ValueError(f"interpolation needs at least two seeds, got {list(seeds)}")
    if steps < 1:
        raise ValueError(f"steps must be >= 1, got {steps}")
    points = [latents(model, 1, s)[0] for s in seeds]
    path = []
    for a, b in zip(points, points[1:]):
        for k in range(steps):
            t = k / steps
            path.append(slerp(a, b, t) if spherical else ((1 - t) * a + t * b).astype(np.float32))
    path.append(points[-1])
    return decode(model, np.stack(path), **kw)


def encoder_size(model: "Model") -> tuple[int, int]:
    """(height, width) an encoder takes (its graph's static input size)."""
    shape = model.inputs[0].shape
    if len(shape) != 4 or not all(isinstance(d, int) for d in shape[2:]):
        raise ModelError(f"encoder {model.name} needs a static (N, C, H, W) input, got {shape}")
    return shape[2], shape[3]


def encode(model: "Model | str", images, *, color_order: str = "rgb", resize: bool = False,
           batch_size: int = 64) -> tuple[np.ndarray, np.ndarray]:
    """HWC images (a list, an NHWC batch or one image; uint8, uint16 or float32 in [0, 1]) through
    a VAE encoder -> (mean, logvar), each (n, *latent_shape) float32.

    Images must have the encoder's size and channel count; ``resize=True`` resizes them (area /
    cubic), gray <-> colour is never converted.  Raises ValueError naming what was expected.
    """
    import cv2

    model = _as_model(model, ("encode",), "encoding images")
    h, w = encoder_size(model)
    want_c = model.info.channels or model.inputs[0].shape[1]
    items = [images] if isinstance(images, np.ndarray) and images.ndim in (2, 3) else list(images)
    if not items:
        raise ValueError("no images to encode")
    prepared = []
    for k, img in enumerate(items):
        img = as_image(img, f"images[{k}]")
        c = 1 if img.ndim == 2 else img.shape[2]
        if c != want_c:
            raise ValueError(f"encoder {model.name} takes {want_c}-channel images, images[{k}] has {c}")
        if img.shape[:2] != (h, w):
            if not resize:
                raise ValueError(f"encoder {model.name} takes {w}x{h} images, images[{k}] is "
                                 f"{img.shape[1]}x{img.shape[0]} (pass resize=True / --resize)")
            shrink = img.shape[0] > h and img.shape[1] > w
            img = cv2.resize(img, (w, h), interpolation=cv2.INTER_AREA if shrink else cv2.INTER_CUBIC)
        prepared.append(img.reshape(h, w, c))
    spec = model.inputs[0]
    tensor_dtype = np.float16 if spec.type == "tensor(float16)" else np.float32
    means, logvars = [], []
    for start in range(0, len(prepared), batch_size):
        chunk = prepared[start:start + batch_size]
        by_dtype = {img.dtype for img in chunk}
        if len(by_dtype) > 1:
            raise ValueError(f"images to encode must share one dtype, got {sorted(str(d) for d in by_dtype)}")
        norm = _norm(model, chunk[0].dtype, color_order, want_c)
        tensor = to_tensor(chunk, dtype=tensor_dtype, **norm)
        mean, logvar = model.run({spec.name: tensor})[:2]
        means.append(mean.astype(np.float32))
        logvars.append(logvar.astype(np.float32))
    return np.concatenate(means), np.concatenate(logvars)


def reconstruct(encoder: "Model | str", decoder: "Model | str", images, *, color_order: str = "rgb",
                resize: bool = False, dtype=None) -> np.ndarray:
    """decode(encode(images) means): (n, H, W, C) images in ``dtype`` (default: the input's)."""
    mean, _ = encode(encoder, images, color_order=color_order, resize=resize)
    first = images if isinstance(images, np.ndarray) else np.asarray(images[0])
    out_dtype = dtype or (first.dtype if first.dtype in (np.uint8, np.uint16, np.float32) else np.float32)
    return decode(decoder, mean, dtype=out_dtype, color_order=color_order)
