"""imgen.generate / interpolate / encode / decode / reconstruct on tiny ONNX models (no torch)."""
from __future__ import annotations

import numpy as np
import pytest

import imgen
from imgen.errors import ModelError
from imgen.generative import make_grid, slerp

import onnx_models as om


@pytest.fixture
def gen(tmp_path):
    return imgen.load(om.generator(tmp_path / "g.onnx", latent=8, channels=3, size=6), providers=["cpu"])


@pytest.fixture
def vae(tmp_path):
    enc = om.encoder(tmp_path / "e.onnx", latent=8, channels=1, size=6)
    dec = om.generator(tmp_path / "d.onnx", latent=8, channels=1, size=6, squash="Sigmoid", task="decode")
    return imgen.load(enc, providers=["cpu"]), imgen.load(dec, providers=["cpu"])


def test_latents_are_numpy_default_rng_standard_normal(gen):
    z = imgen.latents(gen, 5, seed=7)
    np.testing.assert_array_equal(z, np.random.default_rng(7).standard_normal((5, 8), dtype=np.float32))


def test_generation_is_deterministic_and_batch_size_independent(gen):
    a = imgen.generate(gen, 10, seed=3, batch_size=4)
    b = imgen.generate(gen, 10, seed=3, batch_size=64)
    c = imgen.generate(gen, 10, seed=4)
    assert a.shape == (10, 6, 6, 3) and a.dtype == np.uint8
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    np.testing.assert_array_equal(imgen.generate(gen, 3, seed=3), a[:3])  # image k depends on (seed, k)


def test_generated_float_images_follow_the_value_range(gen):
    """tanh output t maps to (t + 1) / 2; BGR order swaps channels 0 and 2."""
    z = imgen.latents(gen, 2, seed=0)
    raw = gen.run({"z": z})[0]
    rgb = imgen.decode(gen, z, dtype="float32")
    np.testing.assert_allclose(rgb, (raw.transpose(0, 2, 3, 1) + 1) / 2, atol=1e-6)
    bgr = imgen.decode(gen, z, dtype="float32", color_order="bgr")
    np.testing.assert_array_equal(bgr, rgb[..., ::-1])


def test_wrong_latent_shape_is_named(gen):
    with pytest.raises(ValueError, match=r"latents of shape \(N, 8\), got \(4, 7\)"):
        imgen.decode(gen, np.zeros((4, 7), np.float32))
    with pytest.raises(ValueError, match="NaN"):
        imgen.decode(gen, np.full((1, 8), np.nan, np.float32))


def test_interpolation_passes_through_the_seeds(gen):
    imgs = imgen.interpolate(gen, [1, 2, 5], steps=4, dtype="float32")
    assert imgs.shape == (9, 6, 6, 3)
    for index, seed in ((0, 1), (4, 2), (8, 5)):
        np.testing.assert_allclose(imgs[index], imgen.generate(gen, 1, seed=seed, dtype="float32")[0], atol=1e-6)
    with pytest.raises(ValueError, match="two seeds"):
        imgen.interpolate(gen, [1])


def test_slerp_keeps_the_norm_of_equal_norm_latents():
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal(64), rng.standard_normal(64)
    b *= np.linalg.norm(a) / np.linalg.norm(b)
    mid = slerp(a, b, 0.5)
    assert np.linalg.norm(mid) == pytest.approx(np.linalg.norm(a), rel=1e-5)
    np.testing.assert_allclose(slerp(a, b, 0.0), a, atol=1e-6)


def test_encode_decode_reconstruct(vae):
    enc, dec = vae
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (3, 6, 6), dtype=np.uint8)
    mean, logvar = imgen.encode(enc, list(images))
    assert mean.shape == logvar.shape == (3, 8) and mean.dtype == np.float32
    flat = images.reshape(3, -1).astype(np.float32) / 255
    raw_mean = enc.run({"x": flat.reshape(3, 1, 6, 6)})[0]
    np.testing.assert_allclose(mean, raw_mean, atol=1e-5)
    rec = imgen.reconstruct(enc, dec, list(images))
    assert rec.shape == (3, 6, 6, 1) and rec.dtype == np.uint8
    np.testing.assert_array_equal(rec, imgen.decode(dec, mean))


def test_encode_rejects_wrong_size_and_channels_clearly(vae):
    enc, _ = vae
    with pytest.raises(ValueError, match=r"takes 6x6 images, images\[0\] is 9x7.*resize=True"):
        imgen.encode(enc, [np.zeros((7, 9), np.uint8)])
    assert imgen.encode(enc, [np.zeros((7, 9), np.uint8)], resize=True)[0].shape == (1, 8)
    with pytest.raises(ValueError, match="takes 1-channel images, images\\[0\\] has 3"):
        imgen.encode(enc, [np.zeros((6, 6, 3), np.uint8)])


def test_models_of_the_wrong_task_are_refused(gen, vae):
    enc, dec = vae
    with pytest.raises(ModelError, match="is a generate model; encoding images needs an encode model"):
        imgen.encode(gen, [np.zeros((6, 6), np.uint8)])
    with pytest.raises(ModelError, match="is an encode model; generating images needs a generate or decode"):
        imgen.generate(enc, 2)
    assert imgen.generate(dec, 2, seed=1).shape == (2, 6, 6, 1)  # a VAE decoder samples too
    with pytest.raises(TypeError, match="not callable"):  # a Generator takes latents, not images
        gen(np.zeros((6, 6, 3), np.uint8))


def test_make_grid_layout():
    tiles = np.stack([np.full((2, 3, 1), k, np.uint8) for k in range(1, 6)])
    grid = make_grid(tiles, cols=3, pad=1)
    assert grid.shape == (2 * 3 + 1, 3 * 4 + 1, 1)
    assert grid[1, 1, 0] == 1 and grid[1, 5, 0] == 2 and grid[4, 5, 0] == 5 and grid[4, 9, 0] == 0
    with pytest.raises(ValueError, match="non-empty"):
        make_grid(np.zeros((0, 2, 2, 1), np.uint8))


def test_generate_batches_stream_the_same_images(gen):
    batches = list(imgen.generate_batches(gen, 7, seed=3, batch_size=3))
    assert [len(b) for b in batches] == [3, 3, 1]
    np.testing.assert_array_equal(np.concatenate(batches), imgen.generate(gen, 7, seed=3))
    path = list(imgen.interpolate_batches(gen, [1, 2], steps=4, batch_size=2, dtype="float32"))
    assert [len(b) for b in path] == [2, 2, 1]
    np.testing.assert_array_equal(np.concatenate(path), imgen.interpolate(gen, [1, 2], steps=4, dtype="float32"))


def test_huge_in_memory_requests_are_refused_naming_the_argument(gen):
    """Results returned as one array are limited (1 GiB); the *_batches functions stream instead."""
    with pytest.raises(ValueError, match=r"n=100000000 .*1 GiB.*generate_batches"):
        imgen.generate(gen, 10**8)
    with pytest.raises(ValueError, match=r"n=1000000000 .*1 GiB"):
        imgen.latents(gen, 10**9)
    with pytest.raises(ValueError, match=r"steps=1000000000 .*1 GiB.*interpolate_batches"):
        imgen.interpolate(gen, [0, 1], steps=10**9)
    with pytest.raises(ValueError, match="n must be >= 1"):
        next(imgen.generate_batches(gen, 0))
