"""The report's pictures: centre crops of every clean, noisy and denoised image, kept as uint8.

A crop is HWC uint8 RGB (H, W, 3) or gray (H, W), at most CROP x CROP pixels, taken at the same
place from the clean image, the noisy input and each method's output.  Crops are saved beside the
JSON (``report-crops.npz``) so that ``imgen bench --report DIR`` can rebuild the page later, and
inlined in the page as lossless WebP (no codec artefacts in a denoising comparison).
"""
from __future__ import annotations

import base64
import json
import os
from dataclasses import dataclass

import numpy as np

from ..atomic import atomic_write

CROP = 128  # pixels per side: shown 1:1, zoomable in the page
MAX_IMAGES = 24  # pictures for at most this many images (the first), so a big folder keeps the page small
MAX_CROPS = 10_000  # a saved file holding more is refused, not loaded
CLEAN, NOISY = "clean", "noisy"


@dataclass(frozen=True)
class Crop:
    """One crop: image name, sigma (the grid's level_value: the noise sigma on the 0-255 scale for
    denoising; None for the clean image), what it shows ("clean", "noisy" (the degraded input) or a
    method name) and the pixels (uint8, (H, W) or (H, W, 3), RGB)."""

    image: str
    sigma: float | None
    source: str
    pixels: np.ndarray


def to_u8(img: np.ndarray) -> np.ndarray:
    """float in [0, 1] (values outside clipped) -> uint8, rounded."""
    return np.clip(np.rint(np.asarray(img, np.float32) * 255.0), 0, 255).astype(np.uint8)


def crops_from_result(result, size: int = CROP, max_images: int | None = MAX_IMAGES) -> list[Crop]:
    """Centre crops of a BenchResult run with keep_outputs=True (clean, noisy per sigma, each
    method's output per sigma) for its first `max_images` images (None: all); [] when it kept
    no outputs."""
    if not result.samples:
        return []
    sigmas = sorted({key[0] for key in result.outputs})
    methods = result.config["methods"]
    crops = []
    for sample in result.samples[:max_images]:
        h, w = sample.image.shape[:2]
        y, x = max(0, (h - size) // 2), max(0, (w - size) // 2)

        def cut(a: np.ndarray) -> np.ndarray:
            return np.ascontiguousarray(to_u8(a[y:y + size, x:x + size]))

        crops.append(Crop(sample.name, None, CLEAN, cut(sample.image)))
        for sigma in sigmas:
            outs = [(m, result.outputs.get((sigma, sample.name, m))) for m in methods]
            outs = [(m, out) for m, out in outs if out is not None]
            if not outs:
                continue
            if result.config.get("task", "denoise") == "denoise":
                degraded = result.protocol.noisy(sample.image, sigma)
            else:  # the input's row (bicubic, jpeg, blurred) is the degraded image at full size
                degraded = outs[0][1]
            crops.append(Crop(sample.name, sigma, NOISY, cut(degraded)))
            crops.extend(Crop(sample.name, sigma, m, cut(out)) for m, out in outs)
    return crops


def save(path: str | os.PathLike, crops: list[Crop]) -> None:
    """Write crops to an .npz file atomically: arrays c0, c1, ... and a JSON index."""
    index = [{"image": c.image, "sigma": c.sigma, "source": c.source} for c in crops]
    arrays = {f"c{i}": c.pixels for i, c in enumerate(crops)}
    with atomic_write(path) as f:
        np.savez_compressed(f, index=np.array(json.dumps(index)), **arrays)


def load(path: str | os.PathLike) -> list[Crop]:
    """Read crops written by :func:`save`.  ValueError naming the file when it is not one."""
    try:
        with np.load(path, allow_pickle=False) as z:
            index = json.loads(str(z["index"][()]))
            if not isinstance(index, list) or len(index) > MAX_CROPS:
                raise ValueError(f"the index must be a list of at most {MAX_CROPS} entries")
            crops = []
            for i, entry in enumerate(index):
                px = z[f"c{i}"]
                ok_shape = px.ndim == 2 or (px.ndim == 3 and px.shape[2] == 3)
                if px.dtype != np.uint8 or not ok_shape or max(px.shape[:2]) > 4 * CROP or min(px.shape[:2]) < 1:
                    raise ValueError(f"crop c{i} is {px.dtype} {px.shape}; expected uint8 (H, W) or (H, W, 3), "
                                     f"at most {4 * CROP} pixels a side")
                sigma = entry["sigma"]
                if not isinstance(entry["image"], str) or not isinstance(entry["source"], str) or not (
                        sigma is None or isinstance(sigma, (int, float))):
                    raise ValueError(f"index entry {i} must have a string image and source and a numeric sigma")
                crops.append(Crop(entry["image"], None if sigma is None else float(sigma), entry["source"], px))
            return crops
    except (OSError, KeyError, TypeError, ValueError, EOFError) as e:
        raise ValueError(f"{path}: not a crop file written by imgen bench ({type(e).__name__}: {e})") from None


def data_uri(pixels: np.ndarray) -> str:
    """A lossless WebP data URI for a uint8 RGB (H, W, 3) or gray (H, W) crop."""
    import cv2

    bgr = pixels[..., ::-1] if pixels.ndim == 3 else pixels
    ok, buf = cv2.imencode(".webp", np.ascontiguousarray(bgr), [cv2.IMWRITE_WEBP_QUALITY, 101])  # > 100: lossless
    if not ok:
        raise ValueError(f"could not encode a {pixels.dtype} {pixels.shape} crop as WebP")
    return "data:image/webp;base64," + base64.b64encode(buf.tobytes()).decode("ascii")
