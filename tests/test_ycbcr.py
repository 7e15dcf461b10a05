"""imgen._ycbcr: RGB <-> Y, Cb, Cr planes, full range (JPEG's, a gray model on colour) and studio
range (MATLAB's rgb2ycbcr, imgen.color_space y), float32 a band at a time."""
from __future__ import annotations

import numpy as np
import pytest

import imgen
from imgen import _ycbcr
from imgen._validate import image_max


def _planes_float64(image, color_order, space=_ycbcr.FULL):
    """The float64 conversion to_planes replaced (the reference for its float32 one)."""
    rgb = image[..., :3].astype(np.float64) / image_max(image.dtype)
    if color_order == "bgr":
        rgb = rgb[..., ::-1]
    ycc = rgb @ space.forward.T + np.asarray(space.offset)
    return [np.ascontiguousarray(ycc[..., c], dtype=np.float32) for c in range(3)]


@pytest.mark.parametrize("space", [_ycbcr.FULL, _ycbcr.STUDIO], ids=lambda s: s.name)
@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, np.float32])
@pytest.mark.parametrize("order", ["rgb", "bgr"])
def test_planes_are_float32_and_match_the_float64_conversion(monkeypatch, rng, dtype, order, space):
    monkeypatch.setattr(_ycbcr, "BAND_PIXELS", 64)  # several bands, the last one short
    top = 1.0 if dtype == np.float32 else np.iinfo(dtype).max
    image = (rng.random((23, 10, 4)) * top).astype(dtype)
    got = _ycbcr.to_planes(image, order, space)
    want = _planes_float64(image, order, space)
    for g, w in zip(got, want):
        assert g.dtype == np.float32 and g.shape == (23, 10) and g.flags.c_contiguous
        np.testing.assert_allclose(g, w, rtol=0, atol=1e-6)
    back = _ycbcr.from_planes(got, image.dtype, order, space)
    assert back.dtype == image.dtype and back.shape == image.shape[:2] + (3,)
    if dtype != np.float32:
        np.testing.assert_array_equal(back, image[..., :3])  # exact round trip
    else:
        np.testing.assert_allclose(back, image[..., :3], atol=2e-6)


def test_studio_range_is_matlabs_rgb2ycbcr():
    # MATLAB: rgb2ycbcr(uint8([255 0 0])) = [81 90 240]; white -> [235 128 128]; black -> [16 128 128]
    pixels = np.array([[[255, 0, 0], [255, 255, 255], [0, 0, 0], [0, 255, 0]]], np.uint8)
    planes = _ycbcr.to_planes(pixels, "rgb", _ycbcr.STUDIO)
    got = np.rint(np.stack(planes, axis=2) * 255).astype(int)[0]
    np.testing.assert_array_equal(got, [[81, 90, 240], [235, 128, 128], [16, 128, 128], [145, 54, 34]])
    gray = np.float32([0.0, 1.0, 0.5])
    np.testing.assert_allclose(_ycbcr.STUDIO.gray_to_y(gray), [16 / 255, 235 / 255, (16 + 109.5) / 255], atol=1e-6)
    np.testing.assert_allclose(_ycbcr.STUDIO.y_to_gray(_ycbcr.STUDIO.gray_to_y(gray)), gray, atol=1e-6)


def test_plane_noise_is_the_row_norm():
    assert _ycbcr.FULL.noise[0] == pytest.approx(np.linalg.norm([0.299, 0.587, 0.114]))
    assert _ycbcr.STUDIO.noise[0] == pytest.approx(np.linalg.norm([65.481, 128.553, 24.966]) / 255)


def test_planes_peak_memory_is_the_planes_and_a_band(rng):
    import tracemalloc

    image = rng.integers(0, 256, (1500, 1200, 3), dtype=np.uint8)
    tracemalloc.start()
    try:
        planes = _ycbcr.to_planes(image, "rgb")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert [p.dtype for p in planes] == [np.float32] * 3
    # 12 bytes a pixel for the three planes, plus four float32 bands (2**18 pixels each: 4 MiB);
    # the float64 conversion peaked at 60 bytes a pixel (108 MB here)
    assert peak < 12 * image.shape[0] * image.shape[1] + 5 * 2**20


def test_colour_sr_with_a_luma_model_is_within_one_level_of_the_float64_path(monkeypatch, rng):
    image = rng.integers(0, 256, (37, 29, 3), dtype=np.uint8)
    model = imgen.load("sr-x2")
    got = model(image)
    monkeypatch.setattr(_ycbcr, "to_planes", _planes_float64)
    want = model(image)
    assert got.shape == want.shape == (74, 58, 3)
    assert np.abs(got.astype(int) - want).max() <= 1


@pytest.mark.parametrize("space", [_ycbcr.FULL, _ycbcr.STUDIO], ids=lambda s: s.name)
@pytest.mark.parametrize("order", ["rgb", "bgr"])
def test_one_plane_is_to_planes_plane_and_the_compact_one_round_trips_8_bit(monkeypatch, rng, order, space):
    # pixels.prepare makes a large image's planes one at a time (#33 item 1), 8-bit ones as uint16
    monkeypatch.setattr(_ycbcr, "BAND_PIXELS", 64)
    image = rng.integers(0, 256, (23, 10, 3), dtype=np.uint8)
    planes = _ycbcr.to_planes(image, order, space)
    compact = [_ycbcr.plane(image, order, c, space, compact=True) for c in range(3)]
    for c, want in enumerate(planes):
        np.testing.assert_array_equal(_ycbcr.plane(image, order, c, space), want)
        assert compact[c].dtype == np.uint16
        assert np.abs(compact[c] / 65535.0 - want).max() <= 0.5 / 65535 + 1e-7
    np.testing.assert_array_equal(_ycbcr.from_planes(compact, np.uint8, order, space), image)
