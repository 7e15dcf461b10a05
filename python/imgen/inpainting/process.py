"""The per-file work of ``imgen inpaint``: list[HWC] -> list[HWC] with one mask source."""
from __future__ import annotations

import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Sequence

import numpy as np

from .classical import fill
from .masks import as_mask, mask_from_alpha, mask_from_colour, read_mask


@dataclass(frozen=True)
class MaskSource:
    """Where each image's mask comes from: a file for all (``path``), a folder with one per image
    by name (``folder``: the image's file name, any image extension), the image's alpha, or a
    colour key (``colour`` in the file's channel order, with ``tolerance``, in its units).
    ``invert``: zero = missing in mask files."""

    path: str | None = None
    folder: str | None = None
    alpha: bool = False
    colour: tuple[float, ...] | None = None
    tolerance: float = 0.0
    invert: bool = False

    def __post_init__(self) -> None:
        given = sum((self.path is not None, self.folder is not None, self.alpha, self.colour is not None))
        if given != 1:
            raise ValueError("give exactly one mask: a mask file, a mask folder, the alpha channel or a colour key")

    def mask_for(self, image: np.ndarray, name: str | None) -> np.ndarray:
        if self.alpha:
            return mask_from_alpha(image)
        if self.colour is not None:
            return mask_from_colour(image, self.colour, self.tolerance)
        if self.path is not None:
            return _one_mask(self.path, image.shape[:2], self.invert)
        return read_mask(_in_folder(self.folder, name), image.shape, invert=self.invert)


@lru_cache(maxsize=4)
def _one_mask(path: str, shape: tuple[int, int], invert: bool) -> np.ndarray:
    """The mask file shared by every image of a run, read once per image size (read-only)."""
    mask = read_mask(path, shape, invert=invert)
    mask.setflags(write=False)
    return mask


def _in_folder(folder: str, name: str | None) -> Path:
    if name is None:
        raise ValueError("a mask folder needs the image's file name")
    stem = Path(name).stem
    found = sorted(p for p in Path(folder).glob(f"{stem}.*") if p.is_file())
    if not found:
        raise ValueError(f"no mask named {stem}.* in {os.fspath(folder)}")
    return found[0]


class InpaintProcessor:
    """Fill each image's holes with ``method`` or ``model`` (a loaded InpaintModel).  ``name``:
    the file name of the image being processed, set by the caller when masks come one per image
    from a folder."""

    def __init__(self, masks: MaskSource, *, method: str | None = None, model=None, color_order: str = "bgr"):
        self.masks, self.method, self.model, self.color_order = masks, method, model, color_order
        self.name: str | None = None
        self.notes: set[str] = set()

    def __call__(self, images: Sequence[np.ndarray]) -> list[np.ndarray]:
        out = []
        for image in images:
            holes = as_mask(self.masks.mask_for(image, self.name), image.shape)
            if self.model is not None:
                out.append(self.model(image, holes, color_order=self.color_order))
            else:
                out.append(fill(image, holes, self.method))
        return out
