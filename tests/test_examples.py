"""imgen_train.examples: the stylize and smooth examples' data (photos vs OpenCV renderings)."""
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


def test_smooth_is_opencv_edge_preserving_filter_in_rgb():
    x = np.random.default_rng(1).integers(0, 256, (40, 52, 3), dtype=np.uint8)
    y = examples.smooth(x)
    ref = cv2.edgePreservingFilter(x[..., ::-1].copy(), flags=cv2.RECURS_FILTER,
                                   sigma_s=examples.SMOOTH_SIGMA_S, sigma_r=examples.SMOOTH_SIGMA_R)
    assert y.shape == x.shape and y.dtype == np.uint8
    np.testing.assert_array_equal(y, ref[..., ::-1])
    assert np.abs(y.astype(int) - x).mean() > 5  # random pixels are flattened: not the identity


def test_smooth_names_what_it_needs():
    with pytest.raises(ValueError, match=r"\(H, W, 3\) uint8 RGB"):
        examples.smooth(np.zeros((8, 8)))


def test_write_tiled_pair_alternates_tiles_cut_from_the_whole_rendering(tmp_path, monkeypatch):
    monkeypatch.setattr(examples, "TRAIN_PHOTOS", ("astronaut",))
    monkeypatch.setattr(examples, "TEST_PHOTOS", ("coffee",))
    counts = examples.write_tiled_pair(tmp_path, examples.smooth, 128)
    assert counts == {"trainA": 8, "trainB": 8, "testA": 1, "testB": 1}  # 512 / 128 = 4 x 4 tiles
    img = examples.photo("astronaut")
    rendered = examples.smooth(img)
    np.testing.assert_array_equal(_read(tmp_path / "trainA" / "astronaut_000.png"), img[:128, :128])
    # tile 1 (row 0, column 1) is in B, cut from the rendering of the whole photo, not rendered alone
    b = _read(tmp_path / "trainB" / "astronaut_001.png")
    np.testing.assert_array_equal(b, rendered[:128, 128:256])
    assert not (tmp_path / "trainA" / "astronaut_001.png").exists()  # unpaired: each tile in one domain
    x = _read(tmp_path / "testA" / "coffee.png")
    np.testing.assert_array_equal(_read(tmp_path / "testB" / "coffee.png"), examples.smooth(x))
