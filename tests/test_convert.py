"""to_tensor / from_tensor against numpy references and cv2.dnn.blobFromImage."""
from __future__ import annotations

import cv2
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import imgen

import isolated

DTYPES = [np.uint8, np.uint16, np.float32]
MAXV = {np.uint8: 255, np.uint16: 65535, np.float32: 1.0}


def random_image(rng, shape, dtype):
    if dtype == np.float32:
        return rng.random(shape, dtype=np.float32)
    return rng.integers(0, np.iinfo(dtype).max + 1, shape, dtype=dtype)


def reference_to_tensor(img, scale, mean=0.0, std=1.0, swap_rb=False):
    x = img if img.ndim == 3 else img[..., None]
    if swap_rb:
        x = x[..., [2, 1, 0] + ([3] if x.shape[2] == 4 else [])]
    x = x.astype(np.float32) * np.float32(scale)
    x = (x - np.asarray(mean, np.float32)) / np.asarray(std, np.float32)
    return x.transpose(2, 0, 1)[None]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("channels", [1, 3, 4])
def test_to_tensor_matches_numpy(dtype, channels, rng):
    img = random_image(rng, (13, 17, channels), dtype)
    out = imgen.to_tensor(img)
    assert out.shape == (1, channels, 13, 17) and out.dtype == np.float32
    np.testing.assert_allclose(out, reference_to_tensor(img, 1 / MAXV[dtype]), rtol=1e-6, atol=1e-7)


def test_to_tensor_mean_std_swap(rng):
    img = random_image(rng, (9, 11, 3), np.uint8)
    mean, std = [0.485, 0.456, 0.406], [0.229, 0.224, 0.225]
    out = imgen.to_tensor(img, mean=mean, std=std, swap_rb=True)
    np.testing.assert_allclose(out, reference_to_tensor(img, 1 / 255, mean, std, True), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("swap", [False, True])
def test_to_tensor_matches_blob_from_image(swap, rng):
    img = random_image(rng, (31, 45, 3), np.uint8)
    mean = (10.0, 20.0, 30.0)
    blob = cv2.dnn.blobFromImage(img, scalefactor=1 / 255, mean=mean, swapRB=swap)
    # blobFromImage computes (pixel - mean) * scale, with mean in pixel units after any swap.
    ours = imgen.to_tensor(img, scale=1 / 255, mean=[m / 255 for m in mean], swap_rb=swap)
    np.testing.assert_allclose(ours, blob, rtol=1e-5, atol=1e-6)


def test_to_tensor_float16(rng):
    img = random_image(rng, (8, 8, 3), np.uint8)
    out = imgen.to_tensor(img, dtype="float16")
    assert out.dtype == np.float16
    np.testing.assert_array_equal(out, reference_to_tensor(img, 1 / 255).astype(np.float16))


def test_to_tensor_batch_and_list(rng):
    batch = random_image(rng, (4, 6, 7, 3), np.uint8)
    out = imgen.to_tensor(batch)
    assert out.shape == (4, 3, 6, 7)
    np.testing.assert_array_equal(imgen.to_tensor(list(batch)), out)
    for i in range(4):
        np.testing.assert_array_equal(out[i:i + 1], imgen.to_tensor(batch[i]))


def test_to_tensor_regions_reflect(rng):
    img = random_image(rng, (10, 12, 3), np.float32)
    regions = [(-3, -2, 16, 18), (4, 5, 16, 18)]
    out = imgen.to_tensor(img, regions=regions)
    padded = np.pad(img, ((20, 20), (20, 20), (0, 0)), mode="reflect")
    for k, (y, x, h, w) in enumerate(regions):
        ref = padded[20 + y:20 + y + h, 20 + x:20 + x + w]
        np.testing.assert_array_equal(out[k], ref.transpose(2, 0, 1))


def test_reflect_repeats_for_tiny_images():
    img = np.arange(3, dtype=np.float32).reshape(1, 3)
    out = imgen.to_tensor(img, regions=[(0, -4, 1, 11)])[0, 0, 0]
    np.testing.assert_array_equal(out, [0, 1, 2, 1, 0, 1, 2, 1, 0, 1, 2])
    one = np.ones((1, 1), np.uint8)
    assert imgen.to_tensor(one, regions=[(-2, -2, 5, 5)]).shape == (1, 1, 5, 5)


def test_to_tensor_out_argument(rng):
    img = random_image(rng, (5, 6, 3), np.uint8)
    out = np.empty((1, 3, 5, 6), np.float32)
    assert imgen.to_tensor(img, out=out) is not None
    np.testing.assert_array_equal(out, imgen.to_tensor(img))
    with pytest.raises(ValueError, match="out must be"):
        imgen.to_tensor(img, out=np.empty((1, 3, 5, 5), np.float32))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("channels", [1, 3, 4])
def test_from_tensor_matches_numpy(dtype, channels, rng):
    t = rng.normal(0.5, 0.4, (2, channels, 7, 9)).astype(np.float32)
    out = imgen.from_tensor(t, dtype=dtype)
    assert out.shape == (2, 7, 9, channels) and out.dtype == dtype
    ref = t.transpose(0, 2, 3, 1) * np.float32(MAXV[dtype])
    if dtype != np.float32:
        ref = np.clip(np.rint(ref), 0, MAXV[dtype]).astype(dtype)
        np.testing.assert_array_equal(out, ref)
    else:
        np.testing.assert_allclose(out, ref, rtol=1e-6)


def test_from_tensor_rounds_half_to_even_and_clamps():
    vals = np.array([-1, 0.4, 0.5, 1.5, 2.5, 254.5, 300, np.nan, np.inf, -np.inf], np.float32)
    out = imgen.from_tensor(vals.reshape(1, 1, 1, -1), scale=1.0)[0, 0, :, 0]
    np.testing.assert_array_equal(out, [0, 0, 0, 2, 2, 254, 255, 0, 255, 0])


def test_from_tensor_float_clamp_and_crop(rng):
    t = rng.normal(0.5, 1.0, (1, 3, 6, 8)).astype(np.float32)
    raw = imgen.from_tensor(t, dtype=np.float32)
    assert raw.min() < 0 or raw.max() > 1
    clamped = imgen.from_tensor(t, dtype=np.float32, clamp=True)
    np.testing.assert_array_equal(clamped, np.clip(raw, 0, 1))
    crop = imgen.from_tensor(t, crop=(1, 2, 3, 4))
    np.testing.assert_array_equal(crop, imgen.from_tensor(t)[:, 1:4, 2:6])
    single = imgen.from_tensor(t[0])
    assert single.shape == (6, 8, 3)


@pytest.mark.parametrize("norm", [{"scale": 2.0, "mean": 1.0}, {"scale": 0.5},
                                  {"scale": 1 / 255, "mean": [0.1, 0.2, 0.3], "std": [0.5, 2.0, 3.0]}],
                         ids=["signed_range", "scale_half", "mean_std"])
def test_from_tensor_float_clamp_is_the_image_range(norm):
    """clamp=True clips a float32 output to [0, 1] after the inverse normalisation, whatever
    scale/mean/std were (scale=2, mean=1 is a [-1, 1]-range model's output)."""
    t = np.linspace(-300, 300, 3 * 4 * 101, dtype=np.float32).reshape(1, 3, 4, 101)
    t[0, :, 0, :3] = [-1, 1, np.nan]
    raw = imgen.from_tensor(t, dtype="float32", **norm)
    clamped = imgen.from_tensor(t, dtype="float32", clamp=True, **norm)
    assert np.nanmin(raw) < 0 and np.nanmax(raw) > 1
    assert clamped.min() == 0.0 and clamped.max() == 1.0
    np.testing.assert_array_equal(clamped, np.clip(np.nan_to_num(raw, nan=0.0), 0, 1))
    if norm == {"scale": 2.0, "mean": 1.0}:  # the model's -1, 1 and NaN are black, white and black
        np.testing.assert_array_equal(clamped[0, 0, :3, 0], [0.0, 1.0, 0.0])


def test_from_tensor_float16(rng):
    t = rng.random((1, 3, 5, 5)).astype(np.float16)
    np.testing.assert_array_equal(imgen.from_tensor(t), imgen.from_tensor(t.astype(np.float32)))


@settings(max_examples=60, deadline=None)
@given(
    dtype=st.sampled_from(DTYPES),
    channels=st.sampled_from([1, 3, 4]),
    h=st.integers(1, 40),
    w=st.integers(1, 40),
    swap=st.booleans(),
    half=st.booleans(),
    seed=st.integers(0, 2**16),
)
def test_round_trip_is_exact(dtype, channels, h, w, swap, half, seed):
    rng = np.random.default_rng(seed)
    img = random_image(rng, (h, w, channels), dtype)
    tdtype = np.float16 if half and dtype == np.uint8 else np.float32  # 8 bits survive float16
    t = imgen.to_tensor(img, dtype=tdtype, swap_rb=swap)
    back = imgen.from_tensor(t, dtype=dtype, swap_rb=swap)[0]
    if dtype == np.float32:
        np.testing.assert_allclose(back, img, rtol=1e-6)
    else:
        np.testing.assert_array_equal(back, img)


@settings(max_examples=30, deadline=None)
@given(arr=hnp.arrays(np.uint8, hnp.array_shapes(min_dims=1, max_dims=5, min_side=0, max_side=6)))
def test_any_shape_gets_an_answer_or_a_clear_error(arr):
    try:
        out = imgen.to_tensor(arr)
    except (ValueError, TypeError) as e:
        assert str(e)
    else:
        assert out.ndim == 4


@pytest.mark.parametrize("bad, exc, match", [
    (np.zeros((4, 4, 3), np.int8), TypeError, "uint8, uint16 or float32"),
    (np.zeros((4, 4, 2), np.uint8), ValueError, "1, 3 or 4 channels"),
    (np.zeros((4, 0, 3), np.uint8), ValueError, "empty"),
    (np.zeros(4, np.uint8), ValueError, "HWC"),
    ("x", TypeError, "numpy array"),
    ([np.zeros((2, 2), np.uint8), np.zeros((3, 2), np.uint8)], ValueError, "same shape"),
])
def test_to_tensor_bad_input(bad, exc, match):
    with pytest.raises(exc, match=match):
        imgen.to_tensor(bad)


def test_bad_arguments():
    img = np.zeros((4, 4, 3), np.uint8)
    with pytest.raises(TypeError, match="float32 or float16"):
        imgen.to_tensor(img, dtype=np.uint8)
    with pytest.raises(ValueError, match="3 values"):
        imgen.to_tensor(img, mean=[0.1, 0.2])
    with pytest.raises(ValueError, match="std must be non-zero"):
        imgen.to_tensor(img, std=0)
    with pytest.raises(ValueError, match="NCHW"):
        imgen.from_tensor(np.zeros((4, 4), np.float32))
    with pytest.raises(TypeError, match="float32 or float16"):
        imgen.from_tensor(np.zeros((1, 1, 4, 4), np.float64))
    with pytest.raises(ValueError, match="inside the tensor"):
        imgen.from_tensor(np.zeros((1, 1, 4, 4), np.float32), crop=(2, 2, 4, 4))


def test_strided_rows_are_read_without_copy_and_crops_work(rng):
    big = random_image(rng, (20, 30, 3), np.uint8)
    crop = big[3:15, 5:25]
    assert not crop.flags.c_contiguous
    np.testing.assert_array_equal(imgen.to_tensor(crop), reference_to_tensor(crop, 1 / 255))
    flipped = big[:, ::-1]
    np.testing.assert_allclose(imgen.to_tensor(flipped), reference_to_tensor(flipped, 1 / 255), rtol=1e-6)


def test_results_do_not_depend_on_thread_count(rng):
    img = random_image(rng, (300, 200, 3), np.uint16)
    imgen.set_num_threads(1)
    a = imgen.to_tensor(img)
    imgen.set_num_threads(2)
    assert imgen.get_num_threads() == 2
    np.testing.assert_array_equal(imgen.to_tensor(img), a)
    with pytest.raises(ValueError):
        imgen.set_num_threads(-1)


# --- windows near the int64 limits (offset + size must not overflow) ---------------------------

IMPORTS = "import numpy as np, imgen"


@pytest.mark.parametrize("crop", [
    (2**63 - 10**6, 0, 10**6, 100),  # y + height wraps negative: used to read far outside (SIGSEGV)
    (0, 2**63 - 10**6, 1, 10**6),    # the same on x
    (2**63 - 1, 0, 1, 100),          # a wrap of one row: used to read the floats before the tensor
])
def test_from_tensor_crop_offset_plus_size_overflow_is_rejected(crop):
    got = isolated.outcome(IMPORTS, f"imgen.from_tensor(np.zeros((1, 3, 1, 100), np.float32), "
                                    f"dtype='float32', crop={crop!r})")
    assert got.startswith("ValueError: crop"), got
    assert "inside the tensor" in got and "1x100" in got


@pytest.mark.parametrize("region", [
    (2**63 - 2, 0, 4, 4),   # y + height overflows int64
    (0, 2**63 - 2, 4, 4),
    (-2**63, 0, 4, 4),      # -x overflows in the kernel
    (0, -2**63, 4, 4),
    (2**62, 0, 1, 1),       # y + height just past the bound
    (0, 0, 2**62 + 1, 1),   # a size past the bound
])
def test_to_tensor_region_beyond_the_coordinate_bound_is_rejected(region):
    got = isolated.outcome(IMPORTS, f"imgen.to_tensor(np.zeros((4, 4, 3), np.uint8), regions=[{region!r}])")
    assert got.startswith("ValueError: region"), got
    assert "2**62" in got


def test_to_tensor_region_at_the_coordinate_bound_is_accepted():
    img = np.arange(4 * 5 * 3, dtype=np.uint8).reshape(4, 5, 3)

    def reflect(i: int, n: int) -> int:  # BORDER_REFLECT_101
        i %= 2 * (n - 1)
        return i if i < n else 2 * (n - 1) - i

    for y, x in [(-2**62, 0), (2**62 - 2, 2**62 - 2), (0, -2**62)]:
        got = imgen.to_tensor(img, regions=[(y, x, 2, 2)])
        rows = [reflect(y + i, 4) for i in range(2)]
        cols = [reflect(x + i, 5) for i in range(2)]
        ref = img[np.ix_(rows, cols)].transpose(2, 0, 1)[None] * np.float32(1 / 255)
        np.testing.assert_allclose(got, ref, rtol=1e-6)


@pytest.mark.parametrize("region", [(2**63, 0, 1, 1), (0, -2**63 - 1, 1, 1), (0, 0, 2**64, 1)])
def test_region_values_beyond_int64_name_the_bound(region):
    with pytest.raises(ValueError, match=r"2\*\*62"):
        imgen.to_tensor(np.zeros((4, 4), np.uint8), regions=[region])
    with pytest.raises(ValueError, match="crop"):
        imgen.from_tensor(np.zeros((1, 1, 4, 4), np.float32), crop=region)


# --- a failed copy of a non-contiguous input is a MemoryError, not a crash -----------------------

@pytest.mark.parametrize("expr", [
    "imgen.to_tensor(np.broadcast_to(np.zeros((1, 1, 3), np.uint8), (100000, 100000, 3)))",
    "imgen.to_tensor([np.broadcast_to(np.zeros((1, 1), np.uint16), (100000, 100000))])",
    "imgen.from_tensor(np.broadcast_to(np.zeros(1, np.float32), (1, 3, 100000, 100000)))",
])
def test_copy_of_broadcast_view_under_memory_limit_raises_memory_error(expr):
    got = isolated.outcome(IMPORTS, expr, memory_limit=2 * isolated.GiB)
    assert got.startswith("MemoryError"), got
