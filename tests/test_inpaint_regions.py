"""Hole regions (python/imgen/inpainting/regions.py): component boxes grown by a margin, merged
while they overlap; filling region by region changes only the holes."""
from __future__ import annotations

import numpy as np
import pytest

from imgen.inpainting.regions import fill_regions, hole_regions


def test_components_grow_clip_and_merge():
    mask = np.zeros((100, 200), bool)
    mask[10:20, 10:20] = True      # grown by 5: (5, 25, 5, 25)
    mask[22:30, 28:35] = True      # grown: (17, 35, 23, 40) -- overlaps the first
    mask[90:100, 190:200] = True   # clipped at the border
    assert hole_regions(mask, 5) == [(5, 35, 5, 40), (85, 100, 185, 200)]
    assert hole_regions(mask, 0) == [(10, 20, 10, 20), (22, 30, 28, 35), (90, 100, 190, 200)]
    assert hole_regions(mask, 100) == [(0, 100, 0, 200)]
    assert hole_regions(np.zeros((5, 5), bool), 3) == []
    with pytest.raises(ValueError, match="margin must be >= 0"):
        hole_regions(mask, -1)


def test_merging_is_transitive():
    mask = np.zeros((20, 100), bool)
    for x in (5, 25, 45, 65):  # a chain: each grown box meets the next
        mask[10, x] = True
    assert hole_regions(mask, 10) == [(0, 20, 0, 76)]


def test_fill_regions_changes_only_the_holes():
    rng = np.random.default_rng(0)
    image = rng.integers(0, 255, (60, 80, 3), dtype=np.uint8)
    mask = np.zeros((60, 80), bool)
    mask[5:9, 5:9] = mask[40:50, 60:70] = True
    calls = []

    def fill(crop, holes):
        calls.append((crop.shape, int(holes.sum())))
        return np.zeros_like(crop)

    out = fill_regions(image, mask, hole_regions(mask, 4), fill)
    assert calls == [((12, 12, 3), 16), ((18, 18, 3), 100)]
    np.testing.assert_array_equal(out[~mask], image[~mask])
    assert not out[mask].any()
