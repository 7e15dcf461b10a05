"""plan_tiles / TileMerger: coverage, exact identity round-trips, weights, scale, bounded memory."""
from __future__ import annotations

import hashlib

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import imgen
from imgen import _core

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
                         grid.tile_width * scale, overlap * scale, dtype=img.dtype)
    order = np.random.default_rng(0).permutation(len(grid))  # any order, any batching
    for chunk in np.array_split(order, 3):
        if len(chunk):
            m.add(tiles[chunk], chunk.tolist())
    return m.finish(), grid


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
    row = m.finish()[0, :, 0]
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


# -- bounded memory ------------------------------------------------------------------------------
#
# The merger writes finished rows straight into its output and keeps float accumulators only for
# rows still open.  It must blend exactly as the full-image merger it replaced did: the digests
# below are that merger's outputs (commit 9bc5059, GCC, x86-64) on the same deterministic tiles,
# for both SIMD levels (the AVX2 blend contracts to FMA, which moves the last bit of float outputs).
# rgba_f32_clamp_random's are that merger's output clipped to [0, 1]: float32 clamp=True clamps to
# the image range since h-clamp (it clamped to [0, 1/scale] = [0, 2] before).

# name: (h, w, channels, tile, overlap, multiple, scale, tile dtype, out dtype, norm, clamp, order, batch)
GOLDEN_CASES = {
    "rgb_f32_rowmajor": (45, 70, 3, 16, 6, 1, 1, "float32", "float32", {}, False, "rows", 4),
    "rgb_u8_norm_swap": (45, 70, 3, 16, 6, 1, 1, "float32", "uint8",
                         {"mean": [0.1, 0.2, 0.3], "std": [0.5, 0.6, 0.7], "swap_rb": True}, False, "rows", 7),
    "gray_f16_u16_x2_random": (37, 53, 1, 12, 5, 1, 2, "float16", "uint16", {}, False, "random", 3),
    "rgba_f32_clamp_random": (40, 41, 4, 20, 8, 1, 1, "float32", "float32", {"scale": 0.5}, True, "random", 5),
    "padded_rows_u8": (13, 50, 3, 16, 4, 8, 1, "float32", "uint8", {}, False, "rows", 2),
}
GOLDEN_DIGESTS = {
    "avx2": {
        "rgb_f32_rowmajor": "583fff7bfc2b81e39f2fcc85fa8d4e7b",
        "rgb_u8_norm_swap": "7816e41aa778b68922b919612be6542c",
        "gray_f16_u16_x2_random": "61f071d3bd2d9be9d51a71cd058e4b06",
        "rgba_f32_clamp_random": "261e8678cddba2004e02a38d422f8dc0",
        "padded_rows_u8": "4bb02a860d3bf8af008a7e7287ab024b",
    },
    "baseline": {
        "rgb_f32_rowmajor": "50cb345badbb888fdbb37ae3ebed5e5d",
        "rgb_u8_norm_swap": "7816e41aa778b68922b919612be6542c",
        "gray_f16_u16_x2_random": "45442c8c60a5649c7fc3d3347a7d6b27",
        "rgba_f32_clamp_random": "9607b7a2ffa02297b88d1a2288ba3f78",
        "padded_rows_u8": "4bb02a860d3bf8af008a7e7287ab024b",
    },
}


# Grids given as (row starts, column starts) rather than planned: the digest pins the merger's
# blending of this grid (planned before plan_tiles aligned starts to the size multiple); the
# merger must blend any grid, the planner's layout is tested on its own.
GOLDEN_GRIDS = {"padded_rows_u8": ([0], [0, 12, 24, 34])}


def golden_values(n, seed):
    """n floats in [-0.2, 1.2) from an integer hash: the same on every platform and numpy."""
    m = np.uint64(2**32)
    x = (np.arange(n, dtype=np.uint64) * np.uint64(2654435761) + np.uint64(seed * 40503 + 1)) % m
    x = ((x ^ (x >> np.uint64(13))) * np.uint64(1274126177)) % m
    return x.astype(np.float64) / 2**32 * 1.4 - 0.2


def golden_case(name):
    """(merger positional args, conversion kwargs, tiles that disagree, list of index batches)."""
    h, w, c, tile, overlap, multiple, s, tdt, odt, norm, clamp, order, batch = GOLDEN_CASES[name]
    grid = imgen.plan_tiles(h, w, tile=tile, overlap=overlap, multiple=multiple)
    row_starts, col_starts = GOLDEN_GRIDS.get(name, (grid.row_starts, grid.col_starts))
    n = len(row_starts) * len(col_starts)
    th, tw = grid.tile_height * s, grid.tile_width * s
    tiles = golden_values(n * c * th * tw, sum(map(ord, name))).reshape(n, c, th, tw).astype(tdt)
    args = (h * s, w * s, c, [y * s for y in row_starts], [x * s for x in col_starts],
            th, tw, overlap * s)
    idx = list(range(n))
    if order == "random":
        idx = [int(i) for i in (np.arange(n) * 7919 + 3) % n]  # a fixed permutation
        assert sorted(idx) == list(range(n))
    return args, dict(norm, dtype=odt, clamp=clamp), tiles, [idx[i:i + batch] for i in range(0, n, batch)]


@pytest.mark.parametrize("name", sorted(GOLDEN_CASES))
def test_merger_matches_the_full_image_merger(name):
    args, kwargs, tiles, batches = golden_case(name)
    m = imgen.TileMerger(*args, **kwargs)
    for b in batches:
        m.add(tiles[b], b)
    out = m.finish()
    digest = hashlib.sha256(out.tobytes()).hexdigest()[:32]
    assert out.shape == (args[0], args[1], args[2]) and out.dtype == kwargs["dtype"]
    assert digest == GOLDEN_DIGESTS[_core.simd_level()][name], (
        "blend differs from the full-image merger (if the compiler changed, FMA contraction may differ)")


@pytest.mark.parametrize("channels,dtype", [(1, np.uint8), (3, np.float32)])
def test_merger_holds_only_a_band_of_rows(channels, dtype):
    h, w, tile, overlap = 1000, 300, 64, 16
    grid = imgen.plan_tiles(h, w, tile=tile, overlap=overlap)
    rows, cols = grid.row_starts, grid.col_starts
    img = (np.arange(h * w * channels) % 251).reshape(h, w, channels).astype(dtype)
    if dtype == np.float32:
        img /= 250
    tiles = imgen.to_tensor(img, regions=grid.regions())
    m = imgen.TileMerger(h, w, channels, rows, cols, tile, tile, overlap, dtype=dtype)
    per_row = w * (channels + 1) * 4  # float32 mean per channel + weight
    batch = 5  # batches that straddle grid rows, as the engine's do
    for start in range(0, len(grid), batch):
        idx = list(range(start, min(start + batch, len(grid))))
        m.add(tiles[idx], idx)
        done = idx[-1] + 1  # tiles added so far
        complete = done // len(cols)  # grid rows complete
        assert m.rows_done == (rows[complete] if complete < len(rows) else h)
        assert m.accumulator_bytes <= (tile + (tile - overlap)) * per_row
    stride = tile - overlap
    # A ring of tile + stride rows (briefly also its first tile rows while it grew), not h rows.
    assert m.peak_accumulator_bytes <= (2 * tile + stride) * per_row < h * per_row / 4
    assert m.accumulator_bytes == 0  # released when the image is complete
    np.testing.assert_array_equal(m.finish().reshape(img.shape), img)


def test_merger_writes_into_out():
    h, w = 40, 70
    grid = imgen.plan_tiles(h, w, tile=16, overlap=4)
    img = (np.arange(h * w * 3) % 256).reshape(h, w, 3).astype(np.uint8)
    tiles = imgen.to_tensor(img, regions=grid.regions())
    big = np.zeros((h + 2, w + 5, 3), np.uint8)
    view = big[1:-1, 2:-3]  # rows strided: written in place
    m = imgen.TileMerger(h, w, 3, grid.row_starts, grid.col_starts, 16, 16, 4, dtype=np.uint8, out=view)
    m.add(tiles, list(range(len(grid))))
    assert m.finish() is view
    np.testing.assert_array_equal(view, img)
    assert big[0].sum() == 0 and big[:, :2].sum() == 0 and big[:, -3:].sum() == 0
    args = (h, w, 3, grid.row_starts, grid.col_starts, 16, 16, 4)
    with pytest.raises(ValueError, match="out must be a uint8 array of shape"):
        imgen.TileMerger(*args, dtype=np.uint8, out=np.zeros((h, w, 3), np.uint16))
    with pytest.raises(ValueError, match="out must be a uint8 array of shape"):
        imgen.TileMerger(*args, dtype=np.uint8, out=np.zeros((h, w + 1, 3), np.uint8))
    with pytest.raises(ValueError, match="contiguous"):
        imgen.TileMerger(*args, dtype=np.uint8, out=np.zeros((h, 2 * w, 3), np.uint8)[:, ::2])
    with pytest.raises(TypeError, match="dtype must be uint8, uint16 or float32"):
        imgen.TileMerger(*args, dtype=np.float16)


def test_absurd_grids_and_mergers_are_refused():
    # Sizes whose products overflow, or that no machine holds: clear errors, nothing allocated.
    with pytest.raises(ValueError, match="overflows"):
        imgen.TileMerger(2**40, 2**40, 3, [0], [0], 2**40, 2**40, 0)
    with pytest.raises(ValueError, match="overflows"):
        imgen.TileMerger(2**62, 4, 4, [0], [0], 2**62, 4, 0, dtype=np.float32)
    with pytest.raises(MemoryError, match="more than this machine's memory"):
        imgen.TileMerger(2**20, 2**20, 3, [0], [0], 2**20, 2**20, 0)  # 12 TiB
    with pytest.raises(ValueError, match="at most 16777216"):
        imgen.plan_tiles(2**62, 8, tile=2, overlap=1)
    with pytest.raises(ValueError, match="at most 16777216"):
        imgen.plan_tiles(10**5, 10**5, tile=8, overlap=4)
    big = imgen.plan_tiles(2**62 + 1, 8, tile=2**63 - 1, multiple=2**62 + 2)  # rounding up: no overflow
    assert big.tile_height == 2**62 + 2 and big.row_starts == [0]
    starts = list(range(0, 4097 * 4, 4))  # 4097 x 4097 tiles > 2**24
    with pytest.raises(ValueError, match="too large"):
        imgen.TileMerger(4097 * 4, 4097 * 4, 1, starts, starts, 4, 4, 0, dtype=np.uint8)
    with pytest.raises(ValueError, match="strictly increasing"):
        imgen.TileMerger(50, 50, 1, [0, 18, 18], [0, 18], 32, 32, 8)
    with pytest.raises(ValueError, match="do not cover"):
        imgen.TileMerger(50, 50, 1, [0, 40], [0, 18], 32, 32, 0)
    with pytest.raises(ValueError, match="outside"):
        imgen.TileMerger(50, 50, 1, [0, 50], [0, 18], 32, 32, 8)


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
    assert got.startswith("ValueError: ") and "2147483648x8589934592x4" in got and "too large" in got, got


def axis_weights(starts, size, length, overlap):
    """(tiles, length) float64 weights, as the C++ tile_weights: zero outside a tile, a margin of
    overlap // 4 at 0 on sides with a neighbour, then a sin^2 ramp."""
    w = np.zeros((len(starts), length))
    margin = overlap // 4
    ramp = overlap - 2 * margin
    for i, s in enumerate(starts):
        inside = min(size, length - s)
        v = np.ones(inside)
        if overlap > 0:
            d = np.arange(inside)
            def side(dist):
                r = np.sin(np.pi / 2 * (dist - margin + 0.5) / max(ramp, 1)) ** 2
                return np.where(dist < margin, 0.0, np.where(dist < margin + ramp, r, 1.0))
            if s > 0:
                v = np.minimum(v, side(d))
            if size < length - s:
                v = np.minimum(v, side(size - 1 - d))
        w[i, s:s + inside] = v
    return w


@pytest.mark.parametrize("h,w,c,tile,overlap,scale", [
    (157, 203, 3, 64, 16, 1),   # odd sizes, last tiles flush with the end
    (61, 90, 1, 32, 8, 2),      # scale 2: sizes in output pixels
    (45, 77, 4, 20, 6, 3),      # scale 3, margins of 1 input pixel
    (99, 31, 3, 40, 13, 1),     # one column of tiles: every column owned
    (48, 64, 1, 16, 0, 1),      # no overlap, tiles that divide the image: every pixel owned
])
def test_owned_pixels_are_the_tile_value_and_bands_the_weighted_mean(h, w, c, tile, overlap, scale):
    # Tiles that disagree: pixels one tile alone weighs get its value bit for bit, the overlap
    # bands the weighted mean of all the tiles covering them (float64 reference).
    grid = imgen.plan_tiles(h, w, tile=tile, overlap=overlap)
    rows = [y * scale for y in grid.row_starts]
    cols = [x * scale for x in grid.col_starts]
    th, tw, ov, H, W = grid.tile_height * scale, grid.tile_width * scale, overlap * scale, h * scale, w * scale
    tiles = np.random.default_rng(h * w).random((len(grid), c, th, tw)).astype(np.float32)
    m = imgen.TileMerger(H, W, c, rows, cols, th, tw, ov)
    order = np.random.default_rng(1).permutation(len(grid))
    for chunk in np.array_split(order, 2):
        m.add(tiles[chunk], chunk.tolist())
    out = m.finish()
    wy, wx = axis_weights(rows, th, H, ov), axis_weights(cols, tw, W, ov)
    total = np.zeros((H, W))
    acc = np.zeros((H, W, c))
    for i, (y, x) in enumerate((y, x) for y in rows for x in cols):
        wt = np.outer(wy[i // len(cols)], wx[i % len(cols)])[y:y + th, x:x + tw]
        part = tiles[i].transpose(1, 2, 0)[:wt.shape[0], :wt.shape[1]]
        acc[y:y + th, x:x + tw] += wt[..., None] * part
        total[y:y + th, x:x + tw] += wt
    owned = ((wy > 0).sum(0)[:, None] == 1) & ((wx > 0).sum(0)[None, :] == 1)
    assert owned.any()
    if overlap == 0:
        assert owned.all()
    ref = acc / total[..., None]
    # Owned: exactly the one weighted tile's value (the weighted mean of one value).
    owner = np.zeros((H, W, c), np.float32)
    for i, (y, x) in enumerate((y, x) for y in rows for x in cols):
        r, k = i // len(cols), i % len(cols)
        mask = np.outer(wy[r] > 0, wx[k] > 0) & owned
        owner[mask] = tiles[i].transpose(1, 2, 0)[:H - y, :W - x][mask[y:y + th, x:x + tw]]
    np.testing.assert_array_equal(out[owned], owner[owned])
    np.testing.assert_allclose(out[~owned], ref[~owned], rtol=0, atol=2e-6)


@pytest.mark.parametrize("dtype", [np.uint8, np.float32])
def test_owned_pixels_ignore_a_neighbours_zero_weight_margin(dtype):
    # A tile's outer overlap // 4 carries no weight: what it holds (even NaN) never reaches the
    # pixels its neighbour owns there, whatever the order the tiles come in.
    h, w, tile, overlap = 8, 96, 64, 32
    grid = imgen.plan_tiles(h, w, tile=tile, overlap=overlap)
    assert grid.col_starts == [0, 32]
    tiles = np.full((2, 1, grid.tile_height, tile), 0.5, np.float32)
    tiles[1, :, :, :overlap // 4] = np.nan  # tile 1's zero-weight margin, owned by tile 0
    for order in ([0, 1], [1, 0]):
        m = imgen.TileMerger(h, w, 1, grid.row_starts, grid.col_starts, grid.tile_height, tile,
                             overlap, dtype=dtype)
        for i in order:
            m.add(tiles[[i]], [i])
        out = m.finish()[..., 0]
        expected = imgen.from_tensor(tiles[:1, :, :1, :1], dtype=dtype)[0, 0, 0, 0]  # 0.5 converted
        assert np.all(out[:, :32 + overlap // 4] == expected)
