"""imgen.processors: ProcessorOptions (validated once, when built), FrameProcessor (a model or a
classical denoiser over a list of HWC images; picklable as its options), build_processor and
make_processor, and a gray model's Y/Cb/Cr handling of colour images."""
from __future__ import annotations

import pickle

import numpy as np
import pytest

import imgen
from imgen.video import make_processor

import onnx_models as om


def test_make_processor_pickles_and_matches_the_model(tmp_path, rng):
    path, weight, bias = om.conv3x3(tmp_path / "c.onnx", 3, om.meta(task="restore", channels=3))
    proc = make_processor(model=path)
    frames = [rng.integers(0, 256, (12, 10, 3), dtype=np.uint8) for _ in range(3)]
    clone = pickle.loads(pickle.dumps(proc))
    direct = imgen.load(path)(frames, color_order="rgb")
    for a, b, c in zip(proc(frames), clone(frames), direct):
        np.testing.assert_array_equal(a, c)
        np.testing.assert_array_equal(b, c)
    wavelet = make_processor(method="wavelet", sigma=20)
    assert pickle.loads(pickle.dumps(wavelet))(frames)[0].shape == (12, 10, 3)
    with pytest.raises(imgen.ImgenError, match="either a model or a method"):
        make_processor()
    with pytest.raises(imgen.ImgenError, match="no noise-level input"):
        make_processor(model=path, sigma=10)


@pytest.mark.parametrize("options, match", [
    ({"method": "wavelet", "wavelet": "db99"}, r"wavelet must be one of haar, db1, .*rbio6\.8, got 'db99'"),
    ({"method": "wavelet", "threshold": "otsu"}, "threshold must be"),
    ({"method": "wavelet", "mode": "medium"}, "mode must be"),
    ({"method": "wavelet", "shifts": 0}, "shifts must be"),
    ({"method": "wavelet", "levels": 0}, "levels must be"),
    ({"method": "bm3d", "stage": "wiener"}, "stage must be"),
    ({"method": "bm3d", "sigma": float("inf")}, "sigma must be"),
    ({"method": "bm3d", "tile": -1}, "tile must be"),
    ({"method": "bm3d", "overlap": -1}, "overlap must be"),
    ({"method": "bm3d", "threads": -1}, "threads must be"),
])
def test_make_processor_checks_every_option_when_built(options, match):
    with pytest.raises(imgen.ImgenError, match=match):
        make_processor(**options)


def test_gray_model_runs_on_y_cb_cr_and_keeps_colour(tmp_path, rng):
    path = om.minus_noise(tmp_path / "n.onnx", 1, kind="scalar")
    frame = rng.integers(20, 236, (9, 7, 3), dtype=np.uint8)
    proc = make_processor(model=path, sigma=0)
    np.testing.assert_array_equal(proc([frame])[0], frame)  # the colour transform round-trips
    out = make_processor(model=path, sigma=10)([frame])[0]
    # BT.601 full-range YCbCr, each plane minus its own share of the noise (sigma * row norm)
    m = np.array([[0.299, 0.587, 0.114], [-0.168736, -0.331264, 0.5], [0.5, -0.418688, -0.081312]])
    ycc = frame / 255.0 @ m.T - 10 / 255.0 * np.linalg.norm(m, axis=1)
    expected = np.clip(np.rint(ycc @ np.linalg.inv(m).T * 255), 0, 255).astype(np.uint8)
    assert out.shape == frame.shape and out.dtype == frame.dtype
    np.testing.assert_array_equal(out, expected)
    assert any("Y, Cb and Cr" in n for n in proc.notes)
