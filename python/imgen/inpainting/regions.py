"""Where an inpainting run needs to look: the holes' connected components, each as its bounding
box grown by a context margin, boxes merged while they overlap.  A region holds every pixel of its
holes and no pixel of another region's holes, so regions can be filled independently."""
from __future__ import annotations

from typing import Callable

import numpy as np

Box = tuple[int, int, int, int]  # y0, y1, x0, x1 (half-open), pixels


def hole_regions(holes: np.ndarray, margin: "int | Callable[[int, int], int]") -> list[Box]:
    """Regions (y0, y1, x0, x1) of ``holes`` ((H, W) bool, True = missing): each component's box
    grown by ``margin`` pixels (or ``margin(box_height, box_width)``), clipped to the image, then
    merged with every box it overlaps until none overlap.  Sorted top-left first; [] without holes."""
    import cv2  # not at import time: imgen.imageio sets OpenCV's pixel limit before cv2 first loads

    h, w = holes.shape
    count, _, stats, _ = cv2.connectedComponentsWithStats(holes.astype(np.uint8), connectivity=8)
    boxes: list[Box] = []
    for x, y, bw, bh, _area in stats[1:count]:
        m = margin(int(bh), int(bw)) if callable(margin) else margin
        if m < 0:
            raise ValueError(f"the context margin must be >= 0 pixels, got {m}")
        boxes.append((max(int(y) - m, 0), min(int(y + bh) + m, h), max(int(x) - m, 0), min(int(x + bw) + m, w)))
    merged = True
    while merged:
        merged = False
        out: list[Box] = []
        for box in boxes:
            for k, other in enumerate(out):
                if box[0] < other[1] and other[0] < box[1] and box[2] < other[3] and other[2] < box[3]:
                    out[k] = (min(box[0], other[0]), max(box[1], other[1]), min(box[2], other[2]), max(box[3], other[3]))
                    merged = True
                    break
            else:
                out.append(box)
        boxes = out
    return sorted(boxes)


def fill_regions(image: np.ndarray, holes: np.ndarray, regions: list[Box],
                 fill: Callable[[np.ndarray, np.ndarray], np.ndarray]) -> np.ndarray:
    """A copy of ``image`` with each region's holes replaced by ``fill(crop, crop_holes)``; only
    the holes change (every other pixel is the input's)."""
    out = image.copy()
    for y0, y1, x0, x1 in regions:
        crop, crop_holes = np.ascontiguousarray(image[y0:y1, x0:x1]), holes[y0:y1, x0:x1]
        filled = fill(crop, crop_holes)
        sel = crop_holes if image.ndim == 2 else np.broadcast_to(crop_holes[..., None], crop.shape)
        out[y0:y1, x0:x1][sel] = filled[sel]
    return out
