"""``imgen inpaint`` (python/imgen/cli/inpaint.py): files and folders, one mask or one per image,
alpha and colour keys; outside the mask the file's pixels exactly; bad inputs reported by name."""
from __future__ import annotations

import cv2
import numpy as np
import pytest

from imgen.cli import main

import onnx_models as om


def _write(path, image):
    assert cv2.imwrite(str(path), image)
    return str(path)


def _photo(seed=0, shape=(40, 56, 3), dtype=np.uint8):
    rng = np.random.default_rng(seed)
    top = np.iinfo(dtype).max
    return np.rint(rng.random(shape) * top).astype(dtype)


def _mask():
    m = np.zeros((40, 56), np.uint8)
    m[8:16, 10:30] = 255
    return m


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16])
def test_a_folder_with_one_mask(tmp_path, dtype):
    (tmp_path / "in").mkdir()
    photos = [_photo(k, dtype=dtype) for k in range(3)]
    for k, p in enumerate(photos):
        _write(tmp_path / "in" / f"p{k}.png", p)
    mask = _write(tmp_path / "mask.png", _mask())
    assert main(["inpaint", str(tmp_path / "in"), "--mask", mask, "-o", str(tmp_path / "out"),
                 "--method", "telea", "-q"]) == 0
    holes = _mask() > 0
    for k, p in enumerate(photos):
        out = cv2.imread(str(tmp_path / "out" / f"p{k}.png"), cv2.IMREAD_UNCHANGED)
        assert out.dtype == dtype
        np.testing.assert_array_equal(out[~holes], p[~holes])
        assert not np.array_equal(out[holes], p[holes])


def test_mask_dir_by_name_and_a_missing_or_wrong_size_mask(tmp_path, capsys):
    (tmp_path / "in").mkdir()
    (tmp_path / "masks").mkdir()
    for name in ("a", "b", "c"):
        _write(tmp_path / "in" / f"{name}.png", _photo())
    _write(tmp_path / "masks" / "a.png", _mask())
    _write(tmp_path / "masks" / "b.png", np.zeros((10, 10), np.uint8))
    code = main(["inpaint", str(tmp_path / "in"), "--mask-dir", str(tmp_path / "masks"), "-o", str(tmp_path / "out"),
                 "--method", "ns", "-q"])
    err = capsys.readouterr().err
    assert code == 1
    assert (tmp_path / "out" / "a.png").exists()
    assert not (tmp_path / "out" / "b.png").exists() and not (tmp_path / "out" / "c.png").exists()
    assert "is 10x10 (WxH) but the image is 56x40" in err
    assert "no mask named c.*" in err
    assert "wrote 1 of 3" in err


def test_alpha_and_colour_keys(tmp_path):
    rgba = _photo(shape=(40, 56, 4))
    holes = _mask() > 0
    rgba[..., 3] = np.where(holes, 0, 255)
    src = _write(tmp_path / "a.png", rgba)
    assert main(["inpaint", src, "--mask-from-alpha", "-o", str(tmp_path / "o.png"), "--method", "biharmonic",
                 "-q"]) == 0
    out = cv2.imread(str(tmp_path / "o.png"), cv2.IMREAD_UNCHANGED)
    np.testing.assert_array_equal(out[~holes], rgba[~holes])
    bgr = _photo()
    bgr[holes] = (255, 0, 255)
    src = _write(tmp_path / "k.png", bgr)
    assert main(["inpaint", src, "--mask-colour", "255,0,255", "-o", str(tmp_path / "k_out.png"), "--method", "telea",
                 "-q"]) == 0
    out = cv2.imread(str(tmp_path / "k_out.png"))
    np.testing.assert_array_equal(out[~holes], bgr[~holes])
    assert not np.any(np.all(out[holes] == (255, 0, 255), axis=1))


def test_an_inpaint_model_and_bad_arguments(tmp_path, capsys):
    model = om.add_mask(tmp_path / "m.onnx", metadata=om.meta(task="inpaint", mask_input="mask", zero_holes="1"))
    src = _write(tmp_path / "p.png", _photo())
    mask = _write(tmp_path / "mask.png", _mask())
    assert main(["inpaint", src, "--mask", mask, "-o", str(tmp_path / "o.png"), "--model", model, "-q"]) == 0
    out = cv2.imread(str(tmp_path / "o.png"))
    holes = _mask() > 0
    assert np.all(out[holes] == 64)
    with pytest.raises(SystemExit):
        main(["inpaint", src, "--mask", mask, "-o", str(tmp_path / "x.png"), "--method", "magic"])
    with pytest.raises(SystemExit):
        main(["inpaint", src, "-o", str(tmp_path / "x.png"), "--method", "telea"])
    assert main(["inpaint", src, "--mask", str(tmp_path / "nothere.png"), "-o", str(tmp_path / "x.png"),
                 "--method", "telea"]) != 0
    assert "--mask " + str(tmp_path / "nothere.png") + ": no such file" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["inpaint", src, "--mask-colour", "1,2", "-o", str(tmp_path / "x.png"), "--method", "telea"])
