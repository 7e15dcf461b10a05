"""Degradations that make restoration test data: MATLAB-bicubic downscaling, blur, JPEG.

One module used by training, the benchmark and the tests.  Images are HWC (or HW) numpy arrays,
uint8 / uint16 / float32 (float in [0, 1]); each function returns the input's dtype and layout.
Noise levels (``sigma_noise``) are fractions of the full range, like every sigma in imgen.
"""
from __future__ import annotations

import math

import numpy as np

from ._validate import as_image as _as_image
from ._validate import as_sigma, image_max


def as_image(image: object) -> np.ndarray:
    """An HWC/HW image as ``_validate.as_image`` checks it, float images also free of NaN/Inf."""
    image = _as_image(image)
    if image.dtype == np.float32 and not np.all(np.isfinite(image)):
        raise ValueError("image contains NaN or Inf; a float image must hold finite values in [0, 1]")
    return image

__all__ = ["as_image", "as_kernel", "blur", "downscale", "fixed_kernels", "gaussian_kernel", "jpeg", "motion_kernel",
           "upscale"]


# --- MATLAB imresize (bicubic, antialiased) --------------------------------------------------

def _cubic(x: np.ndarray) -> np.ndarray:
    """Keys' cubic convolution kernel with a = -0.5 (MATLAB's 'bicubic')."""
    ax = np.abs(x)
    ax2, ax3 = ax * ax, ax * ax * ax
    return ((1.5 * ax3 - 2.5 * ax2 + 1.0) * (ax <= 1)
            + (-0.5 * ax3 + 2.5 * ax2 - 4.0 * ax + 2.0) * ((ax > 1) & (ax <= 2)))


def _contributions(in_len: int, out_len: int, scale: float) -> tuple[np.ndarray, np.ndarray]:
    """Weights (out_len, P) and 0-based source indices (out_len, P) of MATLAB's imresize along one
    axis, with its antialiasing (kernel stretched by 1/scale when shrinking; enlarging uses the
    kernel as is) and symmetric borders."""
    width = 4.0 / scale if scale < 1 else 4.0
    x = np.arange(1, out_len + 1, dtype=np.float64)
    u = x / scale + 0.5 * (1.0 - 1.0 / scale)          # 1-based source coordinate of each output pixel
    left = np.floor(u - width / 2.0)
    p = int(math.ceil(width)) + 2
    idx = left[:, None] + np.arange(p)[None, :]          # 1-based candidates
    dist = u[:, None] - idx
    w = scale * _cubic(scale * dist) if scale < 1 else _cubic(dist)
    w = w / w.sum(axis=1, keepdims=True)
    # symmetric (half-sample) padding of out-of-range indices, as MATLAB's
    aux = np.concatenate([np.arange(in_len), np.arange(in_len - 1, -1, -1)])
    idx0 = aux[np.mod(idx.astype(np.int64) - 1, 2 * in_len)]
    keep = np.any(w != 0, axis=0)
    return w[:, keep], idx0[:, keep]


def _resize_axis(a: np.ndarray, axis: int, out_len: int, scale: float) -> np.ndarray:
    """One axis of imresize: tap by tap, so the temporaries are two output-sized arrays (not one
    per tap)."""
    w, idx = _contributions(a.shape[axis], out_len, scale)
    moved = np.moveaxis(a, axis, 0)                       # (L, ...)
    shape = (-1,) + (1,) * (moved.ndim - 1)
    out = moved[idx[:, 0]] * w[:, 0].reshape(shape)
    for k in range(1, w.shape[1]):
        out += moved[idx[:, k]] * w[:, k].reshape(shape)
    return np.moveaxis(out, 0, axis)


def downscale(image: np.ndarray, scale: int) -> np.ndarray:
    """Shrink an HWC/HW image by an integer ``scale`` (2, 3, 4, ...) exactly as MATLAB's
    ``imresize(img, 1/scale, 'bicubic')`` (antialiased; the SR papers' protocol).  Output size
    ceil(H/scale) x ceil(W/scale); same dtype and layout; integers rounded and clipped like MATLAB.
    Raises TypeError/ValueError for a bad image or scale."""
    image = as_image(image)
    if isinstance(scale, bool) or not isinstance(scale, (int, np.integer)) or not 1 <= scale <= 64:
        raise ValueError(f"scale must be an integer from 1 to 64, got {scale!r}")
    scale = int(scale)
    if scale == 1:
        return image.copy()
    h, w = image.shape[:2]
    # MATLAB resizes rows first on equal scales and returns the input's class after each pass
    # (integers rounded between the passes: 56 dB against its Set5 files without, 58-71 dB with)
    out = _to_dtype(_resize_axis(image.astype(np.float64), 0, math.ceil(h / scale), 1.0 / scale), image.dtype)
    out = _resize_axis(out.astype(np.float64), 1, math.ceil(w / scale), 1.0 / scale)
    return _to_dtype(out, image.dtype)


def _phase_weights(scale: int) -> list[tuple[int, np.ndarray]]:
    """[(first source offset, 6 weights)] of imresize's enlargement by ``scale``, one per phase r:
    output pixel s*k + r is sum_j w[j] * input[k + offset + j] (symmetric borders)."""
    phases = []
    for r in range(scale):
        u = (r + 1) / scale + 0.5 * (1.0 - 1.0 / scale)  # 1-based source coordinate of output r (k = 0)
        left = math.floor(u - 2.0)
        w = _cubic(u - np.arange(left, left + 6))
        phases.append((left - 1, w / w.sum()))
    return phases


def _upscale_axis(a: np.ndarray, axis: int, scale: int) -> np.ndarray:
    """imresize's enlargement by an integer ``scale`` along axis 0 or 1 of an (H, W[, C]) float64
    array, phase by phase: output pixels s*k + r share their 6 weights, so each phase is one 1-D
    correlation of the input (OpenCV's filter2D, BORDER_REFLECT = MATLAB's symmetric padding) and
    the phases interleave.  The formula of ``_contributions``; about 40x faster than numpy slices."""
    import cv2  # here, not at the top: imgen.imageio sets OpenCV's pixel limit before cv2 first loads

    n = a.shape[axis]
    if n < 8 or (a.ndim == 3 and a.shape[2] > 4):        # tiny or many-channel: plain slices
        return _upscale_axis_slices(a, axis, scale)
    shape = list(a.shape)
    shape[axis] *= scale
    out = np.empty(shape, np.float64)
    for r, (offset, w) in enumerate(_phase_weights(scale)):
        kernel = w.reshape(-1, 1) if axis == 0 else w.reshape(1, -1)
        anchor = (0, -offset) if axis == 0 else (-offset, 0)
        phase = cv2.filter2D(a, cv2.CV_64F, kernel, anchor=anchor, borderType=cv2.BORDER_REFLECT)
        if axis == 0:
            out[r::scale] = phase.reshape(out[r::scale].shape)
        else:
            out[:, r::scale] = phase.reshape(out[:, r::scale].shape)
    return out


def _upscale_axis_slices(a: np.ndarray, axis: int, scale: int) -> np.ndarray:
    """:func:`_upscale_axis` with numpy slices of the symmetrically padded input (any size, any
    channel count)."""
    n = a.shape[axis]
    moved = np.moveaxis(a, axis, 0)
    pad = 4                                               # the taps reach 3 before and 4 past the input
    aux = np.concatenate([np.arange(n), np.arange(n - 1, -1, -1)])
    padded = moved[aux[np.mod(np.arange(-pad, n + pad), 2 * n)]]   # symmetric borders, as MATLAB's
    out = np.empty((n * scale,) + moved.shape[1:], np.float64)
    for r, (offset, w) in enumerate(_phase_weights(scale)):
        acc = np.zeros((n,) + moved.shape[1:], np.float64)
        for j, weight in enumerate(w):
            if weight:
                start = offset + j + pad
                acc += padded[start:start + n] * weight
        out[r::scale] = acc
    return np.moveaxis(out, 0, axis)


def upscale(image: np.ndarray, scale: int) -> np.ndarray:
    """Enlarge an HWC/HW image by an integer ``scale`` (2, 3, 4, ...) exactly as MATLAB's
    ``imresize(img, scale, 'bicubic')`` (Keys' cubic, a = -0.5; symmetric borders; OpenCV's
    INTER_CUBIC uses a = -0.75 and differs): the input of pre-upsampling SR models (VDSR, SRCNN;
    ``imgen.pre_upsample``).  Output size (H*scale, W*scale); same dtype and layout; integers rounded
    and clipped after each axis like MATLAB, floats neither (bicubic overshoots [0, 1] at edges).
    Raises TypeError/ValueError for a bad image or scale."""
    image = as_image(image)
    if isinstance(scale, bool) or not isinstance(scale, (int, np.integer)) or not 1 <= scale <= 64:
        raise ValueError(f"scale must be an integer from 1 to 64, got {scale!r}")
    scale = int(scale)
    if scale == 1:
        return image.copy()
    out = _to_dtype(_upscale_axis(image.astype(np.float64), 0, scale), image.dtype)
    out = _upscale_axis(out.astype(np.float64), 1, scale)
    return _to_dtype(out, image.dtype)


def _to_dtype(a: np.ndarray, dtype: np.dtype) -> np.ndarray:
    if dtype == np.float32:
        return a.astype(np.float32)
    top = image_max(dtype)
    return np.clip(np.round(a), 0, top).astype(dtype)


# --- blur kernels ---------------------------------------------------------------------------

def gaussian_kernel(sigma: float, size: int | None = None) -> np.ndarray:
    """An isotropic Gaussian kernel (float64, sums to 1); ``sigma`` in pixels (0.1-50), size odd
    (default 2*ceil(3*sigma)+1)."""
    if not isinstance(sigma, (int, float)) or isinstance(sigma, bool) or not 0.1 <= float(sigma) <= 50:
        raise ValueError(f"sigma (kernel width in pixels) must be a number in [0.1, 50], got {sigma!r}")
    if size is None:
        size = 2 * math.ceil(3 * sigma) + 1
    if isinstance(size, bool) or not isinstance(size, int) or size < 1 or size % 2 == 0 or size > 301:
        raise ValueError(f"size must be an odd integer from 1 to 301, got {size!r}")
    r = np.arange(size, dtype=np.float64) - size // 2
    g = np.exp(-(r * r) / (2.0 * float(sigma) ** 2))
    k = np.outer(g, g)
    return k / k.sum()


def motion_kernel(seed: int, size: int = 25, *, steps: int = 64, intensity: float = 0.5) -> np.ndarray:
    """A random camera-shake kernel (float64, size x size, sums to 1), reproducible from ``seed``:
    a walk of ``steps`` equal steps (total length 0.6*(size-1)) with inertia, a pull to the centre
    and occasional jerks (after Boracchi & Foi 2012 and DeblurGAN, with a gentler random term),
    rasterised with bilinear splats and centred on its centre of mass."""
    if isinstance(size, bool) or not isinstance(size, int) or not 3 <= size <= 101 or size % 2 == 0:
        raise ValueError(f"size must be an odd integer from 3 to 101, got {size!r}")
    if not 0.0 <= float(intensity) <= 1.0:
        raise ValueError(f"intensity must be in [0, 1], got {intensity!r}")
    rng = np.random.default_rng(seed)
    max_len = (size - 1) * 0.6
    centripetal = 0.1 * rng.uniform()
    gaussian_term = rng.uniform()
    freq_big_shake = 0.2 * rng.uniform()
    v0 = rng.uniform() * np.exp(1j * math.pi * rng.uniform(-1, 1))
    v = v0 * max_len / (steps - 1)
    x = np.zeros(steps, dtype=np.complex128)
    for t in range(steps - 1):
        if rng.uniform() < freq_big_shake * intensity:
            nxt = 2.0 * v * np.exp(1j * (math.pi + (rng.uniform() - 0.5)))
        else:
            nxt = 0.0
        dv = nxt + (-centripetal * x[t] + gaussian_term * (rng.normal() + 1j * rng.normal()) * intensity) \
            * (max_len / (steps - 1))
        v = v + dv
        v = v / abs(v) * max_len / (steps - 1) if abs(v) > 0 else v
        x[t + 1] = x[t] + v
    x = x - x.mean()
    k = np.zeros((size, size))
    c = size // 2
    for px, py in zip(x.real + c, x.imag + c):
        x0, y0 = int(math.floor(px)), int(math.floor(py))
        fx, fy = px - x0, py - y0
        for dy, wy in ((0, 1 - fy), (1, fy)):
            for dx, wx in ((0, 1 - fx), (1, fx)):
                yy, xx = y0 + dy, x0 + dx
                if 0 <= yy < size and 0 <= xx < size:
                    k[yy, xx] += wy * wx
    if k.sum() == 0:
        k[c, c] = 1.0
    return k / k.sum()


def fixed_kernels() -> dict[str, np.ndarray]:
    """The kernels of the deblurring tables, by name: Gaussian sigma 1.6 and 3 (25x25) and
    two seeded motion kernels (19x19 and 25x25)."""
    return {
        "gauss1.6": gaussian_kernel(1.6, 25),
        "gauss3": gaussian_kernel(3.0, 25),
        "motion19": motion_kernel(19, 19),
        "motion25": motion_kernel(25, 25),
    }


def as_kernel(kernel: object) -> np.ndarray:
    """A blur kernel as float64 summing to 1: a 2-D array, or a name from :func:`fixed_kernels`.
    Raises ValueError naming what is accepted."""
    if isinstance(kernel, str):
        table = fixed_kernels()
        if kernel not in table:
            raise ValueError(f"kernel must be an array or one of {sorted(table)}, got {kernel!r}")
        return table[kernel]
    if not isinstance(kernel, np.ndarray) or kernel.ndim != 2 or kernel.size == 0:
        raise ValueError("kernel must be a 2-D numpy array (or a fixed kernel's name), got "
                         f"{getattr(kernel, 'shape', type(kernel).__name__)}")
    k = kernel.astype(np.float64)
    if not np.all(np.isfinite(k)) or k.sum() <= 0 or max(k.shape) > 301:
        raise ValueError("kernel must be finite, at most 301x301, with a positive sum")
    return k / k.sum()


def _convolve(plane: np.ndarray, k: np.ndarray, boundary: str) -> np.ndarray:
    """2-D convolution (not correlation) of a float64 HW plane, output the same size."""
    import cv2
    kh, kw = k.shape
    if boundary == "circular":
        h, w = plane.shape
        kp = np.zeros((h, w))
        if kh > h or kw > w:
            raise ValueError(f"a circular blur needs the kernel ({kh}x{kw}) no larger than the image ({h}x{w})")
        kp[:kh, :kw] = k
        kp = np.roll(kp, (-(kh // 2), -(kw // 2)), axis=(0, 1))
        return np.real(np.fft.ifft2(np.fft.fft2(plane) * np.fft.fft2(kp)))
    flipped = np.ascontiguousarray(k[::-1, ::-1])
    anchor = (kw // 2, kh // 2)
    return cv2.filter2D(plane, cv2.CV_64F, flipped, anchor=anchor, borderType=cv2.BORDER_REFLECT)


def blur(image: np.ndarray, kernel: np.ndarray | str, sigma_noise: float = 0.0, *,
         boundary: str = "reflect", seed: int | None = 0) -> np.ndarray:
    """Convolve each channel with ``kernel`` (array or a name from :func:`fixed_kernels`; normalised
    to sum 1), then add Gaussian noise of ``sigma_noise`` (fraction of the full range; drawn from
    ``default_rng(seed)``).  ``boundary``: 'reflect' (mirrored edges) or 'circular' (periodic, the
    FFT model of Wiener deconvolution).  Same dtype and layout; integers rounded and clipped."""
    image = as_image(image)
    k = as_kernel(kernel)
    sigma_noise = as_sigma(sigma_noise, "sigma_noise")
    if boundary not in ("reflect", "circular"):
        raise ValueError(f"boundary must be 'reflect' or 'circular', got {boundary!r}")
    a = image.astype(np.float64)
    planes = a[..., None] if a.ndim == 2 else a
    out = np.stack([_convolve(planes[..., c], k, boundary) for c in range(planes.shape[2])], axis=2)
    top = image_max(image.dtype)
    if sigma_noise > 0:
        out = out + np.random.default_rng(seed).normal(0.0, sigma_noise * top, out.shape)
    out = out.reshape(image.shape)
    if image.dtype == np.float32:
        return out.astype(np.float32)
    return _to_dtype(out, image.dtype)


# --- JPEG -----------------------------------------------------------------------------------

def jpeg(image: np.ndarray, quality: int) -> np.ndarray:
    """Encode as baseline JPEG at ``quality`` (1-100, libjpeg's scale, 4:2:0 for colour) and decode
    again with OpenCV.  Gray (HW or HW1) and colour (HW3, in the caller's channel order: the
    round trip is symmetric) images; uint16/float32 are quantised to 8 bits and returned in their
    own dtype; alpha (HW4) is kept as is.  Raises ValueError for a bad quality."""
    import cv2
    image = as_image(image)
    if isinstance(quality, bool) or not isinstance(quality, (int, np.integer)) or not 1 <= quality <= 100:
        raise ValueError(f"quality must be an integer from 1 to 100, got {quality!r}")
    top = image_max(image.dtype)
    u8 = image if image.dtype == np.uint8 else np.clip(np.round(image.astype(np.float64) * (255.0 / top)),
                                                        0, 255).astype(np.uint8)
    colour = u8[..., :3] if u8.ndim == 3 and u8.shape[2] >= 3 else u8.reshape(u8.shape[:2])
    ok, buf = cv2.imencode(".jpg", np.ascontiguousarray(colour), [cv2.IMWRITE_JPEG_QUALITY, int(quality)])
    if not ok:
        raise ValueError(f"OpenCV could not encode an image of shape {image.shape} as JPEG")
    dec = cv2.imdecode(buf, cv2.IMREAD_UNCHANGED)
    if u8.ndim == 3 and u8.shape[2] == 4:
        dec = np.concatenate([dec, u8[..., 3:]], axis=2)
    dec = dec.reshape(u8.shape) if dec.size == u8.size else dec
    if image.dtype == np.uint8:
        out = dec
    else:
        out = dec.astype(np.float64) * (top / 255.0)
        if u8.ndim == 3 and u8.shape[2] == 4:
            out[..., 3] = image[..., 3]
        out = out.astype(np.float32) if image.dtype == np.float32 else np.round(out).astype(image.dtype)
    return out
