"""denoise.bm3d on large images (#33 item 1): horizontal bands with margins give the whole
image's result and bound memory by the band, not the image."""
from __future__ import annotations

import importlib

import cv2
import numpy as np
import pytest

from imgen import _bands, denoise
from imgen.metrics import psnr

from isolated import PEAK_RSS, run_python

bm3d_module = importlib.import_module("imgen.denoise.bm3d")


def _noisy(h: int, w: int, channels: int, sigma: float, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    shape = (h, w) if channels == 1 else (h, w, channels)
    clean = cv2.GaussianBlur(rng.integers(0, 256, shape).astype(np.float32), (0, 0), 2)
    return np.clip(np.rint(clean + rng.normal(0, sigma, shape)), 0, 255).astype(np.uint8)


@pytest.mark.parametrize("sigma", [10, 25, 60])
@pytest.mark.parametrize("rows", [1, 13, 100])
def test_bands_give_the_whole_images_pixels(sigma, rows):
    noisy = _noisy(420, 150, 1, sigma)
    whole = denoise.bm3d(noisy, sigma=sigma / 255, band=0)
    banded = denoise.bm3d(noisy, sigma=sigma / 255, band=rows)
    assert banded.dtype == np.uint8 and banded.shape == whole.shape
    diff = np.abs(banded.astype(int) - whole)
    assert diff.max() <= 1 and (diff > 0).mean() < 1e-3


def test_colour_float_and_the_wiener_stage_alone_in_bands():
    noisy = _noisy(300, 120, 3, 25)
    f = noisy.astype(np.float32) / 255
    whole = denoise.bm3d(f, sigma=25 / 255, band=0)
    banded = denoise.bm3d(f, sigma=25 / 255, band=48)
    assert np.abs(banded - whole).max() < 2e-3 and psnr(banded, whole) > 70
    pilot = denoise.bm3d(noisy, sigma=25 / 255, stage="hard", band=0)
    wiener = [denoise.bm3d(noisy, sigma=25 / 255, stage="wiener", pilot=pilot, band=b) for b in (0, 40)]
    assert np.abs(wiener[0].astype(int) - wiener[1]).max() <= 1


def test_a_margin_too_small_is_seen():
    # the check above can fail: half the margin leaves a quarter of the pixels different
    noisy = _noisy(420, 150, 1, 25).astype(np.float32) / 255
    whole = denoise.bm3d(noisy, sigma=25 / 255, band=0)
    full = bm3d_module._margin
    try:
        bm3d_module._margin = lambda sizes, stage: full(sizes, stage) // 2
        half = denoise.bm3d(noisy, sigma=25 / 255, band=100)
    finally:
        bm3d_module._margin = full
    assert (np.abs(half - whole) > 1e-6).mean() > 0.05


def test_large_images_run_in_bands_by_default(monkeypatch):
    calls = []
    core = bm3d_module._core.bm3d

    def spy(img, **kw):
        calls.append(img.shape)
        return core(img, **kw)

    monkeypatch.setattr(bm3d_module._core, "bm3d", spy)
    monkeypatch.setattr(_bands, "WHOLE_PIXELS", 100 * 100)
    monkeypatch.setattr(_bands, "BAND_PIXELS", 60 * 120)
    denoise.bm3d(_noisy(300, 120, 1, 25), sigma=25 / 255)
    assert len(calls) == 5 and all(s[0] < 300 for s in calls)  # 60-row cores, each with its margins
    calls.clear()
    denoise.bm3d(_noisy(90, 100, 1, 25), sigma=25 / 255)
    assert calls == [(90, 100)]


def test_band_argument_and_bad_parameters_are_checked():
    noisy = _noisy(64, 64, 1, 25)
    for bad in (-1, 2.5, True, "10"):
        with pytest.raises(ValueError, match="band must be None"):
            denoise.bm3d(noisy, sigma=0.1, band=bad)
    # the core's own messages, in bands as whole
    with pytest.raises(ValueError, match="search_window"):
        denoise.bm3d(noisy, sigma=0.1, band=8, search_window_hard=40)
    with pytest.raises(ValueError, match="pilot"):
        denoise.bm3d(noisy, sigma=0.1, stage="wiener", pilot=noisy[:32], band=8)


_PEAK = PEAK_RSS + """
import numpy as np
from imgen import _bands, denoise
height, band = {height}, {band}
rng = np.random.default_rng(0)
img = rng.integers(96, 160, (height, 200), dtype=np.uint8)  # no float temporaries before the peak
denoise.bm3d(img[:64, :64], sigma=0.1)  # libraries loaded, pools started
before = peak_rss()
denoise.bm3d(img, sigma=0.1, band=band)
print(peak_rss() - before)
"""


def _growth(height: int, band: int) -> int:
    res = run_python(_PEAK.format(height=height, band=band), timeout=300)
    assert res.returncode == 0, res.stderr[-2000:]
    return int(res.stdout.split()[-1])


@pytest.mark.slow
def test_memory_is_bounded_by_the_band_not_the_image():
    # whole: ~16 bytes a pixel; in bands of 64 rows (and their margins): the output (1 byte a
    # pixel) and one band, whatever the height
    small, large = 800, 3200  # rows of 200 pixels (400 measured the same bytes a pixel in twice the time)
    added = (large - small) * 200
    whole = _growth(large, 0) - _growth(small, 0)
    banded = _growth(large, 64) - _growth(small, 64)
    assert whole > 8 * added  # what the bands avoid (the test measures what it means to)
    assert banded < 3 * added, f"peak grew by {banded / added:.1f} bytes a pixel from {small} to {large} rows"
