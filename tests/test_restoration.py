"""imgen.restoration: classical SR, deblurring and JPEG artefact removal, each checked to restore."""
from __future__ import annotations

import numpy as np
import pytest
from skimage import data

from imgen import degrade, restoration
from imgen.metrics import psnr


@pytest.fixture(scope="module")
def camera():
    return data.camera()[96:224, 96:224].copy()


@pytest.mark.parametrize("method", ["bicubic", "lanczos"])
def test_upscale_beats_nearest(camera, method):
    small = degrade.downscale(camera, 2)
    up = restoration.upscale(small, 2, method=method)
    assert up.shape == camera.shape and up.dtype == np.uint8
    nearest = np.repeat(np.repeat(small, 2, 0), 2, 1)
    assert psnr(camera, up) > psnr(camera, nearest) + 1


@pytest.mark.parametrize("shape", [(9, 7), (9, 7, 1), (9, 7, 3), (9, 7, 4)])
def test_upscale_layouts(shape):
    img = np.zeros(shape, np.float32)
    out = restoration.upscale(img, 3)
    assert out.shape == (27, 21) + shape[2:] and out.dtype == np.float32


def test_upscale_bad_args():
    with pytest.raises(ValueError, match="scale"):
        restoration.upscale(np.zeros((4, 4), np.uint8), 0)
    with pytest.raises(ValueError, match="method"):
        restoration.upscale(np.zeros((4, 4), np.uint8), 2, method="area")


@pytest.mark.parametrize("kernel", ["gauss1.6", "motion19"])
def test_deblur_methods_restore(camera, kernel):
    blurred = degrade.blur(camera, kernel, 1 / 255, seed=0)
    before = psnr(camera, blurred)
    w = restoration.wiener(blurred, kernel, balance=0.01)
    rl = restoration.richardson_lucy(blurred, kernel, iterations=20)
    assert w.dtype == rl.dtype == np.uint8 and w.shape == rl.shape == camera.shape
    assert psnr(camera, w) > before + 0.5
    assert psnr(camera, rl) > before + 0.5


def test_deblur_colour_and_bad_args(camera):
    rgb = np.dstack([camera] * 3)
    out = restoration.wiener(degrade.blur(rgb, "gauss1.6"), "gauss1.6")
    assert out.shape == rgb.shape
    np.testing.assert_array_equal(out[..., 0], out[..., 2])
    with pytest.raises(ValueError, match="balance"):
        restoration.wiener(rgb, "gauss1.6", balance=0)
    with pytest.raises(ValueError, match="iterations"):
        restoration.richardson_lucy(rgb, "gauss1.6", iterations=0)
    with pytest.raises(ValueError, match="one of"):
        restoration.wiener(rgb, "box")


def test_jpeg_sigma_table():
    assert restoration.jpeg_sigma(10) == pytest.approx(12.842 / 255)
    assert restoration.jpeg_sigma(10) > restoration.jpeg_sigma(35) > restoration.jpeg_sigma(90)
    with pytest.raises(ValueError, match="quality"):
        restoration.jpeg_sigma(0)


def test_dejpeg_bm3d_improves(camera):
    jpg = degrade.jpeg(camera, 10)
    out = restoration.dejpeg_bm3d(jpg, 10)
    assert out.dtype == np.uint8 and out.shape == camera.shape
    assert psnr(camera, out) > psnr(camera, jpg) + 0.3
