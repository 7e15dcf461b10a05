"""Property tests for the C++ core's window arguments: crop/region/tile values near the int64
limits (offset + size must not overflow), and inputs whose copy cannot be allocated.

Everything run in this process is rejected before memory is touched (or is a small, valid
window); the memory-limited cases run in a child process (tests/isolated.py), so that a crash
fails the test instead of killing pytest.
"""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import imgen

import isolated

INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
BOUND = 2**62  # region coordinates must lie in [-BOUND, BOUND]

near = lambda v, r=2**20: st.integers(v - r, v + r)  # noqa: E731
huge = st.one_of(
    near(INT64_MAX, 2**20).filter(lambda v: v <= INT64_MAX),
    near(INT64_MIN, 2**20).filter(lambda v: v >= INT64_MIN),
    near(BOUND, 64),
    near(-BOUND, 64),
    st.integers(INT64_MIN, INT64_MAX),
    st.integers(2**63, 2**70),     # beyond int64
    st.integers(-(2**70), INT64_MIN - 1),
)
coordinate = st.one_of(huge, st.integers(-8, 8))
extent = st.one_of(huge, st.integers(-1, 8))


def region_is_valid(y: int, x: int, h: int, w: int) -> bool:
    return h > 0 and w > 0 and -BOUND <= y and y + h <= BOUND and -BOUND <= x and x + w <= BOUND


@settings(max_examples=300, deadline=None)
@given(y=coordinate, x=coordinate, h=extent, w=extent)
def test_to_tensor_region_is_rejected_or_converted(y, x, h, w):
    img = np.arange(4 * 5 * 3, dtype=np.uint8).reshape(4, 5, 3)
    if region_is_valid(y, x, h, w):
        assume(h * w <= 4096)  # a valid region allocates h * w: keep it small
        out = imgen.to_tensor(img, regions=[(y, x, h, w)])
        assert out.shape == (1, 3, h, w)
        return
    with pytest.raises(ValueError, match="region"):
        imgen.to_tensor(img, regions=[(y, x, h, w)])
    with pytest.raises(ValueError, match="region"):  # the same with one image per region
        imgen.to_tensor([img, img], regions=[(0, 0, h, w) if h > 0 and w > 0 else (0, 0, 1, 1), (y, x, h, w)])


@settings(max_examples=300, deadline=None)
@given(y=coordinate, x=coordinate, h=extent, w=extent, dtype=st.sampled_from(["uint8", "float32"]))
def test_from_tensor_crop_is_rejected_or_inside(y, x, h, w, dtype):
    tensor = np.random.default_rng(0).random((2, 1, 4, 5), dtype=np.float32)
    if h > 0 and w > 0 and 0 <= y and y + h <= 4 and 0 <= x and x + w <= 5:
        out = imgen.from_tensor(tensor, dtype="float32", crop=(y, x, h, w))
        np.testing.assert_array_equal(out[..., 0], tensor[:, 0, y:y + h, x:x + w])
        return
    with pytest.raises(ValueError, match="crop|region"):
        imgen.from_tensor(tensor, dtype=dtype, crop=(y, x, h, w))
    with pytest.raises(ValueError, match="crop|region"):
        imgen.from_tensor(tensor[0], dtype=dtype, crop=(y, x, h, w))


int64 = st.one_of(huge.filter(lambda v: INT64_MIN <= v <= INT64_MAX), st.integers(-4, 64))
length = st.one_of(st.integers(1, 2**63 - 1), near(INT64_MAX, 2**10).filter(lambda v: v <= INT64_MAX),
                   st.integers(1, 200), st.integers(-4, 0))


@st.composite
def tile_plans(draw):
    """(length, tile, overlap, multiple) with tiles big enough that a valid plan is short."""
    n = draw(length)
    tile = draw(st.one_of(int64, st.integers(1, 64).map(lambda k: max(n // k, 1))))
    overlap = draw(st.one_of(int64, st.integers(0, 8), st.just(max(tile - 1, 0))))
    multiple = draw(st.one_of(st.integers(1, 8), int64))
    return n, tile, overlap, multiple


def expected_tiles(n: int, tile: int, overlap: int, multiple: int) -> int | None:
    """How many tiles plan_tiles makes along an axis (exact integers), or None when invalid."""
    if n <= 0 or multiple <= 0 or overlap < 0 or tile <= 0:
        return None
    size = tile // multiple * multiple
    if size <= 0:
        return None
    if n <= size:
        return 1 if -(-n // multiple) * multiple <= INT64_MAX else None
    if overlap >= size:
        return None
    return -(-(n - size) // _stride(size, overlap, multiple)) + 1


def _stride(size: int, overlap: int, multiple: int) -> int:
    """Starts are multiples of `multiple` where the overlap leaves room for one, else unaligned."""
    step = size - overlap
    return step // multiple * multiple if step >= multiple else step


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.filter_too_much])
@given(plan=tile_plans())
def test_plan_tiles_is_rejected_or_stays_inside(plan):
    n, tile, overlap, multiple = plan
    count = expected_tiles(n, tile, overlap, multiple)
    assume(count is None or count <= 10_000)  # a valid plan lists every start: keep it short
    if count is None or count * count > 2**24:  # per axis, or the square grid beyond kMaxTiles
        with pytest.raises(ValueError):
            imgen.plan_tiles(n, n, tile=tile, overlap=overlap, multiple=multiple)
        return
    grid = imgen.plan_tiles(n, n, tile=tile, overlap=overlap, multiple=multiple)
    starts, size = grid.row_starts, grid.tile_height
    assert len(starts) == count and starts == grid.col_starts
    assert size % multiple == 0 and starts[0] == 0
    if count == 1:
        assert size >= n
    else:
        aligned = size - overlap >= multiple
        last = -(-(n - size) // multiple) * multiple if aligned else n - size
        assert starts == sorted(starts) and starts[-1] == last < n  # reaching past n by < multiple
        assert all(0 <= s and (s % multiple == 0 or not aligned) for s in starts)
        assert all(b - a <= size - overlap for a, b in zip(starts, starts[1:]))


@st.composite
def broadcast_images(draw):
    """HWC shapes whose contiguous copy needs at least 4 GiB."""
    dtype = draw(st.sampled_from([np.uint8, np.uint16, np.float32]))
    c = draw(st.sampled_from([1, 3, 4]))
    h = draw(st.integers(2**16, 2**20))
    w = -(-(4 << 30) // (h * c * np.dtype(dtype).itemsize)) + draw(st.integers(0, 1000))
    return (h, w, c), np.dtype(dtype).name


@settings(max_examples=4, deadline=None)
@given(image=broadcast_images())
def test_uncopyable_views_raise_memory_error_under_a_memory_limit(image):
    shape, dtype = image
    code = f"""
import numpy as np, imgen, imgen.denoise, imgen.metrics
img = np.broadcast_to(np.zeros((1, 1, 1), np.{dtype}), {shape})
ten = np.broadcast_to(np.zeros((1, 1, 1, 1), np.float32), (1, {shape[2]}, {shape[0]}, {shape[1]}))
calls = {{
    "to_tensor": lambda: imgen.to_tensor(img),
    "from_tensor": lambda: imgen.from_tensor(ten),
    "psnr": lambda: imgen.metrics.psnr(img, img),
    "wavelet": lambda: imgen.denoise.wavelet(img, sigma=0.01),
    "bm3d": lambda: imgen.denoise.bm3d(img[..., :1], sigma=0.01),
}}
for name, call in calls.items():
    try:
        call()
    except MemoryError:
        print(name, "MemoryError")
    except Exception as e:
        print(name, type(e).__name__, e)
    else:
        print(name, "no error")
"""
    # 1 GiB, below even bm3d's one-channel slice (>= 1 GiB): under 2 GiB that copy fitted and the
    # next buffer failed, after seconds of writing a gigabyte, to the same numpy MemoryError
    res = isolated.run_python(code, memory_limit=isolated.GiB, timeout=60)
    assert res.returncode == 0, (res.returncode, res.stdout, res.stderr[-2000:])
    assert res.stdout.split("\n")[:-1] == [f"{n} MemoryError" for n in
                                           ("to_tensor", "from_tensor", "psnr", "wavelet", "bm3d")]


@pytest.mark.parametrize("tile", [2**63, 2**64, -2**70, (2**63, 4), (4, 2**80)])
def test_plan_tiles_tile_beyond_int64_names_the_bound(tile):
    with pytest.raises(ValueError, match=r"tile size must be positive and at most 2\*\*63 - 1"):
        imgen.plan_tiles(100, 100, tile=tile)
