"""Natural-looking images for the parity gate and for deciding conventions by behaviour.

Uniform noise is a poor probe: it drives attention temperatures and normalisations to values no photo
gives, so a faithful export can differ by more than the tolerance on it (DITN: 2e-4 on noise, 1.6e-6 on
a photo).  ``natural(h, w, channels, seed)`` crops scikit-image's bundled astronaut photograph when
scikit-image is installed and otherwise draws a synthetic one (smooth gradients, hard-edged shapes,
mild texture), float32 HWC in [0, 1].
"""
from __future__ import annotations

import numpy as np


def _photo() -> np.ndarray | None:
    try:
        from skimage import data
    except ImportError:
        return None
    try:
        return data.astronaut().astype(np.float32) / 255.0  # bundled with scikit-image, 512x512 RGB
    except Exception:  # noqa: BLE001 -- a data file missing from a slim install
        return None


def synthetic(h: int, w: int, rng: np.random.Generator) -> np.ndarray:
    """(h, w, 3) float32 in [0, 1]: gradients, rectangles and disks with hard edges, fine texture."""
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    img = np.stack([0.5 + 0.4 * np.sin(x / (w / 3.0 + 1) + c) * np.cos(y / (h / 2.0 + 1) - c) for c in (0, 1, 2)], -1)
    for _ in range(6):
        colour = rng.uniform(0.05, 0.95, 3).astype(np.float32)
        y0, x0 = rng.integers(0, max(1, h)), rng.integers(0, max(1, w))
        if rng.random() < 0.5:
            img[y0:y0 + h // 3 + 1, x0:x0 + w // 3 + 1] = colour
        else:
            r = max(2.0, min(h, w) / 5)
            img[(y - y0) ** 2 + (x - x0) ** 2 < r * r] = colour
    img += rng.normal(0, 0.02, img.shape).astype(np.float32)
    return np.clip(img, 0, 1).astype(np.float32)


def natural(h: int, w: int, channels: int = 3, seed: int = 0) -> np.ndarray:
    """(h, w, channels) float32 in [0, 1] (channels 1: BT.601 luma; other counts: RGB repeated)."""
    rng = np.random.default_rng(seed)
    photo = _photo()
    if photo is not None and h <= photo.shape[0] and w <= photo.shape[1]:
        y0 = int(rng.integers(0, photo.shape[0] - h + 1))
        x0 = int(rng.integers(0, photo.shape[1] - w + 1))
        img = photo[y0:y0 + h, x0:x0 + w]
    elif photo is not None:
        reps = (-(-h // photo.shape[0]), -(-w // photo.shape[1]), 1)
        img = np.tile(photo, reps)[:h, :w]
    else:
        img = synthetic(h, w, rng)
    if channels == 1:
        return (img @ np.array([0.299, 0.587, 0.114], np.float32))[..., None].astype(np.float32)
    if channels == 3:
        return np.ascontiguousarray(img, dtype=np.float32)
    return np.concatenate([img] * (-(-channels // 3)), axis=-1)[..., :channels].astype(np.float32)


def natural_nchw(batch: int, channels: int, h: int, w: int, seed: int = 0, value_range=(0.0, 1.0)) -> np.ndarray:
    """(batch, channels, h, w) float32 crops of ``natural``, mapped onto ``value_range``."""
    lo, hi = value_range
    out = np.stack([natural(h, w, channels, seed + b).transpose(2, 0, 1) for b in range(batch)])
    return (lo + out * (hi - lo)).astype(np.float32)
