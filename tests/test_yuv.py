"""imgen._core.rgb_to_yuv420 / yuv420_to_rgb (csrc/preprocess/yuv) against libswscale through PyAV,
and video/_yuv.py (the frames the video source and sink convert)."""
from __future__ import annotations

import numpy as np
import pytest

from imgen import _core

av = pytest.importorskip("av")
from av.video.reformatter import Interpolation  # noqa: E402

from imgen.video import _yuv  # noqa: E402

ACCURATE = Interpolation.BILINEAR | Interpolation.ACCURATE_RND | Interpolation.FULL_CHR_H_INT
MATRICES = {None: (0.299, 0.114), 1: (0.2126, 0.0722), 9: (0.2627, 0.0593)}


def _planes(frame):
    return _yuv._planes(frame)


def _rgb(h, w, seed=0):
    return np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)


@pytest.mark.parametrize("space", list(MATRICES))
@pytest.mark.parametrize("full", [False, True])
@pytest.mark.parametrize("fmt", ["yuv420p", "nv12"])
def test_rgb_to_yuv420_within_one_level_of_swscale(space, full, fmt):
    rgb = _rgb(38, 54)
    kw = {"dst_colorspace": space} if space else {}
    if full:
        kw["dst_color_range"] = 2
    ref = av.VideoFrame.from_ndarray(rgb, format="rgb24").reformat(format=fmt, **kw).to_ndarray().astype(int)
    frame = av.VideoFrame(54, 38, fmt)
    p = _planes(frame)
    kr, kb = MATRICES[space]
    _core.rgb_to_yuv420(rgb, p[0], p[1], p[2] if fmt == "yuv420p" else None, kr=kr, kb=kb, full_range=full)
    assert np.abs(frame.to_ndarray().astype(int) - ref).max() <= 1


@pytest.mark.parametrize("space", list(MATRICES))
@pytest.mark.parametrize("full", [False, True])
@pytest.mark.parametrize("fmt", ["yuv420p", "nv12"])
def test_yuv420_to_rgb_within_one_level_of_swscale_accurate(space, full, fmt):
    src = av.VideoFrame.from_ndarray(_rgb(38, 54, 1), format="rgb24").reformat(format=fmt)
    if space:
        src.colorspace = space
    if full:
        src.color_range = 2
    ref = src.reformat(format="rgb24", interpolation=ACCURATE).to_ndarray().astype(int)
    out = _yuv.frame_to_rgb(src)
    assert out.shape == (38, 54, 3) and out.dtype == np.uint8
    assert np.abs(out.astype(int) - ref).max() <= 1
    # and PyAV's own to_ndarray(format="rgb24") on flat chroma: swscale's fast path (nearest chroma,
    # coarser rounding) darkens by up to 2 levels -- why the video source never used it
    flat = av.VideoFrame.from_ndarray(np.full((38, 54, 3), (90, 140, 200), np.uint8), format="rgb24").reformat(format=fmt)
    fast = flat.to_ndarray(format="rgb24").astype(int)
    assert np.abs(_yuv.frame_to_rgb(flat).astype(int) - fast).max() <= 2


def test_odd_sizes_and_padded_rows():
    rgb = _rgb(7, 9)
    y = np.zeros((7, 16), np.uint8)[:, :9]
    u = np.zeros((4, 8), np.uint8)[:, :5]
    v = np.zeros((4, 8), np.uint8)[:, :5]
    _core.rgb_to_yuv420(rgb, y, u, v)
    luma = 16 + 219 / 255 * (rgb.astype(float) @ [0.299, 0.587, 0.114])
    assert np.abs(y.astype(int) - np.rint(luma)).max() <= 1
    # the last chroma column / row of an odd size comes from the last pixel column / row alone
    last = rgb[:, 8].astype(float)
    b_y = (last @ [0.299, 0.587, 0.114])
    w = np.array([1, 3, 3, 1]) / 8
    rows = [np.clip([5, 6, 7, 8], 0, 6)]  # chroma row 3 covers rows 5..8, edges repeated
    expect_u = 128 + 224 / 255 * sum(wt * (last[r, 2] - b_y[r]) for wt, r in zip(w, rows[0])) / (2 * (1 - 0.114))
    assert abs(int(u[3, 4]) - expect_u) <= 1
    assert _core.yuv420_to_rgb(y, u, v).shape == (7, 9, 3)
    grey = np.full((7, 9, 3), 128, np.uint8)
    _core.rgb_to_yuv420(grey, y, u, v)
    assert (y == 126).all() and (u == 128).all() and (v == 128).all()  # 16 + 219 * 128 / 255 = 125.9
    assert (_core.yuv420_to_rgb(y, u, v) == 128).all()


def test_round_trip_of_smooth_image_is_close():
    yy, xx = np.mgrid[0:64, 0:96]
    rgb = np.stack([xx * 2, yy * 3, (xx + yy)], -1).astype(np.uint8)
    f = _yuv.rgb_to_frame(av, rgb, "yuv420p", 1, 2)
    assert int(f.colorspace) == 1 and int(f.color_range) == 2
    assert np.abs(_yuv.frame_to_rgb(f).astype(int) - rgb).max() <= 3


def test_other_formats_are_left_to_swscale():
    f = av.VideoFrame.from_ndarray(_rgb(8, 8), format="rgb24").reformat(format="yuv444p")
    assert _yuv.frame_to_rgb(f) is None
    assert _yuv.rgb_to_frame(av, _rgb(8, 8), "yuv422p", None, None) is None
    assert _yuv.rgb_to_frame(av, _rgb(8, 8).astype(np.uint16), "yuv420p", None, None) is None


@pytest.mark.parametrize("call, message", [
    (lambda y, u, v: _core.yuv420_to_rgb(y.astype(np.uint16), u, v), "y must be uint8"),
    (lambda y, u, v: _core.yuv420_to_rgb(y, u[:1], v), r"u must have shape \(4, 5\)"),
    (lambda y, u, v: _core.yuv420_to_rgb(y, u, None), r"uv \(nv12: v=None\) must have shape \(4, 10\)"),
    (lambda y, u, v: _core.yuv420_to_rgb(y[:, ::2], u, v), "contiguous rows"),
    (lambda y, u, v: _core.yuv420_to_rgb(y, u, v, kr=0.7, kb=0.4), "kr and kb"),
    (lambda y, u, v: _core.yuv420_to_rgb(np.zeros((0, 4), np.uint8), u, v), "non-empty"),
    (lambda y, u, v: _core.yuv420_to_rgb("y", u, v), "y must be a numpy uint8 array"),
    (lambda y, u, v: _core.rgb_to_yuv420(np.zeros((7, 9, 4), np.uint8), y, u, v), r"rgb must have shape \(7, 9, 3\)"),
    (lambda y, u, v: _core.rgb_to_yuv420(np.zeros((7, 9, 3), np.uint8), y, u, v.copy().view(np.int8)), "v must be uint8"),
    (lambda y, u, v: _core.yuv420_to_rgb(y, u, v, out=np.zeros((7, 9, 3), np.float32)), "out must be uint8"),
    # hostile layouts: reversed or broadcast rows, strided pixels, planes of different strides
    (lambda y, u, v: _core.yuv420_to_rgb(y[::-1], u, v), r"y must have contiguous rows \(strides \(>= 9, 1\)\)"),
    (lambda y, u, v: _core.yuv420_to_rgb(np.broadcast_to(y[:1], (7, 9)), u, v), "y must have contiguous rows"),
    (lambda y, u, v: _core.yuv420_to_rgb(y, u, np.zeros((4, 8), np.uint8)[:, :5]), "u and v must have the same row stride"),
    (lambda y, u, v: _core.yuv420_to_rgb(y, np.zeros((4, 20), np.uint8)[:, ::2], None), r"uv \(nv12: v=None\) must have contiguous rows"),
    (lambda y, u, v: _core.rgb_to_yuv420(np.zeros((7, 18, 3), np.uint8)[:, ::2], y, u, v), "rgb must have contiguous RGB rows"),
    (lambda y, u, v: _core.rgb_to_yuv420(np.zeros((7, 9, 3), np.uint8)[::-1], y, u, v), "rgb must have contiguous RGB rows"),
    (lambda y, u, v: _core.yuv420_to_rgb(y, u, v, out=np.zeros((7, 9, 6), np.uint8)[..., ::2]), "out must have contiguous RGB rows"),
    (lambda y, u, v: _core.yuv420_to_rgb(y, u, v, out=np.zeros((9, 7, 3), np.uint8)), r"out must have shape \(7, 9, 3\)"),
    (lambda y, u, v: _core.yuv420_to_rgb(y, u, v, out=np.broadcast_to(np.zeros(3, np.uint8), (7, 9, 3))), "out must"),
    (lambda y, u, v: _core.yuv420_to_rgb(y[None], u, v), r"y must be a non-empty \(height, width\) plane"),
])
def test_bad_arguments_are_named(call, message):
    y, u, v = np.zeros((7, 9), np.uint8), np.zeros((4, 5), np.uint8), np.zeros((4, 5), np.uint8)
    with pytest.raises((ValueError, TypeError), match=message):
        call(y, u, v)


def test_read_only_destination_is_refused():
    y, u, v = np.zeros((8, 8), np.uint8), np.zeros((4, 4), np.uint8), np.zeros((4, 4), np.uint8)
    y.flags.writeable = False
    with pytest.raises(ValueError, match="y must be writable"):
        _core.rgb_to_yuv420(np.zeros((8, 8, 3), np.uint8), y, u, v)


def _padded(h, w, pad, rng):
    """An (h, w) uint8 plane of random values whose rows are `pad` bytes longer than w."""
    return rng.integers(0, 256, (h, w + pad), dtype=np.uint8)[:, :w]


def _both_kernels(monkeypatch, fn):
    """fn() with the AVX2 kernels and with the baseline (IMGEN_DISABLE_AVX2=1), as lists of arrays."""
    monkeypatch.setenv("IMGEN_DISABLE_AVX2", "0")
    fast = fn()
    monkeypatch.setenv("IMGEN_DISABLE_AVX2", "1")
    return fast, fn()


def test_kernel_level_follows_the_switch(monkeypatch):
    if _core.simd_level() != "avx2":
        pytest.skip("this CPU runs the baseline kernels only")
    monkeypatch.setenv("IMGEN_DISABLE_AVX2", "1")
    assert _core.simd_level() == "baseline"


@pytest.mark.parametrize("h, w", [(1, 1), (2, 3), (7, 9), (33, 70), (17, 95), (64, 96), (5, 129)])
@pytest.mark.parametrize("fmt", ["yuv420p", "nv12"])
@pytest.mark.parametrize("space, full", [(None, False), (1, True), (9, False)])
@pytest.mark.parametrize("cosited", [False, True])
def test_avx2_and_baseline_kernels_give_the_same_bytes(monkeypatch, h, w, fmt, space, full, cosited):
    if _core.simd_level() != "avx2":
        pytest.skip("this CPU runs the baseline kernels only")
    rng = np.random.default_rng(h * 1000 + w)
    kr, kb = MATRICES[space]
    ch, cw = (h + 1) // 2, (w + 1) // 2
    rgb = rng.integers(0, 256, (h, w + 5, 3), dtype=np.uint8)[:, :w]  # padded rows
    y, u = _padded(h, w, 3, rng), _padded(ch, cw * (2 if fmt == "nv12" else 1), 7, rng)
    v = _padded(ch, cw, 7, rng) if fmt == "yuv420p" else None
    y_in, u_in, v_in = y.copy(), u.copy(), None if v is None else v.copy()

    def run():
        planes = [np.full_like(p, 77) for p in (y, u) + (() if v is None else (v,))]
        _core.rgb_to_yuv420(rgb, *planes, kr=kr, kb=kb, full_range=full)
        out = np.zeros((h, w + 2, 3), np.uint8)
        _core.yuv420_to_rgb(y_in, u_in, v_in, kr=kr, kb=kb, full_range=full, cosited=cosited, out=out[:, :w])
        return planes + [out]

    fast, base = _both_kernels(monkeypatch, run)
    for a, b in zip(fast, base):
        np.testing.assert_array_equal(a, b)
    assert (fast[-1][:, w:] == 0).all()  # nothing written past the row


def test_avx2_and_baseline_agree_on_a_720p_frame(monkeypatch):
    if _core.simd_level() != "avx2":
        pytest.skip("this CPU runs the baseline kernels only")
    rng = np.random.default_rng(5)
    rgb = rng.integers(0, 256, (720, 1280, 3), dtype=np.uint8)

    def run():
        y, uv = np.empty((720, 1280), np.uint8), np.empty((360, 1280), np.uint8)
        _core.rgb_to_yuv420(rgb, y, uv, None, kr=0.2126, kb=0.0722)
        return [y, uv, _core.yuv420_to_rgb(y, uv, None, kr=0.2126, kb=0.0722, cosited=True)]

    fast, base = _both_kernels(monkeypatch, run)
    for a, b in zip(fast, base):
        np.testing.assert_array_equal(a, b)
