"""imgen's exemplar-based inpainting ("content-aware fill"): PatchMatch nearest-neighbour fields
and multi-scale EM voting (Wexler et al. 2007, Barnes et al. 2009), in C++ (``_core.patchmatch_inpaint``).

Each group of holes is filled from its own region (``regions.hole_regions``): the holes' box grown
by ``context`` pixels, or by the box's own longest side when that is larger, so the source patches
are near the hole and memory follows the holes, not the image (about 40 + 8 * channels bytes per
region pixel).  Deterministic for a seed, whatever the thread count.
"""
from __future__ import annotations

import numpy as np

from .. import _core
from .regions import fill_regions, hole_regions

#: Context pixels around each hole's box that the patches are copied from (at least).
DEFAULT_CONTEXT = 64
#: The largest region filled in one piece (about 4 GiB of working memory for colour).
MAX_REGION_PIXELS = 1 << 26


def patchmatch(image: np.ndarray, holes: np.ndarray, *, patch_size: int = 7, em_iterations: int = 3,
               pm_passes: int = 4, context: int = DEFAULT_CONTEXT, seed: int = 0) -> np.ndarray:
    """``image`` (HWC / HW uint8, uint16, float32; 1, 3 or 4 channels) with the pixels where
    ``holes`` ((H, W) bool, True = missing) is set filled by patches copied from around them.
    Same shape and dtype; every other pixel exactly the input's.  Raises ValueError when a region
    holds no fully known patch_size x patch_size patch (all missing, or a mask too dense), or is
    larger than MAX_REGION_PIXELS."""
    if context < 0:
        raise ValueError(f"context must be >= 0 pixels, got {context}")
    if not holes.any():
        return image.copy()
    regions = hole_regions(holes, lambda bh, bw: max(context, bh, bw))
    for y0, y1, x0, x1 in regions:
        if (y1 - y0) * (x1 - x0) > MAX_REGION_PIXELS:
            raise ValueError(f"a hole region of {x1 - x0}x{y1 - y0} (WxH) pixels is over patchmatch's limit of "
                             f"{MAX_REGION_PIXELS} pixels per region (memory): split the mask or downscale")

    def one(crop: np.ndarray, crop_holes: np.ndarray) -> np.ndarray:
        return _core.patchmatch_inpaint(crop, crop_holes, patch_size=patch_size, em_iterations=em_iterations,
                                        pm_passes=pm_passes, seed=seed)

    return fill_regions(image, holes, regions, one)
