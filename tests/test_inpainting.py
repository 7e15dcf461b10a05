"""Inpainting (python/imgen/inpainting/): masks, classical methods, inpaint models; outside the
mask every result is the input bit for bit, for every method and dtype."""
from __future__ import annotations

import numpy as np
import pytest

import imgen
from imgen import ModelError
from imgen.inpainting import InpaintModel, as_mask, mask_from_alpha, mask_from_colour, read_mask
from imgen.imageio import write_image

import onnx_models as om

DTYPES = (np.uint8, np.uint16, np.float32)


def _image(dtype, shape=(48, 64, 3), seed=0):
    rng = np.random.default_rng(seed)
    x = rng.random(shape)
    if dtype == np.float32:
        return x.astype(np.float32)
    top = np.iinfo(dtype).max
    return np.rint(x * top).astype(dtype)


def _mask(h=48, w=64):
    m = np.zeros((h, w), bool)
    m[10:20, 15:40] = True
    m[30, 5:60] = True  # a one-pixel stroke
    return m


@pytest.mark.parametrize("method", imgen.inpainting.METHODS)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(48, 64), (48, 64, 3), (48, 64, 4)])
def test_outside_the_mask_is_the_input_exactly(method, dtype, shape):
    image, mask = _image(dtype, shape), _mask()
    out = imgen.inpaint(image, mask, method=method)
    assert out.dtype == image.dtype and out.shape == image.shape
    np.testing.assert_array_equal(out[~mask], image[~mask])
    assert not np.array_equal(out[mask], image[mask])


@pytest.mark.parametrize("method", imgen.inpainting.METHODS)
def test_a_smooth_image_is_filled_smoothly(method):
    y, x = np.mgrid[0:48, 0:64]
    image = np.clip(x * 3 + y, 0, 255).astype(np.uint8)
    mask = _mask()
    out = imgen.inpaint(image, mask, method=method)
    assert np.abs(out[mask].astype(int) - image[mask].astype(int)).mean() < 6


@pytest.mark.parametrize("method", imgen.inpainting.METHODS)
def test_a_mask_over_every_pixel_is_refused_saying_why(method):
    # biharmonic failed inside scikit-image with "zero-size array to reduction operation" (#33)
    with pytest.raises(ValueError, match="mask covers every pixel of the 48x64 image.*none"):
        imgen.inpaint(_image(np.uint8, (48, 64)), np.ones((48, 64), bool), method=method)


def test_mask_size_mismatch_names_both_sizes():
    with pytest.raises(ValueError, match=r"mask is 30x20 \(WxH\) but the image is 64x48"):
        imgen.inpaint(_image(np.uint8), np.zeros((20, 30), bool), method="telea")


@pytest.mark.parametrize("bad, match", [
    ("x", "numpy array"), (np.zeros((48, 64), object), "bool or numeric"),
    (np.zeros((2, 48, 64, 1)), r"\(H, W\) or \(H, W, C\)"),
    (np.full((48, 64), np.nan), "NaN"),
])
def test_bad_masks_are_refused_saying_what_was_expected(bad, match):
    with pytest.raises((TypeError, ValueError), match=match):
        imgen.inpaint(_image(np.uint8), bad, method="telea")


def test_method_and_model_are_one_or_the_other():
    with pytest.raises(ValueError, match="exactly one of method="):
        imgen.inpaint(_image(np.uint8), _mask())
    with pytest.raises(ValueError, match="telea, ns, biharmonic.*'magic'"):
        imgen.inpaint(_image(np.uint8), _mask(), method="magic")


def test_masks_from_files_alpha_and_colour(tmp_path):
    m = _mask()
    write_image(tmp_path / "m.png", (m * 255).astype(np.uint8))
    np.testing.assert_array_equal(read_mask(tmp_path / "m.png", (48, 64, 3)), m)
    np.testing.assert_array_equal(read_mask(tmp_path / "m.png", (48, 64), invert=True), ~m)
    with pytest.raises(ValueError, match=r"m\.png is 64x48 .* image is 10x10"):
        read_mask(tmp_path / "m.png", (10, 10))
    rgba = _image(np.uint8, (48, 64, 4))
    rgba[..., 3] = np.where(m, 0, 255)
    np.testing.assert_array_equal(mask_from_alpha(rgba), m)
    with pytest.raises(ValueError, match="alpha"):
        mask_from_alpha(_image(np.uint8))
    rgb = np.zeros((48, 64, 3), np.uint8)
    rgb[m] = (255, 0, 254)
    np.testing.assert_array_equal(mask_from_colour(rgb, (255, 0, 255), tolerance=1), m)
    with pytest.raises(ValueError, match="3 value"):
        mask_from_colour(rgb, (255, 0))
    with pytest.raises(ValueError, match="0-255"):
        mask_from_colour(rgb, (300, 0, 0))
    assert as_mask(np.dstack([m, ~m & False]).astype(np.uint8), (48, 64)).sum() == m.sum()


@pytest.mark.parametrize("dtype", DTYPES)
def test_an_inpaint_model_fills_only_the_holes(tmp_path, dtype):
    path = om.add_mask(tmp_path / "m.onnx", metadata=om.meta(task="inpaint", mask_input="mask", zero_holes="1"))
    model = imgen.load(path)
    assert isinstance(model, InpaintModel)
    image, mask = _image(dtype), _mask()
    out = imgen.inpaint(image, mask, model=model)
    np.testing.assert_array_equal(out[~mask], image[~mask])
    quarter = 0.25 if dtype == np.float32 else round(0.25 * np.iinfo(dtype).max)
    np.testing.assert_allclose(out[mask].astype(np.float64), quarter, atol=1e-6)


def test_mask_polarity_and_unzeroed_holes(tmp_path):
    image, mask = _image(np.float32) * 0.5, _mask()
    plain = om.add_mask(tmp_path / "a.onnx", metadata=om.meta(task="inpaint", mask_input="mask"))
    np.testing.assert_allclose(imgen.inpaint(image, mask, model=plain)[mask], image[mask] + 0.25, atol=1e-6)
    inverted = om.add_mask(tmp_path / "b.onnx",
                           metadata=om.meta(task="inpaint", mask_input="mask", mask_polarity="0"))
    np.testing.assert_array_equal(imgen.inpaint(image, mask, model=inverted), image)


def _recording_model(tmp_path):
    """An inpaint model (image + 0.25 in the holes) and the list of input shapes it is run on."""
    model = imgen.load(om.add_mask(tmp_path / "m.onnx", metadata=om.meta(task="inpaint", mask_input="mask")))
    seen = []
    run = model.run
    model.run = lambda feeds: seen.append(feeds["x"].shape) or run(feeds)
    return model, seen


def test_only_the_box_around_the_holes_runs(tmp_path):
    model, seen = _recording_model(tmp_path)
    image = _image(np.uint8, (300, 400, 3))
    mask = np.zeros((300, 400), bool)
    mask[100:110, 200:230] = True
    out = model(image, mask, context=16)
    assert seen == [(1, 3, 10 + 32, 30 + 32)]
    np.testing.assert_array_equal(out[~mask], image[~mask])
    with pytest.raises(ValueError, match=r"spans 62x42 .*max_side=40"):
        model(image, mask, context=16, max_side=40)
    np.testing.assert_array_equal(model(image, np.zeros((300, 400), bool)), image)


def test_an_inpaint_model_must_name_its_mask_input(tmp_path):
    path = om.add_mask(tmp_path / "m.onnx", metadata=om.meta(task="inpaint"))
    with pytest.raises(ModelError, match="imgen.mask_input .*x, mask"):
        imgen.load(path)
    restore = om.identity(tmp_path / "r.onnx", metadata=om.meta(task="restore"))
    with pytest.raises(ModelError, match="needs an inpaint model"):
        imgen.inpaint(_image(np.float32), _mask(), model=restore)


def test_biharmonic_without_scikit_image_names_the_extra(monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "skimage.restoration", None)
    with pytest.raises(imgen.errors.MissingExtraError, match=r"scikit-image.*imgen\[bench\]"):
        imgen.inpaint(_image(np.uint8), _mask(), method="biharmonic")


def test_a_model_runs_only_on_the_regions_around_separate_holes(tmp_path):
    """A large image with two small holes far apart: one model call per hole, each on the hole's box
    plus the context (padded to the size multiple); the rest of the image exactly as given."""
    model, seen = _recording_model(tmp_path)
    image = _image(np.uint16, (1500, 2000, 3))
    mask = np.zeros((1500, 2000), bool)
    mask[100:110, 200:230] = True
    mask[1200:1220, 1700:1705] = True
    out = model(image, mask, context=8)
    assert sorted(seen) == [(1, 3, 10 + 16, 30 + 16), (1, 3, 20 + 16, 5 + 16)]
    np.testing.assert_array_equal(out[~mask], image[~mask])
    assert not np.array_equal(out[mask], image[mask])
