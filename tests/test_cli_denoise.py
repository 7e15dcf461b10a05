"""imgen denoise: classical denoisers over files, with run's file-handling guarantees."""
from __future__ import annotations

import cv2
import numpy as np
import pytest
from skimage import data

from imgen.cli import main
from imgen.metrics import psnr

import onnx_models as om


@pytest.fixture
def noisy_files(tmp_path):
    rng = np.random.default_rng(0)
    root = tmp_path / "in"
    root.mkdir()
    gray = data.camera()[100:228, 100:228]
    color = data.astronaut()[:128, 200:328]
    clean = {"gray.png": gray, "color.png": color[..., ::-1], "color16.tif": (color[..., ::-1].astype(np.uint16) * 257)}
    for name, img in clean.items():
        scale = 257 if img.dtype == np.uint16 else 1
        noisy = img.astype(np.float64) + rng.normal(0, 20 * scale, img.shape)
        cv2.imwrite(str(root / name), np.clip(np.rint(noisy), 0, 255 * scale).astype(img.dtype))
    return root, clean


@pytest.mark.parametrize("method", ["wavelet", "bm3d"])
def test_denoise_folder(method, noisy_files, tmp_path):
    root, clean = noisy_files
    out = tmp_path / "out"
    assert main(["denoise", str(root), "-o", str(out), "--method", method, "--sigma", "20", "-q"]) == 0
    for name, img in clean.items():
        noisy = cv2.imread(str(root / name), cv2.IMREAD_UNCHANGED)
        got = cv2.imread(str(out / name), cv2.IMREAD_UNCHANGED)
        assert got.shape == img.shape and got.dtype == img.dtype
        assert psnr(img, got) > psnr(img, noisy) + 2, name


def test_sigma_estimated_when_omitted(noisy_files, tmp_path):
    root, clean = noisy_files
    out = tmp_path / "out"
    assert main(["denoise", str(root / "gray.png"), "-o", str(out), "--method", "wavelet", "--shifts", "4", "-q"]) == 0
    got = cv2.imread(str(out / "gray.png"), cv2.IMREAD_UNCHANGED)
    assert psnr(clean["gray.png"], got) > psnr(clean["gray.png"], cv2.imread(str(root / "gray.png"), 0)) + 2


def test_denoise_with_a_model_and_errors(noisy_files, tmp_path, capsys):
    root, _ = noisy_files
    model = om.minus_noise(tmp_path / "n.onnx", 3)
    assert main(["denoise", str(root / "color.png"), "-o", str(tmp_path / "o"), "--model", model, "--sigma", "0", "-q"]) == 0
    np.testing.assert_array_equal(cv2.imread(str(tmp_path / "o" / "color.png")), cv2.imread(str(root / "color.png")))
    assert main(["denoise", str(root), "-o", str(root), "--method", "wavelet", "-q"]) == 1
    assert "would overwrite an input" in capsys.readouterr().err
    assert main(["denoise", str(root), "-o", str(tmp_path / "x"), "--sigma", "-3"]) == 1
    assert "--sigma must be >= 0" in capsys.readouterr().err
    gen = om.identity(tmp_path / "g.onnx", 3, om.meta(task="generate", channels=3))
    assert main(["denoise", str(root), "-o", str(tmp_path / "y"), "--model", gen]) == 1
    assert "not a denoiser" in capsys.readouterr().err


def test_a_decompression_bomb_is_that_files_error(noisy_files, tmp_path, capsys):
    from test_imageio import bomb_png

    root, clean = noisy_files
    bomb_png(root / "bomb.png")
    out = tmp_path / "out"
    assert main(["denoise", str(root), "-o", str(out), "--method", "wavelet", "--sigma", "20", "-q"]) == 1
    err = capsys.readouterr().err
    assert "wrote 3 of 4" in err and "bomb.png: 60000x60000" in err and "over the limit" in err
    assert sorted(p.name for p in out.iterdir()) == sorted(clean)
