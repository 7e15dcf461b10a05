"""imgen.restoration: classical SR, deblurring and JPEG artefact removal, each checked to restore."""
from __future__ import annotations

import numpy as np
import pytest
from skimage import data

from imgen import _bands, degrade, restoration
from imgen.metrics import psnr

from isolated import PEAK_RSS, run_python


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


@pytest.mark.parametrize("kernel", ["gauss3", "motion25"])
def test_wiener_in_bands_gives_the_whole_images_pixels_inside(kernel):
    """Bands with their margins give the whole call's pixels away from the top and bottom rows
    (where the two differ by the FFT's wrap-around), and about as close to the sharp image."""
    tall = np.concatenate([data.camera(), data.camera()[::-1]])[:448]  # 448 x 512, uint8
    blurred = degrade.blur(tall, kernel, 2.55 / 255, seed=2).astype(np.float32) / 255
    whole = restoration.wiener(blurred, kernel, balance=1e-3, band=0)
    banded = restoration.wiener(blurred, kernel, balance=1e-3, band=64)
    edge = 2 * 25
    assert np.abs(banded[edge:-edge] - whole[edge:-edge]).max() < 0.05 / 255
    sharp = tall.astype(np.float64) / 255
    err = [np.mean((np.clip(x, 0, 1) - sharp) ** 2) for x in (banded, whole)]
    assert err[0] <= err[1] * 1.02
    as_uint8 = restoration.wiener(degrade.blur(tall, kernel, 2.55 / 255, seed=2), kernel, band=64)
    assert as_uint8.dtype == np.uint8 and as_uint8.shape == tall.shape


def test_richardson_lucy_in_bands_gives_the_whole_images_pixels():
    """Both reflect-pad the image's edges, so bands with their margins match everywhere."""
    tall = np.concatenate([data.camera(), data.camera()[::-1]])[:320, :256]
    blurred = degrade.blur(tall, "gauss3", 2.55 / 255, seed=2).astype(np.float32) / 255
    whole = restoration.richardson_lucy(blurred, "gauss3", band=0)
    banded = restoration.richardson_lucy(blurred, "gauss3", band=64)
    assert np.abs(banded - whole).max() < 0.01 / 255


@pytest.mark.parametrize("method", ["wiener", "richardson_lucy"])
def test_deconvolution_bands_large_images_by_default_and_checks_band(camera, monkeypatch, method):
    from imgen.restoration import deblur

    deconvolve = getattr(restoration, method)
    calls = []
    real = deblur._deconvolve_plane
    monkeypatch.setattr(deblur, "_deconvolve_plane", lambda p, k, fn: calls.append(p.shape) or real(p, k, fn))
    monkeypatch.setattr(_bands, "WHOLE_PIXELS", 256 * 256)
    monkeypatch.setattr(_bands, "BAND_PIXELS", 128 * 512)
    rgb = np.stack([data.camera()] * 3, axis=-1)  # 512 x 512 x 3: over the (patched) whole-image limit
    out = deconvolve(rgb, "gauss1.6", **({"iterations": 3} if method == "richardson_lucy" else {}))
    assert out.shape == rgb.shape and out.dtype == np.uint8
    margin = deblur.deconvolution_margin("gauss1.6", 3 if method == "richardson_lucy" else 0)
    assert len(calls) == 4 * 3 and max(h for h, _ in calls) == 128 + 2 * margin  # 4 bands, 3 planes each
    calls.clear()
    deconvolve(data.camera()[:128], "gauss1.6")
    assert calls == [(128, 512)]  # at the limit: whole
    for bad in (-1, 2.5, True, "64"):
        with pytest.raises(ValueError, match="band must be"):
            deconvolve(camera, "gauss1.6", band=bad)


_DECONVOLUTION_PEAK = PEAK_RSS + """
import numpy as np
from imgen import restoration
deconvolve = getattr(restoration, "{method}")
band = {band}
img = np.random.default_rng(0).integers(96, 160, ({large}, 400), dtype=np.uint8)
deconvolve(img[:64, :64], "gauss1.6")  # libraries loaded
deconvolve(img[:{small}], "gauss1.6", band=band)
small = peak_rss()
deconvolve(img, "gauss1.6", band=band)  # its arrays of the small call were freed: the peak is the large call's
print(peak_rss() - small)
"""


def _growth(method: str, band: int, small: int, large: int) -> int:
    """Bytes the peak grows by from ``small`` to ``large`` rows of 400 pixels (one child process)."""
    res = run_python(_DECONVOLUTION_PEAK.format(method=method, band=band, small=small, large=large), timeout=300)
    assert res.returncode == 0, res.stderr[-2000:]
    return int(res.stdout.split()[-1])


@pytest.mark.slow
@pytest.mark.parametrize(("method", "whole_over", "banded_under"), [("wiener", 8, 3), ("richardson_lucy", 64, 6)])
def test_deconvolution_memory_is_bounded_by_the_band_not_the_image(method, whole_over, banded_under):
    # whole: tens of bytes a pixel (float64 planes, complex spectra; Richardson-Lucy ~110); in bands
    # of 128 rows (and their margins): the output (1 byte a pixel), one band and the allocator's
    # slack, whatever the height (Richardson-Lucy measured 2.3-4.3 bytes a pixel)
    small, large = 500, 2000
    added = (large - small) * 400
    whole = _growth(method, 0, small, large)
    banded = _growth(method, 128, small, large)
    assert whole > whole_over * added  # what the bands avoid (the test measures what it means to)
    assert banded < banded_under * added, f"peak grew by {banded / added:.1f} bytes a pixel from {small} to {large} rows"
