"""Generative models through the engine: sampling, latent interpolation, VAE encode/decode.

``Generator`` (GAN generators, VAE decoders) and ``Encoder`` (VAE encoders) are the wrappers
``imgen.load`` returns for those tasks; every function here also takes a path or shipped name.

Latents are standard normal draws from ``numpy.random.default_rng(seed)``: ``latents(model, n,
seed)`` is ``default_rng(seed).standard_normal((n, *latent_shape), dtype=float32)``, so image k of
``generate(model, n, seed=s)`` is the same whatever the batch size.  Images come back NHWC (C = the
model's channels, RGB order unless ``color_order="bgr"``), uint8 (default) or float32 in [0, 1].

Functions that return one array refuse results over ``MAX_RESULT_BYTES`` (ValueError naming the
argument); ``generate_batches``, ``interpolate_batches`` and ``decode_batches`` yield the same images
batch by batch, so memory stays bounded by one batch whatever the count.
"""
from __future__ import annotations

import itertools
import math
import os
from typing import Iterable, Iterator, Sequence

import numpy as np

from ._core import from_tensor, to_tensor
from ._validate import as_image
from .engine import Model
from .errors import ModelError
from .pixels import normalization

#: Most bytes a result returned as one array (generate, interpolate, decode, latents) may take: 1 GiB.
MAX_RESULT_BYTES = 1 << 30


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


class Generator(Model):
    """A GAN generator or a VAE decoder: latents (N, *latent_shape) float32 in, NCHW images out.
    Use it with :func:`generate`, :func:`decode` and :func:`interpolate`."""

    TASKS = ("generate", "decode")

    @property
    def latent_shape(self) -> tuple[int, ...]:
        """The latent shape (without batch): ``imgen.latent_shape``, else the graph's static input dims."""
        if self.info.latent_shape:
            return tuple(self.info.latent_shape)
        dims = self.inputs[0].shape[1:]
        if dims and all(isinstance(d, int) for d in dims):
            return tuple(dims)
        raise ModelError(f"model {self.name} has no imgen.latent_shape metadata and a dynamic latent input "
                         f"{self.inputs[0].shape}: pass info={{'latent_shape': (N,)}} to imgen.load")


class Encoder(Model):
    """A VAE encoder: NCHW images of one fixed size in, (mean, logvar) latents out (:func:`encode`)."""

    TASKS = ("encode",)

    @property
    def input_size(self) -> tuple[int, int]:
        """(height, width) the encoder takes (its graph's static input size)."""
        shape = self.inputs[0].shape
        if len(shape) != 4 or not all(isinstance(d, int) for d in shape[2:]):
            raise ModelError(f"encoder {self.name} needs a static (N, C, H, W) input, got {shape}")
        return shape[2], shape[3]



def latents(model: "Generator | str | os.PathLike", n: int, seed: int = 0) -> np.ndarray:
    """(n, *latent_shape) float32 standard normal draws from ``numpy.random.default_rng(seed)``."""
    model = Generator.adopt(model, "latents")
    _check_count("n", n)
    shape = model.latent_shape
    total = n * math.prod(shape) * 4
    if total > MAX_RESULT_BYTES:
        raise ValueError(f"n={n} latents of shape {shape} take {_gib(total)} in one array, more than the "
                         f"{_gib(MAX_RESULT_BYTES)} an in-memory result may take "
                         f"(imgen.generative.MAX_RESULT_BYTES): ask for fewer")
    return np.random.default_rng(seed).standard_normal((n, *shape), dtype=np.float32)


def _latent_batches(shape: tuple[int, ...], n: int, seed: int, batch_size: int) -> Iterator[np.ndarray]:
    """latents(model, n, seed) in batches: consecutive draws from one generator give the same numbers
    as one draw of all n.  A bad seed raises now, not on the first next()."""
    rng = np.random.default_rng(seed)

    def draw() -> Iterator[np.ndarray]:
        for start in range(0, n, batch_size):
            yield rng.standard_normal((min(batch_size, n - start), *shape), dtype=np.float32)

    return draw()


def _check_count(name: str, value: int) -> None:
    if value < 1:
        raise ValueError(f"{name} must be >= 1, got {value}")


def _gib(nbytes: int) -> str:
    return f"{nbytes / 2**30:.3g} GiB"


def _collect(batches: Iterator[np.ndarray], count: int, what: str, advice: str) -> np.ndarray:
    """Image batches into one (count, H, W, C) array.  ValueError "{what} gives ...: {advice}" when
    it would exceed MAX_RESULT_BYTES (known from the first batch, before any other is made)."""
    first = next(batches)
    total = count * first[0].nbytes
    if total > MAX_RESULT_BYTES:
        h, w, c = first.shape[1:]
        raise ValueError(f"{what} gives {count} images of {w}x{h}x{c} {first.dtype}, {_gib(total)} in one array, "
                         f"more than the {_gib(MAX_RESULT_BYTES)} an in-memory result may take "
                         f"(imgen.generative.MAX_RESULT_BYTES): {advice}")
    out = np.empty((count, *first.shape[1:]), first.dtype)
    out[:len(first)] = first
    k = len(first)
    for batch in batches:
        out[k:k + len(batch)] = batch
        k += len(batch)
    return out


def _check_color_order(color_order: str) -> None:
    if color_order not in ("rgb", "bgr"):
        raise ValueError(f"color_order must be 'rgb' or 'bgr', got {color_order!r}")


def _out_dtype(dtype) -> np.dtype:
    dtype = np.dtype(dtype)
    if dtype not in (np.uint8, np.uint16, np.float32):
        raise TypeError(f"dtype must be uint8, uint16 or float32, got {dtype}")
    return dtype


def decode(model: "Generator | str | os.PathLike", z: np.ndarray, *, batch_size: int = 64, dtype="uint8",
           color_order: str = "rgb") -> np.ndarray:
    """Latents (n, *latent_shape) through a generate/decode model -> (n, H, W, C) images
    (uint8 / uint16, or float32 in [0, 1]).  Raises ValueError for a wrong latent shape, or a
    result over MAX_RESULT_BYTES (use :func:`decode_batches`)."""
    batches = decode_batches(model, z, batch_size=batch_size, dtype=dtype, color_order=color_order)
    return _collect(batches, len(z), f"{len(z)} latents", "decode fewer at a time, or stream them with "
                                                          "imgen.decode_batches")


def decode_batches(model: "Generator | str | os.PathLike", z: np.ndarray, *, batch_size: int = 64, dtype="uint8",
                   color_order: str = "rgb") -> Iterator[np.ndarray]:
    """The images of :func:`decode` as (b, H, W, C) batches of at most ``batch_size``, in order, one
    at a time.  Arguments (the latents' shape and values too) are checked when called (ValueError)."""
    model = Generator.adopt(model, "decoding latents")
    want = model.latent_shape
    z = np.asarray(z)
    if z.ndim != len(want) + 1 or tuple(z.shape[1:]) != want or z.shape[0] == 0:
        raise ValueError(f"model {model.name} takes latents of shape (N, {', '.join(map(str, want))}), "
                         f"got {z.shape}")
    if not np.isfinite(z).all():
        raise ValueError("latents contain NaN or Inf")
    _check_count("batch_size", batch_size)
    chunks = (z[start:start + batch_size] for start in range(0, len(z), batch_size))
    return _decode_batches(model, chunks, dtype, color_order)


def _decode_batches(model: Generator, batches: Iterable[np.ndarray], dtype, color_order: str) -> Iterator[np.ndarray]:
    """Latent batches through the model -> (b, H, W, C) image batches, one at a time (arguments
    checked now, not on the first next())."""
    dtype = _out_dtype(dtype)
    _check_color_order(color_order)
    spec = model.inputs[0]
    tensor_dtype = np.float16 if spec.type == "tensor(float16)" else np.float32

    def run() -> Iterator[np.ndarray]:
        for z in batches:
            out = model.run({spec.name: z.astype(tensor_dtype)})[0]
            if out.ndim != 4:
                raise ModelError(f"model {model.name} returned shape {out.shape}; expected an NCHW image batch")
            yield from_tensor(out, dtype=dtype, clamp=True,
                              **normalization(model.info, dtype, color_order, out.shape[1]))

    return run()


def generate(model: "Generator | str | os.PathLike", n: int = 64, *, seed: int = 0, batch_size: int = 64, dtype="uint8",
             color_order: str = "rgb") -> np.ndarray:
    """``n`` new images (n, H, W, C) from a generator (or a VAE decoder): ``decode(model,
    latents(model, n, seed))``; image k depends only on (seed, k), whatever the batch size.
    Raises ValueError when the result would exceed MAX_RESULT_BYTES (use :func:`generate_batches`)."""
    batches = generate_batches(model, n, seed=seed, batch_size=batch_size, dtype=dtype, color_order=color_order)
    return _collect(batches, n, f"n={n}", "ask for fewer, or stream them with imgen.generate_batches")


def generate_batches(model: "Generator | str | os.PathLike", n: int = 64, *, seed: int = 0, batch_size: int = 64, dtype="uint8",
                     color_order: str = "rgb") -> Iterator[np.ndarray]:
    """The images of ``generate(model, n, seed=seed)`` as (b, H, W, C) batches of at most
    ``batch_size``, in order, one at a time: memory stays bounded by one batch whatever ``n``.
    Arguments are checked when called (ValueError), before the first batch is drawn."""
    model = Generator.adopt(model, "generating images")
    _check_count("n", n)
    _check_count("batch_size", batch_size)
    shape = model.latent_shape
    return _decode_batches(model, _latent_batches(shape, n, seed, batch_size), dtype, color_order)


def slerp(a: np.ndarray, b: np.ndarray, t: float) -> np.ndarray:
    """Spherical interpolation between two latents (linear when they are parallel)."""
    a64, b64 = a.astype(np.float64).ravel(), b.astype(np.float64).ravel()
    cos = np.dot(a64, b64) / max(np.linalg.norm(a64) * np.linalg.norm(b64), 1e-12)
    omega = np.arccos(np.clip(cos, -1, 1))
    if omega < 1e-6:
        return ((1 - t) * a + t * b).astype(np.float32)
    return ((np.sin((1 - t) * omega) * a + np.sin(t * omega) * b) / np.sin(omega)).astype(np.float32)


def interpolate(model: "Generator | str | os.PathLike", seeds: Sequence[int], steps: int = 8, *, spherical: bool = True,
                batch_size: int = 64, dtype="uint8", color_order: str = "rgb") -> np.ndarray:
    """Images along a path through the latents of ``seeds`` (each seed's latent is
    ``latents(model, 1, seed)[0]``): ``steps`` images per segment, the last seed included, so
    (len(seeds) - 1) * steps + 1 images.  Spherical interpolation by default (latents are
    Gaussian, so a straight line passes through unlikely, low-norm points).  Raises ValueError when
    the result would exceed MAX_RESULT_BYTES (use :func:`interpolate_batches`)."""
    batches = interpolate_batches(model, seeds, steps, spherical=spherical, batch_size=batch_size, dtype=dtype,
                                  color_order=color_order)
    count = (len(seeds) - 1) * steps + 1
    return _collect(batches, count, f"steps={steps} with {len(seeds)} seeds",
                    "use fewer steps, or stream them with imgen.interpolate_batches")


def interpolate_batches(model: "Generator | str | os.PathLike", seeds: Sequence[int], steps: int = 8, *, spherical: bool = True,
                        batch_size: int = 64, dtype="uint8", color_order: str = "rgb") -> Iterator[np.ndarray]:
    """The images of :func:`interpolate` as (b, H, W, C) batches of at most ``batch_size``, in order,
    one at a time (the path's latents too are made batch by batch).  Arguments are checked when
    called (ValueError)."""
    model = Generator.adopt(model, "interpolating")
    if len(seeds) < 2:
        raise ValueError(f"interpolation needs at least two seeds, got {list(seeds)}")
    _check_count("steps", steps)
    _check_count("batch_size", batch_size)
    points = [latents(model, 1, s)[0] for s in seeds]

    def path() -> Iterator[np.ndarray]:
        for a, b in zip(points, points[1:]):
            for k in range(steps):
                t = k / steps
                yield slerp(a, b, t) if spherical else ((1 - t) * a + t * b).astype(np.float32)
        yield points[-1]

    def chunks() -> Iterator[np.ndarray]:
        latents_left = path()
        while chunk := list(itertools.islice(latents_left, batch_size)):
            yield np.stack(chunk)

    return _decode_batches(model, chunks(), dtype, color_order)


def encode(model: "Encoder | str | os.PathLike", images, *, color_order: str = "rgb", resize: bool = False,
           batch_size: int = 64) -> tuple[np.ndarray, np.ndarray]:
    """HWC images (a list, an NHWC batch or one image; uint8, uint16 or float32 in [0, 1]) through
    a VAE encoder -> (mean, logvar), each (n, *latent_shape) float32.

    Images must have the encoder's size and channel count; ``resize=True`` resizes them (area /
    cubic), gray <-> colour is never converted.  Raises ValueError naming what was expected.
    """
    import cv2

    model = Encoder.adopt(model, "encoding images")
    h, w = model.input_size
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
                                 f"{img.shape[1]}x{img.shape[0]} (pass resize=True; command line: --resize)")
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
        _check_color_order(color_order)
        norm = normalization(model.info, chunk[0].dtype, color_order, want_c)
        tensor = to_tensor(chunk, dtype=tensor_dtype, **norm)
        mean, logvar = model.run({spec.name: tensor})[:2]
        means.append(mean.astype(np.float32))
        logvars.append(logvar.astype(np.float32))
    return np.concatenate(means), np.concatenate(logvars)


def reconstruct(encoder: "Encoder | str | os.PathLike", decoder: "Generator | str | os.PathLike", images, *, color_order: str = "rgb",
                resize: bool = False, dtype=None) -> np.ndarray:
    """decode(encode(images) means): (n, H, W, C) images in ``dtype`` (default: the input's)."""
    mean, _ = encode(encoder, images, color_order=color_order, resize=resize)
    first = images if isinstance(images, np.ndarray) else np.asarray(images[0])
    out_dtype = dtype or (first.dtype if first.dtype in (np.uint8, np.uint16, np.float32) else np.float32)
    return decode(decoder, mean, dtype=out_dtype, color_order=color_order)
