"""imgen's exemplar-based inpainting (csrc/inpaint, python/imgen/inpainting/patchmatch.py):
outside pixels exact in every dtype, texture copied where diffusion blurs, seeded and
thread-count independent, hostile input refused with a clear error."""
from __future__ import annotations

import sys

import numpy as np
import pytest

import imgen
from imgen import _core
from imgen.inpainting import fill, patchmatch


def _texture(shape=(96, 112), seed=0):
    """A periodic random texture (a 13 x 11 tile repeated): any hole has an exact source."""
    rng = np.random.default_rng(seed)
    tile = rng.random((13, 11) + shape[2:])
    reps = (-(-shape[0] // 13), -(-shape[1] // 11)) + (1,) * (len(shape) - 2)
    return np.tile(tile, reps)[: shape[0], : shape[1]]


def _as(image01, dtype):
    if dtype == np.float32:
        return image01.astype(np.float32)
    top = np.iinfo(dtype).max
    return np.rint(image01 * top).astype(dtype)


def _box_mask(shape, y=40, x=50, h=20, w=24):
    mask = np.zeros(shape[:2], bool)
    mask[y:y + h, x:x + w] = True
    return mask


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, np.float32])
@pytest.mark.parametrize("shape", [(96, 112), (96, 112, 1), (96, 112, 3), (96, 112, 4)])
def test_outside_exact_and_a_periodic_texture_is_rebuilt(dtype, shape):
    image = _as(_texture(shape), dtype)
    mask = _box_mask(shape)
    out = _core.patchmatch_inpaint(image, mask, seed=1)
    assert out.dtype == image.dtype and out.shape == image.shape
    np.testing.assert_array_equal(out[~mask], image[~mask])
    top = 1.0 if dtype == np.float32 else float(np.iinfo(dtype).max)
    err = np.abs(out[mask].astype(np.float64) - image[mask].astype(np.float64)).mean() / top
    telea = fill(image, mask, "telea")
    telea_err = np.abs(telea[mask].astype(np.float64) - image[mask].astype(np.float64)).mean() / top
    assert err < 0.02 < telea_err


def test_seeded_and_independent_of_the_thread_count():
    rng = np.random.default_rng(3)
    image = (rng.random((80, 90, 3)) * 255).astype(np.uint8)
    mask = _box_mask(image.shape, 30, 30, 15, 25)
    before = _core.get_num_threads()
    try:
        _core.set_num_threads(1)
        one = _core.patchmatch_inpaint(image, mask, seed=5)
        _core.set_num_threads(3)
        three = _core.patchmatch_inpaint(image, mask, seed=5)
    finally:
        _core.set_num_threads(before)
    np.testing.assert_array_equal(one, three)
    np.testing.assert_array_equal(one, _core.patchmatch_inpaint(image, mask, seed=5))
    assert not np.array_equal(one, _core.patchmatch_inpaint(image, mask, seed=6))


def test_hole_values_are_never_read():
    image = _texture((64, 64)).astype(np.float32)
    mask = _box_mask(image.shape, 20, 20, 12, 12)
    poisoned = image.copy()
    poisoned[mask] = np.nan
    np.testing.assert_array_equal(_core.patchmatch_inpaint(poisoned, mask)[mask], _core.patchmatch_inpaint(image, mask)[mask])


@pytest.mark.parametrize("mask, match", [
    (np.ones((40, 40), bool), "no fully known 7x7 patch"),
    (np.indices((40, 40)).sum(axis=0) % 5 == 0, "no fully known 7x7 patch"),
])
def test_nothing_to_copy_from_is_a_clear_error(mask, match):
    with pytest.raises(ValueError, match=match):
        _core.patchmatch_inpaint(np.zeros((40, 40), np.uint8), mask)


@pytest.mark.parametrize("kwargs, error, match", [
    ({"patch_size": 8}, ValueError, "patch_size must be odd and in 3..31, got 8"),
    ({"patch_size": 2**70}, ValueError, "patch_size must be odd"),
    ({"em_iterations": 0}, ValueError, "em_iterations must be in 1..50"),
    ({"pm_passes": 17}, ValueError, "pm_passes must be in 1..16"),
    ({"max_levels": -1}, ValueError, "max_levels must be in 0..16"),
    ({"seed": -1}, ValueError, "seed must be in 0"),
    ({"seed": "x"}, TypeError, "seed must be an int"),
])
def test_bad_parameters_name_themselves(kwargs, error, match):
    with pytest.raises(error, match=match):
        _core.patchmatch_inpaint(np.zeros((40, 40), np.uint8), _box_mask((40, 40), 5, 5, 4, 4), **kwargs)


def test_bad_arrays_are_refused():
    image = np.zeros((40, 40), np.uint8)
    with pytest.raises(ValueError, match=r"mask must have shape \(40, 40\)"):
        _core.patchmatch_inpaint(image, np.zeros((30, 40), bool))
    with pytest.raises(TypeError, match="mask must be a bool or uint8"):
        _core.patchmatch_inpaint(image, np.zeros((40, 40), np.float32))
    with pytest.raises(ValueError, match="smaller than one patch"):
        _core.patchmatch_inpaint(np.zeros((5, 40), np.uint8), np.ones((5, 40), bool))
    bad = np.zeros((40, 40), np.float32)
    bad[0, 0] = np.inf
    with pytest.raises(ValueError, match="non-finite"):
        _core.patchmatch_inpaint(bad, _box_mask((40, 40), 10, 10, 5, 5))
    np.testing.assert_array_equal(_core.patchmatch_inpaint(image + 7, np.zeros((40, 40), bool)), image + 7)


def test_a_large_image_is_filled_region_by_region():
    """Two small holes far apart in a large image: only their regions are searched (bounded
    memory); the rest of the image is the input exactly."""
    image = (_texture((1200, 1500, 3)) * 255).astype(np.uint8)
    mask = np.zeros(image.shape[:2], bool)
    mask[100:110, 100:120] = True
    mask[1000:1012, 1300:1310] = True
    regions = imgen.inpainting.hole_regions(mask, 64)
    assert regions == [(36, 174, 36, 184), (936, 1076, 1236, 1374)]
    out = patchmatch(image, mask)
    np.testing.assert_array_equal(out[~mask], image[~mask])
    assert np.abs(out[mask].astype(int) - image[mask]).mean() < 3


def test_a_region_over_the_memory_limit_is_refused(monkeypatch):
    monkeypatch.setattr(sys.modules["imgen.inpainting.patchmatch"], "MAX_REGION_PIXELS", 1000)
    image = np.zeros((100, 100), np.uint8)
    with pytest.raises(ValueError, match=r"region of 100x100 \(WxH\) pixels is over patchmatch's limit of 1000"):
        patchmatch(image, _box_mask(image.shape, 40, 40, 10, 10))
