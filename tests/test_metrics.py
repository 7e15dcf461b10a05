"""imgen.metrics (csrc/metrics): PSNR and SSIM against scikit-image, properties, and bad input."""
from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import imgen
from imgen import metrics

import isolated

skm = pytest.importorskip("skimage.metrics")

WHITE = {np.uint8: 255, np.uint16: 65535, np.float32: 1.0}
DTYPES = [np.uint8, np.uint16, np.float32]


def sk_ssim(a: np.ndarray, b: np.ndarray, data_range: float) -> float:
    """scikit-image's Gaussian-window SSIM with Wang et al.'s settings."""
    kw = dict(gaussian_weights=True, sigma=1.5, use_sample_covariance=False, data_range=data_range)
    if a.ndim == 3:
        kw["channel_axis"] = -1
    return float(skm.structural_similarity(a, b, **kw))


def sk_psnr(a: np.ndarray, b: np.ndarray, data_range: float) -> float:
    with np.errstate(divide="ignore"):  # identical images: inf
        return float(skm.peak_signal_noise_ratio(a, b, data_range=data_range))


def noisy_pair(shape: tuple[int, ...], dtype: type, seed: int, noise: float = 0.1):
    """A random image and a noisy copy of it, clipped to the dtype's white level."""
    rng = np.random.default_rng(seed)
    white = WHITE[dtype]
    a = rng.random(shape) * white
    b = np.clip(a + rng.normal(0.0, noise * white, shape), 0, white)
    if dtype != np.float32:
        return np.rint(a).astype(dtype), np.rint(b).astype(dtype)
    return a.astype(np.float32), b.astype(np.float32)


def structured(shape: tuple[int, ...], dtype: type) -> np.ndarray:
    """A smooth gradient with a checkerboard patch and a saturated bar."""
    h, w = shape[:2]
    y, x = np.mgrid[0:h, 0:w]
    img = (x / max(w - 1, 1) * 0.6 + y / max(h - 1, 1) * 0.3)
    img[h // 4 : h // 2, w // 4 : w // 2] = ((y + x) % 2)[h // 4 : h // 2, w // 4 : w // 2]
    img[:, -3:] = 1.0
    if len(shape) == 3:
        img = np.stack([np.roll(img, k, axis=1) for k in range(shape[2])], axis=-1)
    img = img * WHITE[dtype]
    return np.rint(img).astype(dtype) if dtype != np.float32 else img.astype(np.float32)


SHAPES = [(11, 11), (11, 12), (13, 57), (64, 41), (23, 19, 1), (30, 33, 3), (17, 40, 4)]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", SHAPES)
def test_random_matches_skimage(shape, dtype):
    a, b = noisy_pair(shape, dtype, seed=sum(shape))
    white = WHITE[dtype]
    assert metrics.ssim(a, b) == pytest.approx(sk_ssim(a, b, white), abs=1e-6)
    assert metrics.psnr(a, b) == pytest.approx(sk_psnr(a, b, white), abs=1e-6)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(40, 37), (29, 44, 3), (25, 25, 4)])
def test_structured_matches_skimage(shape, dtype):
    a = structured(shape, dtype)
    _, noisy = noisy_pair(shape, dtype, seed=7, noise=0.02)
    b = a.copy()
    b[:, ::3] = noisy[:, ::3]  # every third column noisy, the rest exact
    white = WHITE[dtype]
    assert metrics.ssim(a, b) == pytest.approx(sk_ssim(a, b, white), abs=1e-6)
    assert metrics.psnr(a, b) == pytest.approx(sk_psnr(a, b, white), abs=1e-6)


def test_photo_matches_skimage():
    data = pytest.importorskip("skimage.data")
    a = data.astronaut()[100:220, 150:310]  # a row-strided view: taken without a copy
    b = np.clip(a + np.random.default_rng(3).normal(0, 12, a.shape), 0, 255).astype(np.uint8)
    assert metrics.ssim(a, b) == pytest.approx(sk_ssim(a, b, 255), abs=1e-9)
    assert metrics.psnr(a, b) == pytest.approx(sk_psnr(a, b, 255), abs=1e-9)
    gray_a, gray_b = np.ascontiguousarray(a[..., 1]), np.ascontiguousarray(b[..., 1])
    assert metrics.ssim(gray_a, gray_b) == pytest.approx(sk_ssim(gray_a, gray_b, 255), abs=1e-9)


@pytest.mark.parametrize("dtype", DTYPES)
def test_explicit_data_range(dtype):
    a, b = noisy_pair((24, 31, 3), dtype, seed=5)
    for data_range in (WHITE[dtype] / 4, WHITE[dtype] * 2):
        assert metrics.ssim(a, b, data_range=data_range) == pytest.approx(
            sk_ssim(a, b, data_range), abs=1e-6
        )
        assert metrics.psnr(a, b, data_range=data_range) == pytest.approx(
            sk_psnr(a, b, data_range), abs=1e-6
        )


def test_float_default_data_range_is_one():
    a, b = noisy_pair((20, 20), np.float32, seed=1)
    assert metrics.ssim(a, b) == metrics.ssim(a, b, data_range=1.0)
    assert metrics.psnr(a, b) == metrics.psnr(a, b, data_range=1.0)
    assert metrics.ssim(a, b) != pytest.approx(sk_ssim(a, b, 2.0), abs=1e-4)


def test_float64_is_converted_to_float32():
    a, b = noisy_pair((19, 21, 3), np.float32, seed=2)
    a64, b64 = a.astype(np.float64), b.astype(np.float64)
    assert metrics.ssim(a64, b64) == metrics.ssim(a, b)
    assert metrics.psnr(a64, b64) == metrics.psnr(a, b)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(11, 11), (16, 15, 3), (12, 13, 4)])
def test_identical_images(shape, dtype):
    a, _ = noisy_pair(shape, dtype, seed=4)
    assert metrics.psnr(a, a.copy()) == math.inf
    assert metrics.ssim(a, a.copy()) == 1.0


@pytest.mark.parametrize("dtype", DTYPES)
def test_constant_images(dtype):
    a = np.full((15, 15, 3), WHITE[dtype] / 5, dtype=dtype)
    b = np.full((15, 15, 3), WHITE[dtype] / 2, dtype=dtype)
    assert metrics.ssim(a, a) == 1.0
    # No variance: S = (2 a b + C1) / (a^2 + b^2 + C1) everywhere.  (scikit-image's float32
    # arithmetic is 1.4e-7 off here.)
    av, bv, c1 = float(a[0, 0, 0]), float(b[0, 0, 0]), (0.01 * WHITE[dtype]) ** 2
    assert metrics.ssim(a, b) == pytest.approx((2 * av * bv + c1) / (av**2 + bv**2 + c1), abs=1e-12)
    assert metrics.ssim(a, b) == pytest.approx(sk_ssim(a, b, WHITE[dtype]), abs=1e-6)
    assert metrics.psnr(a, b) == pytest.approx(sk_psnr(a, b, WHITE[dtype]), abs=1e-6)


@pytest.mark.parametrize("dtype", DTYPES)
def test_symmetric(dtype):
    a, b = noisy_pair((26, 23, 3), dtype, seed=6)
    assert metrics.psnr(a, b) == metrics.psnr(b, a)
    assert metrics.ssim(a, b) == pytest.approx(metrics.ssim(b, a), abs=1e-12)


def test_single_channel_axis_is_gray():
    a, b = noisy_pair((20, 30, 1), np.uint8, seed=8)
    assert metrics.ssim(a, b) == metrics.ssim(a[..., 0], b[..., 0])
    assert metrics.psnr(a, b) == metrics.psnr(a[..., 0], b[..., 0])


def test_views_need_no_copy_and_match_contiguous():
    rng = np.random.default_rng(9)
    big_a = rng.integers(0, 256, (60, 70, 3), dtype=np.uint8)
    big_b = rng.integers(0, 256, (60, 70, 3), dtype=np.uint8)
    for view in (np.s_[5:50, 7:60], np.s_[::2, ::3], np.s_[::-1, :]):
        a, b = big_a[view], big_b[view]
        ca, cb = np.ascontiguousarray(a), np.ascontiguousarray(b)
        assert metrics.ssim(a, b) == metrics.ssim(ca, cb)
        assert metrics.psnr(a, b) == metrics.psnr(ca, cb)


def test_result_does_not_depend_on_thread_count():
    a, b = noisy_pair((300, 41, 3), np.float32, seed=10)
    before = imgen.get_num_threads()
    try:
        imgen.set_num_threads(1)
        one = (metrics.ssim(a, b), metrics.psnr(a, b))
        imgen.set_num_threads(3)
        three = (metrics.ssim(a, b), metrics.psnr(a, b))
    finally:
        imgen.set_num_threads(before)
    assert one == three


@settings(max_examples=40, deadline=None)
@given(
    dtype=st.sampled_from([np.uint8, np.uint16]),
    shape=hnp.array_shapes(min_dims=2, max_dims=2, min_side=11, max_side=24).flatmap(
        lambda hw: st.sampled_from([hw, hw + (1,), hw + (3,), hw + (4,)])
    ),
    data=st.data(),
)
def test_any_integer_images_match_skimage(dtype, shape, data):
    a = data.draw(hnp.arrays(dtype, shape))
    b = data.draw(hnp.arrays(dtype, shape))
    white = WHITE[dtype]
    assert metrics.ssim(a, b) == pytest.approx(sk_ssim(a, b, white), abs=1e-9)
    assert metrics.psnr(a, b) == pytest.approx(sk_psnr(a, b, white), abs=1e-9, rel=1e-12)


@settings(max_examples=30, deadline=None)
@given(
    shape=hnp.array_shapes(min_dims=2, max_dims=2, min_side=11, max_side=20).flatmap(
        lambda hw: st.sampled_from([hw, hw + (3,)])
    ),
    data=st.data(),
)
def test_any_float_images_match_skimage_in_double(shape, data):
    # scikit-image computes float32 input in float32, which loses ~1e-4 on adversarial images;
    # its float64 computation on the same values is the reference for our double arithmetic.
    pixels = st.floats(0.0, 1.0, width=32)
    a = data.draw(hnp.arrays(np.float32, shape, elements=pixels))
    b = data.draw(hnp.arrays(np.float32, shape, elements=pixels))
    a64, b64 = a.astype(np.float64), b.astype(np.float64)
    assert metrics.ssim(a, b) == pytest.approx(sk_ssim(a64, b64, 1.0), abs=1e-9)
    assert metrics.psnr(a, b) == pytest.approx(sk_psnr(a64, b64, 1.0), abs=1e-9, rel=1e-12)


# --- bad input -------------------------------------------------------------------------------

BOTH = [metrics.psnr, metrics.ssim]


@pytest.mark.parametrize("fn", BOTH)
def test_dtype_mismatch(fn):
    with pytest.raises(TypeError, match="same dtype.*uint8 and uint16"):
        fn(np.zeros((16, 16), np.uint8), np.zeros((16, 16), np.uint16))
    with pytest.raises(TypeError, match="same dtype"):
        fn(np.zeros((16, 16), np.float64), np.zeros((16, 16), np.float32))


@pytest.mark.parametrize("fn", BOTH)
@pytest.mark.parametrize("shape_b", [(16, 17), (16, 16, 3), (17, 16, 1)])
def test_shape_mismatch(fn, shape_b):
    with pytest.raises(ValueError, match="same shape"):
        fn(np.zeros((16, 16), np.uint8), np.zeros(shape_b, np.uint8))


@pytest.mark.parametrize("fn", BOTH)
@pytest.mark.parametrize("dtype", [np.int32, np.int8, np.float16, np.bool_, np.complex64])
def test_unsupported_dtype(fn, dtype):
    with pytest.raises(TypeError, match="uint8, uint16 or float32"):
        fn(np.zeros((16, 16), dtype), np.zeros((16, 16), dtype))


@pytest.mark.parametrize("fn", BOTH)
@pytest.mark.parametrize("shape", [(16,), (2, 16, 16, 3), (16, 16, 2), (16, 16, 5), (0, 16)])
def test_bad_shape(fn, shape):
    with pytest.raises(ValueError, match="HWC|channels|empty"):
        fn(np.zeros(shape, np.uint8), np.zeros(shape, np.uint8))


@pytest.mark.parametrize("fn", BOTH)
def test_not_an_array(fn):
    with pytest.raises(TypeError, match="numpy array"):
        fn([[0] * 16] * 16, np.zeros((16, 16), np.uint8))


@pytest.mark.parametrize("shape", [(10, 20), (20, 10, 3), (5, 5)])
def test_ssim_too_small(shape):
    a = np.zeros(shape, np.uint8)
    with pytest.raises(ValueError, match="at least 11x11"):
        metrics.ssim(a, a)
    assert metrics.psnr(a, a) == math.inf  # PSNR has no window


@pytest.mark.parametrize("fn", BOTH)
@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
@pytest.mark.parametrize("where", ["a", "b"])
def test_non_finite_float(fn, bad, where):
    a, b = noisy_pair((16, 18, 3), np.float32, seed=11)
    (a if where == "a" else b)[0, 17, 2] = bad  # a corner sample: it lies in one window only
    with pytest.raises(ValueError, match="NaN or infinity"):
        fn(a, b)


@pytest.mark.parametrize("fn", BOTH)
@pytest.mark.parametrize("data_range", [0, -1.0, np.nan, np.inf])
def test_bad_data_range(fn, data_range):
    a = np.zeros((16, 16), np.uint8)
    with pytest.raises(ValueError, match="data_range"):
        fn(a, a, data_range=data_range)
    with pytest.raises(TypeError, match="data_range"):
        fn(a, a, data_range="255")


# --- extreme data_range and memory limits -------------------------------------------------------


@pytest.mark.parametrize("data_range", [2e-268, 1e-300, 5e-324, 1e300, 1.7e308])
def test_psnr_of_identical_images_is_inf_whatever_the_data_range(data_range):
    # data_range**2 underflows (or overflows): 0 / 0 used to give NaN
    a = np.zeros((16, 16), np.float32)
    assert metrics.psnr(a, a, data_range=data_range) == math.inf


@pytest.mark.parametrize("data_range", [2e-268, 1e-300, 1e300, 1.7e308])
def test_psnr_with_extreme_data_range_is_finite_and_exact(data_range):
    a = np.zeros((16, 16), np.float32)
    b = np.full((16, 16), 0.5, np.float32)  # MSE 0.25
    got = metrics.psnr(a, b, data_range=data_range)
    assert got == pytest.approx(20 * math.log10(data_range) - 10 * math.log10(0.25), rel=1e-12)


@pytest.mark.parametrize("data_range", [1e-300, 1e-100, 1e100, 1e300])
def test_ssim_data_range_out_of_range_says_so(data_range):
    a = np.zeros((16, 16), np.float32)
    with pytest.raises(ValueError, match=r"data_range must be in \[1e-60, 1e\+60\]") as e:
        metrics.ssim(a, a, data_range=data_range)
    assert "NaN" not in str(e.value)


@pytest.mark.parametrize("data_range", [1e-60, 1e60])
def test_ssim_data_range_at_the_bounds_works(data_range):
    a, b = noisy_pair((16, 16), np.float32, seed=3)
    assert metrics.ssim(a, a, data_range=data_range) == pytest.approx(1.0, abs=1e-12)
    assert -1.0 <= metrics.ssim(a, b, data_range=data_range) <= 1.0 + 1e-12


@pytest.mark.parametrize("fn", ["psnr", "ssim"])
def test_copy_of_transposed_image_under_memory_limit_raises_memory_error(fn):
    # a.T's pixels are not contiguous: the binding copies it, and that copy fails here (np.zeros
    # maps its pages lazily, so nothing is touched)
    got = isolated.outcome("import numpy as np, imgen.metrics\na = np.zeros((30000, 30000), np.uint8)",
                           f"imgen.metrics.{fn}(a.T, a.T)", memory_limit=int(1.5 * isolated.GiB))
    assert got.startswith("MemoryError"), got
