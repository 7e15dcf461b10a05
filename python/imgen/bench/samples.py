"""Images to benchmark on: photographs bundled with scikit-image, or any folder."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..imageio import images_in, read_image

# Bundled with scikit-image (no download): natural photographs and textures, gray and colour.
SAMPLE_GRAY = ("camera", "moon", "coins", "brick", "clock")
SAMPLE_COLOR = ("astronaut", "coffee", "chelsea")


@dataclass(frozen=True)
class Sample:
    """A clean image, float32 in [0, 1]: gray (H, W) or RGB (H, W, 3); ``lr``: its paired
    low-resolution version (same layout) for SR from given files, else None."""

    name: str
    image: np.ndarray
    lr: np.ndarray | None = None

    @property
    def is_color(self) -> bool:
        return self.image.ndim == 3


def _to_float(img: np.ndarray) -> np.ndarray:
    if img.dtype == np.uint8:
        return img.astype(np.float32) / 255.0
    if img.dtype == np.uint16:
        return img.astype(np.float32) / 65535.0
    if img.dtype == bool:
        return img.astype(np.float32)
    return np.clip(img.astype(np.float32), 0.0, 1.0)


def builtin_samples(gray: bool = True, color: bool = True) -> list[Sample]:
    """scikit-image's bundled photographs (needs scikit-image: pip install 'imgen[bench]')."""
    try:
        from skimage import data
    except ImportError as e:
        raise ImportError("the built-in sample images come with scikit-image: pip install 'imgen[bench]', "
                          "or pass --images DIR") from e
    names = (SAMPLE_GRAY if gray else ()) + (SAMPLE_COLOR if color else ())
    return [Sample(n, _to_float(getattr(data, n)())) for n in names]


def _read_rgb(path: Path) -> np.ndarray:
    img = read_image(path)
    if img.ndim == 3:
        img = img[..., 2::-1] if img.shape[2] >= 3 else img[..., 0]
    return _to_float(np.ascontiguousarray(img))


def folder_samples(folder: str | Path) -> list[Sample]:
    """Every image in a folder (sorted, not recursive); BGR files become RGB."""
    try:
        files = images_in(folder)
    except ValueError as e:
        raise ValueError(f"images: {e}") from None
    return [Sample(p.stem, _read_rgb(p)) for p in files]


def paired_samples(folder: str | Path, lr_folder: str | Path, scales) -> list[Sample]:
    """HR images of ``folder`` with their LR files from ``lr_folder`` (one scale): where names end
    in ``_HR`` (Set5's layout: both in one folder), ``X_HR`` pairs with ``X_LR``; otherwise the
    same name.  Raises ValueError naming a missing partner."""
    if len(scales) != 1:
        raise ValueError(f"paired LR files are for one scale, got {len(scales)} scales")
    try:
        files = images_in(folder)
        lr_files = {p.stem: p for p in images_in(lr_folder)}
    except ValueError as e:
        raise ValueError(f"images / lr_dir: {e}") from None
    if any(p.stem.endswith("_HR") for p in files):
        files = [p for p in files if p.stem.endswith("_HR")]
    out = []
    for p in files:
        want = p.stem[:-3] + "_LR" if p.stem.endswith("_HR") else p.stem
        if want not in lr_files:
            raise ValueError(f"no low-resolution file {want}.* in {lr_folder} for {p.name}")
        name = p.stem[:-3] if p.stem.endswith("_HR") else p.stem
        out.append(Sample(name, _read_rgb(p), _read_rgb(lr_files[want])))
    return out


def center_crop(sample: Sample, size: int) -> Sample:
    """The central size x size part (the whole image where it is smaller)."""
    h, w = sample.image.shape[:2]
    y, x = max(0, (h - size) // 2), max(0, (w - size) // 2)
    return Sample(sample.name, np.ascontiguousarray(sample.image[y:y + size, x:x + size]))
