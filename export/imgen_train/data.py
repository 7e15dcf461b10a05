"""Training data: images from a folder, random patches, the 8 flips/rotations, Gaussian noise.

``PatchSampler`` makes noisy/clean pairs for denoisers; ``ImageSampler`` plain image batches (whole
images or random crops, horizontal flips) for the generative tasks.

Everything is seeded: batch ``k`` of a run depends only on (seed, k), so a resumed run sees the
same batches as an uninterrupted one.  Images are kept in memory as uint8 (train400 is 13 MB).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import cv2
import numpy as np
import torch

from imgen.imageio import images_in

from .ranges import parse_range


def list_images(folder: str | Path) -> list[Path]:
    """Image files directly in ``folder``, sorted by name (imgen's folder walker, not recursive).
    Raises ValueError naming the folder when it is missing, unreadable or holds no images."""
    return images_in(folder)


def split_files(train_dir: str | Path, val_dir: str | Path | None, val_count: int) -> tuple[list[Path], list[Path]]:
    """(training files, validation files): all of ``train_dir`` and all of ``val_dir`` when it is
    given, else ``train_dir`` less its last ``val_count`` files, which validate.  ValueError when
    that would leave no training or no validation file."""
    files = list_images(train_dir)
    if val_dir:
        return files, list_images(val_dir)
    if not 0 < val_count < len(files):
        raise ValueError(f"--val-count {val_count}: need 1 to {len(files) - 1} held-out images of the "
                         f"{len(files)} in {train_dir} (or a --val-dir)")
    return files[:-val_count], files[-val_count:]


def read_image(path: str | Path, channels: int) -> np.ndarray:
    """(H, W, C) uint8, gray (C=1) or RGB (C=3)."""
    flag = cv2.IMREAD_GRAYSCALE if channels == 1 else cv2.IMREAD_COLOR
    img = cv2.imread(str(path), flag)
    if img is None:
        raise ValueError(f"cannot read image {path}")
    if channels == 1:
        return img[..., None]
    return cv2.cvtColor(img, cv2.COLOR_BGR2RGB)


def load_images(files: Sequence[Path], channels: int, size: int | None = None) -> list[np.ndarray]:
    """(H, W, C) uint8 images; ``size``: each resized to size x size (area when shrinking, cubic when
    enlarging)."""
    out = []
    for f in files:
        img = read_image(f, channels)
        if size is not None and img.shape[:2] != (size, size):
            shrink = img.shape[0] > size and img.shape[1] > size
            img = cv2.resize(img, (size, size), interpolation=cv2.INTER_AREA if shrink else cv2.INTER_CUBIC)
            img = img.reshape(size, size, channels)
        out.append(img)
    return out


def augment(patch: np.ndarray, mode: int) -> np.ndarray:
    """One of the 8 flips/rotations (mode 0 = identity) of an (H, W, C) array."""
    if mode >= 4:
        patch = patch[:, ::-1]
    return np.rot90(patch, mode % 4, axes=(0, 1))


@dataclass(frozen=True)
class NoiseSpec:
    """AWGN on the 0-255 scale: a fixed sigma, or uniform in [low, high] per patch."""

    low: float
    high: float

    @classmethod
    def parse(cls, text: str | float | Sequence[float]) -> "NoiseSpec":
        """``25`` or ``"0,75"`` / ``"0-75"`` / (0, 75)."""
        if isinstance(text, (int, float)):
            text = str(text)
        elif not isinstance(text, str):
            text = ",".join(repr(float(v)) for v in text)
        return cls(*parse_range(text, option="noise level", low=0))

    def draw(self, rng: np.random.Generator, n: int) -> np.ndarray:
        if self.low == self.high:
            return np.full(n, self.low, np.float32)
        return rng.uniform(self.low, self.high, n).astype(np.float32)


class PatchSampler:
    """Seeded random noisy/clean patch batches from in-memory images.

    batch(step) -> {"clean": (B, C, P, P), "noisy": (B, C, P, P), "sigma": (B, 1, 1, 1)} float32
    tensors in [0, 1] units (sigma / 255).  Noise is not clipped.
    """

    def __init__(self, images: list[np.ndarray], *, patch: int, batch: int, noise: NoiseSpec, seed: int):
        if not images:
            raise ValueError("no training images")
        small = [i for i, im in enumerate(images) if im.shape[0] < patch or im.shape[1] < patch]
        if small:
            raise ValueError(f"{len(small)} training image(s) are smaller than the patch size {patch}")
        self.images, self.patch, self.batch_size, self.noise, self.seed = images, patch, batch, noise, seed

    @classmethod
    def from_files(cls, files: Sequence[Path], *, channels: int, **kw) -> "PatchSampler":
        return cls([read_image(f, channels) for f in files], **kw)

    def batch(self, step: int) -> dict[str, torch.Tensor]:
        rng = np.random.default_rng([self.seed, step])
        modes = rng.integers(0, 8, self.batch_size)
        clean = _crops(self.images, rng, self.batch_size, self.patch, modes)
        sigma = self.noise.draw(rng, self.batch_size) / 255.0
        gen = torch.Generator().manual_seed(int(rng.integers(0, 2**62)))
        noise = torch.randn(clean.shape, generator=gen) * torch.from_numpy(sigma).view(-1, 1, 1, 1)
        return {"clean": clean, "noisy": clean + noise, "sigma": torch.from_numpy(sigma).view(-1, 1, 1, 1)}


def _crops(images: list[np.ndarray], rng: np.random.Generator, n: int, patch: int | None,
           modes: np.ndarray) -> torch.Tensor:
    """(n, C, P, P) float32 in [0, 1]: random images, random crops (whole images when patch is
    None), each given its augmentation ``modes[k]``."""
    which = rng.integers(0, len(images), n)
    first = images[which[0]]
    p = patch or first.shape[0]
    out = np.empty((n, p, p, first.shape[2]), np.uint8)
    for k, i in enumerate(which):
        img = images[i]
        y = rng.integers(0, img.shape[0] - p + 1)
        x = rng.integers(0, img.shape[1] - p + 1)
        out[k] = augment(img[y:y + p, x:x + p], int(modes[k]))
    return torch.from_numpy(out.transpose(0, 3, 1, 2).astype(np.float32) / 255.0)


class ImageSampler:
    """Seeded batches of images: batch(step) -> (B, C, P, P) float32 in [0, 1].

    ``patch`` None: whole images (all must be square and of one size); else random P x P crops.
    Each image is flipped left-right with probability 1/2 (faces and photos stay upright).
    """

    def __init__(self, images: list[np.ndarray], *, batch: int, seed: int, patch: int | None = None):
        if not images:
            raise ValueError("no training images")
        if patch is None:
            shapes = {im.shape for im in images}
            if len(shapes) != 1 or images[0].shape[0] != images[0].shape[1]:
                raise ValueError(f"whole-image batches need square images of one size, got {sorted(shapes)[:3]}")
        else:
            small = [i for i, im in enumerate(images) if im.shape[0] < patch or im.shape[1] < patch]
            if small:
                raise ValueError(f"{len(small)} training image(s) are smaller than the patch size {patch}")
        self.images, self.patch, self.batch_size, self.seed = images, patch, batch, seed

    def batch(self, step: int) -> torch.Tensor:
        rng = np.random.default_rng([self.seed, step])
        modes = 4 * rng.integers(0, 2, self.batch_size)  # 0 = as is, 4 = flipped left-right
        return _crops(self.images, rng, self.batch_size, self.patch, modes)


def validation_set(files: Sequence[Path], *, channels: int, sigma: float, seed: int) -> list[dict[str, torch.Tensor]]:
    """Whole images with fixed noise (sigma on the 0-255 scale): [{"clean", "noisy", "sigma"}] (1, C, H, W)."""
    out = []
    for k, f in enumerate(files):
        clean = read_image(f, channels).astype(np.float32) / 255.0
        rng = np.random.default_rng([seed, k])
        noisy = clean + rng.normal(0, sigma / 255.0, clean.shape).astype(np.float32)
        to_t = lambda a: torch.from_numpy(np.ascontiguousarray(a.transpose(2, 0, 1)))[None]  # noqa: E731
        out.append({"clean": to_t(clean), "noisy": to_t(noisy),
                    "sigma": torch.full((1, 1, 1, 1), sigma / 255.0)})
    return out
