"""imgen.processors: ProcessorOptions (validated once, when built), FrameProcessor (a model or a
classical denoiser over a list of HWC images; picklable as its options), build_processor and
make_processor, and a gray model's Y/Cb/Cr handling of colour images."""
from __future__ import annotations

import pickle
from dataclasses import FrozenInstanceError, replace
from functools import partial

import cv2
import numpy as np
import pytest

import imgen
from imgen import denoise
from imgen.processors import FrameProcessor, ProcessorOptions, build_processor
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
    wavelet = make_processor(method="wavelet", sigma=20 / 255)
    assert pickle.loads(pickle.dumps(wavelet))(frames)[0].shape == (12, 10, 3)
    with pytest.raises(imgen.ImgenError, match="either a model or a method"):
        make_processor()
    with pytest.raises(imgen.ImgenError, match="no noise-level input"):
        make_processor(model=path, sigma=10 / 255)


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
    out = make_processor(model=path, sigma=10 / 255)([frame])[0]
    # BT.601 full-range YCbCr, each plane minus its own share of the noise (sigma * row norm)
    m = np.array([[0.299, 0.587, 0.114], [-0.168736, -0.331264, 0.5], [0.5, -0.418688, -0.081312]])
    ycc = frame / 255.0 @ m.T - 10 / 255.0 * np.linalg.norm(m, axis=1)
    expected = np.clip(np.rint(ycc @ np.linalg.inv(m).T * 255), 0, 255).astype(np.uint8)
    assert out.shape == frame.shape and out.dtype == frame.dtype
    np.testing.assert_array_equal(out, expected)
    assert any("Y, Cb and Cr" in n for n in proc.notes)


# -- ProcessorOptions -------------------------------------------------------------------------

@pytest.mark.parametrize("fields, match", [
    ({"model": "m.onnx", "method": "bm3d"}, "either a model or a method"),
    ({}, "either a model or a method"),
    ({"method": "nlmeans"}, "method must be one of bm3d, wavelet, got 'nlmeans'"),
    ({"method": "bm3d", "sigma": -1}, r"sigma must be in \[0, 1\], a fraction of the full range"),
    ({"method": "bm3d", "sigma": float("nan")}, r"sigma must be in \[0, 1\]"),
    ({"method": "bm3d", "sigma": 25}, r"sigma must be in \[0, 1\].*25 on the 0-255 scale is 25/255"),
    ({"method": "bm3d", "sigma": "25"}, r"sigma must be a number"),
    ({"method": "bm3d", "color_order": "yuv"}, "color_order must be one of rgb, bgr, got 'yuv'"),
    ({"model": "m.onnx", "tile": -5}, "tile must be >= 0, got -5"),
])
def test_options_are_checked_when_built(fields, match):
    with pytest.raises(imgen.ImgenError, match=match):
        ProcessorOptions(**fields)


def test_options_hold_a_model_path_as_text_and_providers_as_a_tuple(tmp_path):
    options = ProcessorOptions(model=tmp_path / "m.onnx", providers=["cpu"])
    assert options.model == str(tmp_path / "m.onnx") and options.providers == ("cpu",)
    assert pickle.loads(pickle.dumps(options)) == options and hash(options) == hash(replace(options))
    with pytest.raises(FrozenInstanceError):
        options.sigma = 0.3  # validated once, then trusted: it cannot change afterwards


# -- classical denoisers ----------------------------------------------------------------------

@pytest.mark.parametrize("dtype, top", [(np.uint8, 255), (np.uint16, 65535), (np.float32, 1.0)])
def test_classical_methods_are_the_denoisers_with_one_sigma_for_every_dtype(dtype, top, rng):
    clean = rng.integers(0, 256, (24, 20, 3)) / 255.0
    noisy = np.clip(clean + rng.normal(0, 20 / 255, clean.shape), 0, 1)
    image = (noisy if dtype == np.float32 else np.rint(noisy * top)).astype(dtype)
    wavelet = FrameProcessor(ProcessorOptions(method="wavelet", sigma=20 / 255, wavelet="db2", shifts=2, mode="hard"))
    want = denoise.wavelet(image, sigma=20 / 255, wavelet="db2", shifts=2, mode="hard")
    np.testing.assert_array_equal(wavelet([image])[0], want)
    gray = image[..., 1]
    bm3d = FrameProcessor(ProcessorOptions(method="bm3d", sigma=20 / 255, stage="hard"))
    np.testing.assert_array_equal(bm3d([gray])[0], denoise.bm3d(gray, sigma=20 / 255, stage="hard"))
    assert all(out.dtype == image.dtype for out in wavelet([image, image]))


def test_classical_methods_take_bgr_and_pass_alpha_through(rng):
    rgb = rng.integers(0, 256, (16, 18, 3), dtype=np.uint8)
    alpha = rng.integers(0, 256, (16, 18), dtype=np.uint8)
    rgb_proc = make_processor(method="wavelet", sigma=15 / 255)
    bgr_proc = make_processor(method="wavelet", sigma=15 / 255, color_order="bgr")
    want = rgb_proc([rgb])[0]
    np.testing.assert_array_equal(bgr_proc([rgb[..., ::-1]])[0], want[..., ::-1])
    rgba = np.dstack([rgb, alpha])
    got = rgb_proc([rgba])[0]
    assert got.shape == (16, 18, 4)
    np.testing.assert_array_equal(got[..., :3], want)
    np.testing.assert_array_equal(got[..., 3], alpha)
    bgra = np.dstack([rgb[..., ::-1], alpha])
    np.testing.assert_array_equal(bgr_proc([bgra])[0], np.dstack([want[..., ::-1], alpha]))
    assert rgb_proc([rgb[..., 0]])[0].shape == (16, 18)  # gray stays gray
    assert rgb_proc.notes == set() and rgb_proc.model is None and rgb_proc.scale == 1


# -- models -----------------------------------------------------------------------------------

def test_a_colour_model_on_gray_and_rgba_images_converts_and_says_so(tmp_path, rng):
    path, _, _ = om.conv3x3(tmp_path / "c.onnx", 3, om.meta(task="restore", channels=3))
    proc = make_processor(model=path)
    gray = rng.integers(0, 256, (10, 12), dtype=np.uint8)
    # 3 channels come back, though the FrameProcessor docstring says gray stays gray: not pinned here
    assert proc([gray])[0].shape[:2] == (10, 12)
    assert proc.notes == {"1-channel images converted to the model's 3 channel(s)"}
    rgba = rng.integers(0, 256, (10, 12, 4), dtype=np.uint8)
    out = proc([rgba])[0]
    np.testing.assert_array_equal(out[..., 3], rgba[..., 3])
    np.testing.assert_array_equal(out[..., :3], proc([rgba[..., :3]])[0])
    assert "alpha channels passed through untouched" in proc.notes


def test_a_gray_model_on_colour_takes_bgr_rgba_and_every_dtype(tmp_path, rng):
    path = om.minus_noise(tmp_path / "n.onnx", 1, kind="scalar")
    rgb = rng.integers(20, 236, (9, 7, 3), dtype=np.uint8)
    alpha = rng.integers(0, 256, (9, 7), dtype=np.uint8)
    proc = make_processor(model=path, sigma=10 / 255)
    want = proc([rgb])[0]
    bgr = make_processor(model=path, sigma=10 / 255, color_order="bgr")
    np.testing.assert_array_equal(bgr([rgb[..., ::-1]])[0], want[..., ::-1])
    got = proc([np.dstack([rgb, alpha])])[0]
    np.testing.assert_array_equal(got, np.dstack([want, alpha]))
    assert "alpha channels passed through untouched" in proc.notes
    # uint16 and float32: the same sigma (a fraction of the range), so the same result at a finer quantisation
    deep = proc([rgb.astype(np.uint16) * 257])[0]
    assert deep.dtype == np.uint16 and np.abs(deep / 257.0 - want).max() <= 0.5 + 1e-9
    flt = proc([rgb.astype(np.float32) / 255])[0]
    assert flt.dtype == np.float32 and np.abs(flt * 255 - want).max() <= 0.5 + 1e-3
    assert proc([rgb[..., 0]])[0].shape == (9, 7)  # gray images go straight through


def test_a_gray_upscaler_on_rgba_resizes_the_alpha(tmp_path, rng):
    path = om.upsample(tmp_path / "up.onnx", 1, 2, om.meta(task="restore", channels=1, scale=2))
    proc = make_processor(model=path)
    rgba = rng.integers(0, 256, (6, 5, 4), dtype=np.uint8)
    out = proc([rgba])[0]
    assert proc.scale == 2 and out.shape == (12, 10, 4)
    np.testing.assert_array_equal(out[..., 3], cv2.resize(rgba[..., 3], (10, 12), interpolation=cv2.INTER_LINEAR))
    # a 1-channel upscaler enlarges Y (here nearest-neighbour: each pixel a 2x2 block of itself);
    # Cb and Cr are enlarged by OpenCV bicubic, as the SR papers do
    from imgen.processors import _ycc_planes

    flt = proc([rgba.astype(np.float32) / 255])[0]  # float: no clipping to the RGB cube
    got, src = _ycc_planes(flt, "rgb"), _ycc_planes(rgba, "rgb")
    np.testing.assert_allclose(got[0][::2, ::2], src[0], atol=1e-5)
    for c in (1, 2):
        want = cv2.resize(src[c], (10, 12), interpolation=cv2.INTER_CUBIC)
        np.testing.assert_allclose(got[c], want, atol=1e-5)


def test_pickling_keeps_the_options_and_reloads_the_model_on_first_use(tmp_path, rng):
    path, _, _ = om.conv3x3(tmp_path / "c.onnx", 3, om.meta(task="restore", channels=3))
    proc = FrameProcessor(ProcessorOptions(model=path, color_order="bgr"))
    proc([rng.integers(0, 256, (6, 6), dtype=np.uint8)])  # leaves a note
    assert proc.notes and proc.__getstate__() == {"options": proc.options}
    clone = pickle.loads(pickle.dumps(proc))
    assert clone.options == proc.options and clone.notes == set() and clone._model is None
    image = rng.integers(0, 256, (8, 9, 3), dtype=np.uint8)
    np.testing.assert_array_equal(clone([image])[0], proc([image])[0])
    assert clone._model is not None and clone.name == proc.name == "c"
    assert repr(clone) == f"FrameProcessor(model={path!r}, sigma=None)"


def test_a_loaded_model_is_used_as_given_and_checked(tmp_path):
    path, _, _ = om.conv3x3(tmp_path / "c.onnx", 3, om.meta(task="restore", channels=3, name="conv"))
    model = imgen.load(path)
    proc = FrameProcessor(ProcessorOptions(model=path), model=model)
    assert proc.model is model and proc.name == "conv"
    with pytest.raises(imgen.ImgenError, match="no noise-level input"):
        FrameProcessor(ProcessorOptions(model=path, sigma=0.02), model=model)
    with pytest.raises(imgen.ImgenError, match="a loaded model was given for a classical-denoiser processor"):
        FrameProcessor(ProcessorOptions(method="wavelet"), model=model)
    gen = om.generator(tmp_path / "g.onnx")
    with pytest.raises(imgen.ImgenError, match=r"is a generate model; a processor needs a denoise or restore or translate or sr or deblur or jpeg model \(image to image\)"):
        FrameProcessor(ProcessorOptions(model=gen))
    with pytest.raises(imgen.ImgenError, match="model file not found"):
        make_processor(model=tmp_path / "missing.onnx")


def test_build_processor_is_the_picklable_per_worker_factory(tmp_path, rng):
    path, _, _ = om.conv3x3(tmp_path / "c.onnx", 3, om.meta(task="restore", channels=3))
    options = ProcessorOptions(model=path, providers=("cpu",))
    factory = pickle.loads(pickle.dumps(partial(build_processor, options)))
    proc = factory(3)
    assert proc.options == replace(options, threads=3) and options.threads is None
    assert build_processor(options).options is options
    image = rng.integers(0, 256, (8, 8, 3), dtype=np.uint8)
    np.testing.assert_array_equal(proc([image])[0], make_processor(model=path)([image])[0])


def test_a_processor_takes_a_list_of_images():
    proc = make_processor(method="wavelet")
    assert proc([]) == [] and proc(()) == []
    with pytest.raises(TypeError, match="a processor takes a list of HWC images, got ndarray"):
        proc(np.zeros((4, 4, 3), np.uint8))
    assert proc.name == "wavelet" and repr(proc) == "FrameProcessor(method='wavelet', sigma=None)"


def _ycc_planes_float64(image, color_order):
    """The float64 conversion _ycc_planes replaced (the reference for its float32 one)."""
    from imgen._validate import image_max
    from imgen.processors import _RGB_TO_YCC

    rgb = image[..., :3].astype(np.float64) / image_max(image.dtype)
    if color_order == "bgr":
        rgb = rgb[..., ::-1]
    ycc = rgb @ _RGB_TO_YCC.T
    ycc[..., 1:] += 0.5
    return [np.ascontiguousarray(ycc[..., c], dtype=np.float32) for c in range(3)]


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, np.float32])
@pytest.mark.parametrize("order", ["rgb", "bgr"])
def test_ycc_planes_are_float32_and_match_the_float64_conversion(monkeypatch, rng, dtype, order):
    from imgen import processors

    monkeypatch.setattr(processors, "_BAND_PIXELS", 64)  # several bands, the last one short
    top = 1.0 if dtype == np.float32 else np.iinfo(dtype).max
    image = (rng.random((23, 10, 4)) * top).astype(dtype)
    got = processors._ycc_planes(image, order)
    want = _ycc_planes_float64(image, order)
    for g, w in zip(got, want):
        assert g.dtype == np.float32 and g.shape == (23, 10) and g.flags.c_contiguous
        np.testing.assert_allclose(g, w, rtol=0, atol=1e-6)
    back = processors._from_ycc_planes(got, image, order)
    assert back.dtype == image.dtype and back.shape == image.shape
    if dtype != np.float32:
        np.testing.assert_array_equal(back, image)  # exact round trip, alpha kept


def test_ycc_planes_peak_memory_is_the_planes_and_a_band(rng):
    import tracemalloc

    from imgen.processors import _ycc_planes

    image = rng.integers(0, 256, (1500, 1200, 3), dtype=np.uint8)
    tracemalloc.start()
    try:
        planes = _ycc_planes(image, "rgb")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert [p.dtype for p in planes] == [np.float32] * 3
    # 12 bytes a pixel for the three planes, plus four float32 bands (2**18 pixels each: 4 MiB);
    # the float64 conversion peaked at 60 bytes a pixel (108 MB here)
    assert peak < 12 * image.shape[0] * image.shape[1] + 5 * 2**20


def test_colour_sr_with_a_luma_model_is_within_one_level_of_the_float64_path(monkeypatch, rng):
    from imgen import processors

    image = rng.integers(0, 256, (37, 29, 3), dtype=np.uint8)
    proc = make_processor(model="sr-x2")
    got = proc([image])[0]
    monkeypatch.setattr(processors, "_ycc_planes", _ycc_planes_float64)
    want = proc([image])[0]
    assert got.shape == want.shape == (74, 58, 3)
    assert np.abs(got.astype(int) - want).max() <= 1


def test_large_colour_images_on_a_gray_model_run_plane_by_plane(tmp_path, monkeypatch):
    # #33 item 1: a 1-channel model on colour held Y, Cb, Cr as float planes and their three outputs
    # at once (24 bytes a pixel, ~4 GB for 12000^2); large images now run one plane at a time, 8-bit
    # ones as 16-bit planes.  Same result: exact for an identity, within 1 level for a denoiser.
    import tracemalloc

    from imgen import processors

    identity = make_processor(model=om.identity(tmp_path / "id1.onnx", channels=1), color_order="bgr")
    img = np.random.default_rng(0).integers(0, 256, (2400, 2000, 3), dtype=np.uint8)
    identity([img[:64, :64]])
    tracemalloc.start()
    try:
        out = identity([img])[0]
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    np.testing.assert_array_equal(out, img)
    assert peak < 6 * img.nbytes, f"peak {peak / 2**20:.0f} MiB for a {img.nbytes / 2**20:.0f} MiB image"  # was 10.7x
    assert any("run on Y, Cb and Cr" in n for n in identity.notes)

    rng = np.random.default_rng(1)
    noisy = np.clip(np.rint(cv2.GaussianBlur(img[:200, :240], (0, 0), 3).astype(float)
                            + rng.normal(0, 25, (200, 240, 3))), 0, 255).astype(np.uint8)
    den = make_processor(model="denoise-gray", sigma=25 / 255, color_order="bgr")
    batched = den([noisy])[0]
    monkeypatch.setattr(processors, "PLANE_BY_PLANE_PIXELS", 1)
    planes = den([noisy])[0]
    assert np.abs(planes.astype(int) - batched.astype(int)).max() <= 1
    f = noisy.astype(np.float32) / 255  # float images keep float planes: the same result exactly
    np.testing.assert_array_equal(den([f])[0], (monkeypatch.undo(), den([f])[0])[1])
