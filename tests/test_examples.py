"""imgen_train.examples: the stylize example's data (photos vs OpenCV renderings of other photos)."""
from __future__ import annotations

import cv2
import numpy as np
import pytest

pytest.importorskip("skimage")
examples = pytest.importorskip("imgen_train.examples", reason="export/ on the path (the dev setup)")


def _read(path):
    return cv2.cvtColor(cv2.imread(str(path)), cv2.COLOR_BGR2RGB)


def test_stylize_is_opencv_stylization_in_rgb():
    x = np.random.default_rng(0).integers(0, 256, (40, 52, 3), dtype=np.uint8)
    y = examples.stylize(x)
    ref = cv2.stylization(x[..., ::-1].copy(), sigma_s=examples.STYLIZE_SIGMA_S, sigma_r=examples.STYLIZE_SIGMA_R)
    assert y.shape == x.shape and y.dtype == np.uint8
    np.testing.assert_array_equal(y, ref[..., ::-1])
    assert np.abs(y.astype(int) - x).mean() > 5  # not the identity


@pytest.mark.parametrize("bad", [np.zeros((8, 8), np.uint8), np.zeros((8, 8, 4), np.uint8), np.zeros((8, 8, 3))])
def test_stylize_names_what_it_needs(bad):
    with pytest.raises(ValueError, match=r"\(H, W, 3\) uint8 RGB"):
        examples.stylize(bad)


def test_stylize_domains_are_unpaired_and_held_out_photos_unseen():
    a, b, test = set(examples.STYLIZE_A), set(examples.STYLIZE_B), set(examples.TEST_PHOTOS)
    assert a and b and not (a & b) and not (test & (a | b))


def test_write_stylize(tmp_path):
    counts = examples.write_stylize(tmp_path)
    assert counts == {"trainA": len(examples.STYLIZE_A), "trainB": len(examples.STYLIZE_B),
                      "testA": len(examples.TEST_PHOTOS), "testB": len(examples.TEST_PHOTOS)}
    for name in examples.STYLIZE_A:
        np.testing.assert_array_equal(_read(tmp_path / "trainA" / f"{name}.png"), examples.stylize_photo(name))
    name = examples.STYLIZE_B[0]
    np.testing.assert_array_equal(_read(tmp_path / "trainB" / f"{name}.png"),
                                  examples.stylize(examples.stylize_photo(name)))
    for name in examples.TEST_PHOTOS:
        x = _read(tmp_path / "testA" / f"{name}.png")
        np.testing.assert_array_equal(_read(tmp_path / "testB" / f"{name}.png"), examples.stylize(x))
    assert examples.stylize_photo("hubble_deep_field").shape[0] == examples.photo("hubble_deep_field").shape[0] // 2
