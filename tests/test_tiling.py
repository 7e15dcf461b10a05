"""plan_tiles / TileMerger: coverage, exact identity round-trips, weights, scale."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import imgen

import isolated


def merge_identity(img, tile, overlap, multiple=1, scale=1):
    """tile -> (nearest upscale) -> merge, as the engine does it."""
    h, w = img.shape[:2]
    grid = imgen.plan_tiles(h, w, tile=tile, overlap=overlap, multiple=multiple)
    tiles = imgen.to_tensor(img, regions=grid.regions())
    if scale > 1:
        tiles = tiles.repeat(scale, 2).repeat(scale, 3)
    c = tiles.shape[1]
    m = imgen.TileMerger(h * scale, w * scale, c, [y * scale for y in grid.row_starts],
                         [x * scale for x in grid.col_starts], grid.tile_height * scale,
                         grid.tile_width * scale, overlap * scale)
    order = np.random.default_rng(0).permutation(len(grid))  # any order, any batching
    for chunk in np.array_split(order, 3):
        if len(chunk):
            m.add(tiles[chunk], chunk.tolist())
    return m.finish(dtype=img.dtype), grid


def test_plan_axis_layout():
    g = imgen.plan_tiles(1000, 300, tile=256, overlap=32)
    assert (g.tile_height, g.tile_width) == (256, 256)
    assert g.row_starts == [0, 224, 448, 672, 744]
    assert g.col_starts == [0, 44]
    small = imgen.plan_tiles(30, 50, tile=256, overlap=32, multiple=8)
    assert (small.tile_height, small.tile_width, len(small)) == (32, 56, 1)
    rect = imgen.plan_tiles(100, 100, tile=(40, 60), overlap=8)
    assert (rect.tile_height, rect.tile_width) == (40, 60)


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, np.float32])
def test_identity_round_trip_is_exact(dtype, rng):
    img = (rng.random((157, 203, 3)) * (255 if dtype == np.uint8 else 65535 if dtype == np.uint16 else 1)).astype(dtype)
    out, grid = merge_identity(img, 64, 16)
    assert len(grid) > 4
    np.testing.assert_array_equal(out, img)


def test_scale_two_round_trip(rng):
    img = rng.random((61, 90, 1)).astype(np.float32)
    out, _ = merge_identity(img, 32, 8, scale=2)
    np.testing.assert_array_equal(out, img.repeat(2, 0).repeat(2, 1))


@settings(max_examples=80, deadline=None)
@given(
    h=st.integers(1, 90),
    w=st.integers(1, 90),
    channels=st.sampled_from([1, 3, 4]),
    tile=st.integers(1, 48),
    overlap=st.integers(0, 20),
    multiple=st.sampled_from([1, 2, 4, 8]),
    scale=st.sampled_from([1, 2, 3]),
    seed=st.integers(0, 1000),
)
def test_round_trip_property(h, w, channels, tile, overlap, multiple, scale, seed):
    img = np.random.default_rng(seed).random((h, w, channels)).astype(np.float32)
    try:
        out, _ = merge_identity(img, tile, overlap, multiple, scale)
    except ValueError as e:  # tile smaller than the multiple, or overlap >= tile
        assert "tile" in str(e) or "overlap" in str(e)
        return
    np.testing.assert_array_equal(out, img.repeat(scale, 0).repeat(scale, 1))


def test_blend_weights_are_smooth_in_overlaps():
    # Tiles of constant value k: inside an overlap the result moves monotonically from one to the other.
    h, w, tile, overlap = 8, 200, 64, 32
    grid = imgen.plan_tiles(h, w, tile=tile, overlap=overlap)
    m = imgen.TileMerger(h, w, 1, grid.row_starts, grid.col_starts, grid.tile_height, grid.tile_width, overlap)
    n = len(grid)
    tiles = np.stack([np.full((1, grid.tile_height, grid.tile_width), float(k), np.float32) for k in range(n)])
    m.add(tiles, list(range(n)))
    row = m.finish(dtype=np.float32)[0, :, 0]
    assert np.all(np.diff(row) >= 0)  # no dips or bumps: a monotone, seamless cross-fade
    start = grid.col_starts[1]
    # The first overlap/4 columns of tile 1 carry no weight; the ramp follows.
    assert row[start] == 0 and row[start + overlap // 4 - 1] == 0
    assert 0 < row[start + overlap // 2] < 1


def test_merger_errors():
    g = imgen.plan_tiles(50, 50, tile=32, overlap=8)
    m = imgen.TileMerger(50, 50, 3, g.row_starts, g.col_starts, 32, 32, 8)
    t = np.zeros((1, 3, 32, 32), np.float32)
    with pytest.raises(ValueError, match=r"tiles must be \(N, 3, 32, 32\)"):
        m.add(np.zeros((1, 1, 32, 32), np.float32), [0])
    with pytest.raises(ValueError, match="out of range"):
        m.add(t, [len(g)])
    m.add(t, [0])
    with pytest.raises(ValueError, match="added twice"):
        m.add(t, [0])
    with pytest.raises(RuntimeError, match="never added"):
        m.finish()
    with pytest.raises(ValueError, match="indices"):
        m.add(np.zeros((2, 3, 32, 32), np.float32), [1])
    with pytest.raises(ValueError, match="overlap"):
        imgen.plan_tiles(100, 100, tile=32, overlap=32)
    with pytest.raises(ValueError, match="multiple"):
        imgen.plan_tiles(100, 100, tile=4, overlap=0, multiple=8)
    with pytest.raises(ValueError, match="positive"):
        imgen.plan_tiles(0, 100, tile=32)


# --- sizes near the int64 limits ------------------------------------------------------------------


def test_plan_near_int64_max_ends_flush_with_the_axis():
    # s + size >= length overflowed for lengths near 2**63: the loop never ended (and grew its list
    # until memory ran out), so this runs in a child process with a memory limit
    got = isolated.outcome("import imgen", "imgen.plan_tiles(2**63 - 1, 10, tile=2**62, overlap=5).row_starts",
                           memory_limit=2 * isolated.GiB, timeout=30)
    stride = 2**62 - 5
    assert got == f"returned: {[0, stride, 2**63 - 1 - 2**62]!r}", got


def test_single_tile_rounding_up_near_int64_max_does_not_wrap():
    # length + multiple - 1 overflowed: the tile size came out negative
    n, tile = 2**63 - 2, 2**63 - 1
    grid = imgen.plan_tiles(n, n, tile=tile, multiple=3)
    assert grid.row_starts == [0] and grid.tile_height == 2**63 - 2 == n
    grid = imgen.plan_tiles(n - 1, 4, tile=tile, multiple=3)
    assert grid.tile_height == n and grid.tile_height % 3 == 0


def test_merger_size_overflow_is_rejected_before_allocating():
    got = isolated.outcome("import imgen", "imgen.TileMerger(2**31, 2**33, 4, [0], [0], 8, 8, 0)",
                           memory_limit=2 * isolated.GiB)
    assert got == "ValueError: merged image of 2147483648x8589934592x4 samples is too large (more than 2**63 - 1)", got
