"""imgen.load / Model: metadata, layouts, batching, tiling and errors, on tiny ONNX models."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from onnx import TensorProto, helper, numpy_helper

import imgen
from imgen import ModelError

import onnx_models as om


@pytest.fixture
def rgb_identity(tmp_path):
    return imgen.load(om.identity(tmp_path / "id.onnx", 3, om.meta(task="restore", channels=3, scale=1)))


@pytest.fixture
def gray_identity(tmp_path):
    return imgen.load(om.identity(tmp_path / "id1.onnx", 1, om.meta(task="restore", channels=1)))


def test_load_reads_metadata(tmp_path):
    path = om.identity(tmp_path / "m.onnx", 3, om.meta(task="denoise", channels=3, color_order="bgr",
                                                       range="-1,1", size_multiple=8, tile=256,
                                                       name="demo", custom="x"))
    model = imgen.load(path)
    info = model.info
    assert (info.task, info.channels, info.color_order) == ("denoise", 3, "bgr")
    assert info.value_range == (-1.0, 1.0)
    assert (info.size_multiple, info.tile, info.schema, info.name) == (8, 256, 1, "demo")
    assert info.extra == {"custom": "x"}
    assert model.provider == "CPUExecutionProvider"
    assert [i.name for i in model.inputs] == ["x"] and model.inputs[0].shape[1] == 3
    assert "demo" in repr(model)


def test_model_without_metadata_loads_and_caller_fills_in(tmp_path):
    path = om.identity(tmp_path / "bare.onnx", 3)
    model = imgen.load(path)
    assert model.info.channels == 3 and model.info.task == "restore" and model.info.schema is None
    dyn = om.identity(tmp_path / "dyn.onnx", "C")
    with pytest.raises(ModelError, match="channels"):
        imgen.load(dyn)
    model = imgen.load(dyn, info={"channels": 1})
    img = np.arange(12, dtype=np.uint8).reshape(3, 4)
    np.testing.assert_array_equal(model(img), img)


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, np.float32])
@pytest.mark.parametrize("shape", [(17, 23, 3), (5, 4, 3)])
def test_identity_returns_input_exactly(rgb_identity, dtype, shape, rng):
    img = (rng.random(shape) * (255 if dtype == np.uint8 else 65535 if dtype == np.uint16 else 1)).astype(dtype)
    out = rgb_identity(img)
    assert out.dtype == dtype and out.shape == shape
    np.testing.assert_array_equal(out, img)


def test_gray_layouts_are_kept(gray_identity, rng):
    img2 = rng.integers(0, 256, (9, 11), dtype=np.uint8)
    assert gray_identity(img2).shape == (9, 11)
    img3 = img2[..., None]
    assert gray_identity(img3).shape == (9, 11, 1)


def test_batches_and_lists(rgb_identity, rng):
    batch = rng.integers(0, 256, (5, 8, 9, 3), dtype=np.uint8)
    out = rgb_identity(batch, batch_size=2)
    assert out.shape == batch.shape
    np.testing.assert_array_equal(out, batch)
    items = [rng.integers(0, 256, s, dtype=np.uint8) for s in [(8, 9, 3), (4, 4, 3), (8, 9, 3)]]
    outs = rgb_identity(items)
    assert isinstance(outs, list) and len(outs) == 3
    for a, b in zip(outs, items):
        np.testing.assert_array_equal(a, b)


def test_color_order_is_honoured(tmp_path, rng):
    # A BGR model that zeroes its channel 0 (blue): an RGB caller must lose blue, i.e. channel 2.
    mask = numpy_helper.from_array(np.array([0, 1, 1], np.float32).reshape(1, 3, 1, 1), "m")
    node = helper.make_node("Mul", ["x", "m"], ["y"])
    graph = helper.make_graph([node], "drop_b", [om._image("x", 3)], [om._image("y", 3)], initializer=[mask])
    model = imgen.load(om._save(graph, tmp_path / "bgr.onnx", om.meta(channels=3, color_order="bgr")))
    img = rng.integers(1, 256, (6, 7, 3), dtype=np.uint8)
    out_rgb = model(img)
    assert (out_rgb[..., 2] == 0).all() and (out_rgb[..., :2] == img[..., :2]).all()
    out_bgr = model(img, color_order="bgr")
    assert (out_bgr[..., 0] == 0).all() and (out_bgr[..., 1:] == img[..., 1:]).all()


def test_value_range_minus_one_to_one(tmp_path, rng):
    # y = x * 1 in [-1, 1] space is still the identity for the caller.
    model = imgen.load(om.identity(tmp_path / "r.onnx", 1, om.meta(channels=1, range="-1,1")))
    img = rng.integers(0, 256, (10, 10), dtype=np.uint8)
    np.testing.assert_array_equal(model(img), img)


def test_upsample_scale_inferred_and_declared(tmp_path, rng):
    img = rng.integers(0, 256, (7, 9, 3), dtype=np.uint8)
    expected = img.repeat(2, 0).repeat(2, 1)
    inferred = imgen.load(om.upsample(tmp_path / "up.onnx", 3, 2))
    np.testing.assert_array_equal(inferred(img), expected)
    declared = imgen.load(om.upsample(tmp_path / "up2.onnx", 3, 2, om.meta(channels=3, scale=2)))
    np.testing.assert_array_equal(declared(img), expected)
    wrong = imgen.load(om.upsample(tmp_path / "up3.onnx", 3, 2, om.meta(channels=3, scale=4)))
    with pytest.raises(ModelError, match="scale 4"):
        wrong(img)


@pytest.mark.parametrize("dtype", [np.uint8, np.float32])
def test_tiled_identity_and_upsample_are_exact(tmp_path, dtype, rng):
    img = rng.random((150, 213, 3)).astype(np.float32)
    if dtype == np.uint8:
        img = (img * 255).astype(np.uint8)
    ident = imgen.load(om.identity(tmp_path / "i.onnx", 3))
    np.testing.assert_array_equal(ident(img, tile=64, overlap=16), img)
    up = imgen.load(om.upsample(tmp_path / "u.onnx", 3, 2))
    np.testing.assert_array_equal(up(img, tile=48, overlap=12), img.repeat(2, 0).repeat(2, 1))


def test_tiled_conv_has_no_seams(tmp_path, rng):
    path, _, _ = om.conv3x3(tmp_path / "c.onnx", 1)
    model = imgen.load(path)
    img = rng.random((200, 170)).astype(np.float32)
    whole = model(img, tile=0)
    tiled = model(img, tile=64, overlap=16)
    # The outer overlap/4 = 4 pixels of each tile side carry no weight, so the 1-pixel
    # border effect of the 3x3 conv never reaches the result.
    np.testing.assert_allclose(tiled, whole, atol=1e-5)


BOUNDED_MEMORY_SCRIPT = r"""
import resource, sys
import numpy as np
sys.path.insert(0, sys.argv[1])
import onnx_models as om
import imgen

n, headroom = 8000, 320 << 20
model = imgen.load(om.identity(sys.argv[2], 1, om.meta(task="restore", channels=1)))
img = np.empty((n, n), np.uint8)  # made in place: no large temporaries before the limit
img[:] = (np.arange(n, dtype=np.uint8) * 7)[None, :]
img += (np.arange(n, dtype=np.uint8) * 13)[:, None]
model(img[:1100, :1100], tile=512, overlap=32)  # warm-up: thread pools, allocator arenas
size = next(int(l.split()[1]) for l in open("/proc/self/status") if l.startswith("VmSize:")) << 10
resource.setrlimit(resource.RLIMIT_AS, (size + headroom, resource.RLIM_INFINITY))
out = model(img, tile=512, overlap=32)
assert np.array_equal(out, img), "tiled identity is not exact"
print("ok")
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="needs /proc and RLIMIT_AS")
def test_tiled_run_fits_in_bounded_memory(tmp_path):
    # An 8000x8000 gray image: input and output 61 MiB each.  Full-size float accumulators (a
    # running mean and a weight per pixel, 488 MiB) do not fit in 320 MiB above the process's size
    # before the call; a band of open rows does.  A subprocess, so running out fails the test.
    proc = subprocess.run([sys.executable, "-c", BOUNDED_MEMORY_SCRIPT, str(Path(__file__).parent),
                           str(tmp_path / "id.onnx")], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0 and proc.stdout.strip() == "ok", proc.stderr[-2000:]


def test_tiled_path_helpers_match_full_image_formulas(tmp_path, rng):
    # estimate_sigma and the RGB -> gray conversion now work band by band (no full-size float
    # copies); they must give exactly what the full-image numpy formulas gave.
    from imgen.denoise import estimate_sigma

    def sigma_full(img):
        h, w = img.shape[0] // 2 * 2, img.shape[1] // 2 * 2
        x = img[:h, :w].astype(np.float32, copy=False)
        x = x[..., None] if x.ndim == 2 else x
        hh = (x[0::2, 0::2] - x[0::2, 1::2] - x[1::2, 0::2] + x[1::2, 1::2]) * np.float32(0.5)
        white = 1.0 if img.dtype == np.float32 else float(np.iinfo(img.dtype).max)
        return float(np.mean([float(np.median(np.abs(hh[..., c]))) / 0.6744897501960817
                              for c in range(hh.shape[-1])])) / white

    def gray_full(img):
        luma = img[..., :3].astype(np.float32) @ np.array([0.299, 0.587, 0.114], np.float32)
        if img.dtype != np.float32:
            luma = np.clip(np.rint(luma), 0, 255 if img.dtype == np.uint8 else 65535).astype(img.dtype)
        return luma

    cases = [((2, 2), np.uint8), ((3, 5, 3), np.uint16), ((61, 47), np.float32), ((1200, 905, 3), np.uint8),
             ((1301, 1100), np.uint16), ((900, 1203, 4), np.float32), ((40, 33, 1), np.uint8)]
    for shape, dtype in cases:
        if dtype == np.float32:
            img = rng.random(shape).astype(np.float32)
        else:
            top = np.iinfo(dtype).max
            img = np.clip(rng.normal(top / 2, top / 10, shape), 0, top).astype(dtype)
        assert estimate_sigma(img) == sigma_full(img), (shape, dtype)
        even = img[: img.shape[0] // 2 * 2 or 2]
        assert estimate_sigma(even) == sigma_full(even), (shape, dtype)
    model = imgen.load(om.identity(tmp_path / "g.onnx", 1, om.meta(task="restore", channels=1)))
    for shape, dtype in [((1200, 905, 3), np.uint8), ((37, 41, 4), np.uint16), ((700, 333, 3), np.float32)]:
        img = (rng.random(shape) * (1 if dtype == np.float32 else np.iinfo(dtype).max)).astype(dtype)
        np.testing.assert_array_equal(model(img, color="luma", tile=256)[..., 0], gray_full(img))


def test_size_multiple_pads_and_crops(tmp_path, rng):
    model = imgen.load(om.identity(tmp_path / "m8.onnx", 3, om.meta(channels=3, size_multiple=8)))
    img = rng.integers(0, 256, (13, 21, 3), dtype=np.uint8)
    np.testing.assert_array_equal(model(img), img)
    np.testing.assert_array_equal(model(img, tile=16, overlap=4), img)


def test_fixed_size_model_is_tiled(tmp_path, rng):
    model = imgen.load(om.identity(tmp_path / "fixed.onnx", 1, h=32, w=32, n=1))
    img = rng.integers(0, 256, (70, 45), dtype=np.uint8)
    np.testing.assert_array_equal(model(img), img)
    small = rng.integers(0, 256, (10, 12), dtype=np.uint8)
    np.testing.assert_array_equal(model(small), small)


def test_float16_model(tmp_path, rng):
    model = imgen.load(om.identity(tmp_path / "h.onnx", 3, elem=TensorProto.FLOAT16))
    img = rng.integers(0, 256, (9, 10, 3), dtype=np.uint8)
    np.testing.assert_array_equal(model(img), img)  # 8-bit values survive float16 exactly


def test_alpha_passes_through(tmp_path, rng):
    path, _, _ = om.conv3x3(tmp_path / "c3.onnx", 3)
    model = imgen.load(path)
    rgba = rng.integers(0, 256, (12, 14, 4), dtype=np.uint8)
    out = model(rgba)
    assert out.shape == rgba.shape
    np.testing.assert_array_equal(out[..., 3], rgba[..., 3])
    np.testing.assert_array_equal(out[..., :3], model(np.ascontiguousarray(rgba[..., :3])))
    up = imgen.load(om.upsample(tmp_path / "u.onnx", 3, 2))
    assert up(rgba).shape == (24, 28, 4)


def test_channel_mismatch_converted_refused_or_luma(rgb_identity, gray_identity, rng):
    gray = rng.integers(0, 256, (6, 6), dtype=np.uint8)
    with pytest.raises(ValueError, match=r"expects 3 channel.*pass color='ycbcr' to convert"):
        rgb_identity(gray, color="strict")
    out = rgb_identity(gray)
    assert out.shape == (6, 6, 3) and (out == gray[..., None]).all()
    rgb = rng.integers(0, 256, (6, 6, 3), dtype=np.uint8)
    np.testing.assert_array_equal(gray_identity(rgb), rgb)  # Y, Cb, Cr through an identity: the image back
    with pytest.raises(ValueError, match=r"expects 1 channel \(gray\), image has 3; pass color='ycbcr'"):
        gray_identity(rgb, color="strict")
    luma = gray_identity(rgb, color="luma")
    expected = np.rint(rgb.astype(np.float32) @ np.array([0.299, 0.587, 0.114], np.float32))
    np.testing.assert_array_equal(luma[..., 0], expected.astype(np.uint8))
    with pytest.warns(DeprecationWarning, match="convert_channels is deprecated"):
        np.testing.assert_array_equal(gray_identity(rgb, convert_channels=True), luma)
    with pytest.raises(ValueError, match="color must be one of ycbcr, luma, strict, got 'gray'"):
        gray_identity(rgb, color="gray")


def test_noise_input_sigma_is_a_fraction_of_the_full_range(tmp_path):
    for kind in ("map", "scalar"):
        model = imgen.load(om.minus_noise(tmp_path / f"n_{kind}.onnx", 1, kind))
        img = np.full((8, 8), 100, np.uint8)
        assert (model(img, sigma=25 / 255) == 75).all()
        assert (model(img.astype(np.uint16) * 257, sigma=25 / 255) == 75 * 257).all()
        f = np.full((8, 8), 0.5, np.float32)
        np.testing.assert_allclose(model(f, sigma=0.1), 0.4, atol=1e-6)
        outs = model([img, img], sigma=[10 / 255, 20 / 255])
        assert (outs[0] == 90).all() and (outs[1] == 80).all()
        np.testing.assert_array_equal(model(img, sigma=0.1, tile=4, overlap=2), model(img, sigma=0.1))
        with pytest.raises(ValueError, match=r"sigma must be in \[0, 1\].*25 on the 0-255 scale is 25/255"):
            model(img, sigma=25)


def test_noise_estimated_when_sigma_omitted(tmp_path, rng):
    model = imgen.load(om.minus_noise(tmp_path / "n.onnx", 1))
    clean = np.full((64, 64), 0.5, np.float32)
    noisy = clean + rng.normal(0, 0.1, clean.shape).astype(np.float32)
    out = model(noisy)  # subtracts the estimated sigma (about 0.1)
    np.testing.assert_allclose(np.mean(noisy - out), 0.1, atol=0.01)


def test_sigma_rejected_for_models_without_noise_input(rgb_identity):
    with pytest.raises(ValueError, match="no noise-level input"):
        rgb_identity(np.zeros((4, 4, 3), np.uint8), sigma=0.02)


@pytest.mark.parametrize("bad, exc, match", [
    (np.zeros((4, 4, 3), np.int32), TypeError, "uint8, uint16 or float32"),
    (np.zeros((4, 4, 2), np.uint8), ValueError, "1, 3 or 4 channels"),
    (np.zeros((0, 4, 3), np.uint8), ValueError, "empty"),
    (np.zeros(5, np.uint8), ValueError, r"\(H, W\)"),
    (np.full((4, 4, 3), np.nan, np.float32), ValueError, "NaN"),
    ("image.png", TypeError, "numpy array"),
    ([], ValueError, "empty"),
])
def test_bad_images_get_clear_errors(rgb_identity, bad, exc, match):
    with pytest.raises(exc, match=match):
        rgb_identity(bad)


def test_non_contiguous_input_is_handled(rgb_identity, rng):
    big = rng.integers(0, 256, (20, 30, 3), dtype=np.uint8)
    view = big[::2, ::3]
    np.testing.assert_array_equal(rgb_identity(view), view)
    np.testing.assert_array_equal(rgb_identity(big[2:15, 4:20]), big[2:15, 4:20])


def test_bad_model_files(tmp_path):
    with pytest.raises(ModelError, match="not found"):
        imgen.load(tmp_path / "missing.onnx")
    junk = tmp_path / "junk.onnx"
    junk.write_bytes(b"this is not a protobuf")
    with pytest.raises(ModelError, match="cannot load"):
        imgen.load(junk)
    with pytest.raises(ModelError, match="schema 99"):
        imgen.load(om.identity(tmp_path / "new.onnx", 3, {"imgen.schema": "99"}))
    with pytest.raises(ModelError, match="imgen.channels must be an integer"):
        imgen.load(om.identity(tmp_path / "bad.onnx", 3, {"imgen.channels": "three"}))
    with pytest.raises(ModelError, match="not available"):
        imgen.load(om.identity(tmp_path / "p.onnx", 3), providers=["NoSuchExecutionProvider"])


def test_model_that_does_not_fit_the_image(tmp_path):
    # A 3-channel graph cannot take a gray image even when told it is a 1-channel model.
    with pytest.raises(ModelError, match="graph input has 3"):
        imgen.load(om.identity(tmp_path / "x.onnx", 3), info={"channels": 1})


def test_explicit_cpu_provider(tmp_path):
    model = imgen.load(om.identity(tmp_path / "c.onnx", 3), providers="cpu", threads=1)
    assert model.provider == "CPUExecutionProvider"


@pytest.mark.parametrize("tile", [0, 16], ids=["whole", "tiled"])
def test_clamp_keeps_white_for_models_with_a_signed_range(tmp_path, tile):
    """clamp=True clips float32 outputs to [0, 1] whatever the model's range (here -1..1)."""
    path = om.identity(tmp_path / "signed.onnx", 3, om.meta(task="translate", channels=3, range="-1,1", tile_overlap=4))
    model = imgen.load(path, providers=["cpu"])
    img = np.linspace(0, 1, 40 * 37 * 3, dtype=np.float32).reshape(40, 37, 3)
    np.testing.assert_allclose(model(img, tile=tile, clamp=True), img, atol=1e-6)
