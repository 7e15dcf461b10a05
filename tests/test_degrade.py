"""imgen.degrade: MATLAB-bicubic downscaling (against MATLAB's own Set5 files) and upscaling (against
imresize's formula written out), blur, JPEG."""
from __future__ import annotations

import math

import cv2
import numpy as np
import pytest

from imgen import degrade


def _psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
    return math.inf if mse == 0 else 10 * math.log10(255.0**2 / mse)


@pytest.mark.shared
@pytest.mark.parametrize("scale", [2, 3, 4])
def test_downscale_matches_matlab_set5(shared, scale):
    folder = shared / "data" / "set5_sr" / f"image_SRF_{scale}"
    if not folder.is_dir():
        pytest.skip(f"{folder} not found")
    hrs = sorted(folder.glob("*_HR.png"))
    assert len(hrs) == 5
    for hr_path in hrs:
        hr = cv2.imread(str(hr_path), cv2.IMREAD_UNCHANGED)
        lr = cv2.imread(str(hr_path).replace("_HR.png", "_LR.png"), cv2.IMREAD_UNCHANGED)
        ours = degrade.downscale(hr, scale)
        assert ours.shape == lr.shape and ours.dtype == np.uint8
        assert _psnr(ours, lr) >= 57.0, hr_path.name


def test_downscale_not_opencv_cubic(rng):
    """The antialiased kernel differs from OpenCV's INTER_CUBIC on detail near Nyquist."""
    img = rng.integers(0, 256, (64, 48, 3), dtype=np.uint8)
    ours = degrade.downscale(img, 2)
    cv = cv2.resize(img, (24, 32), interpolation=cv2.INTER_CUBIC)
    assert ours.shape == cv.shape
    assert _psnr(ours, cv) < 40
    # antialiasing: a random image loses most of its variance
    assert ours.astype(float).std() < 0.6 * img.astype(float).std()


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, np.float32])
def test_downscale_constant_and_dtypes(dtype):
    top = {np.uint8: 200, np.uint16: 50000, np.float32: 0.7}[dtype]
    img = np.full((31, 17), top, dtype=dtype)
    out = degrade.downscale(img, 3)
    assert out.shape == (11, 6) and out.dtype == dtype
    np.testing.assert_allclose(out.astype(float), float(top), rtol=1e-6)


@pytest.mark.parametrize("bad", [0, 1.5, -2, True, "2", 65])
def test_downscale_bad_scale(bad):
    with pytest.raises(ValueError, match="scale must be an integer"):
        degrade.downscale(np.zeros((8, 8), np.uint8), bad)


def test_downscale_bad_image():
    with pytest.raises(TypeError, match="uint8, uint16 or float32"):
        degrade.downscale(np.zeros((8, 8), np.int32), 2)


def _imresize_up_reference(a: np.ndarray, scale: int) -> np.ndarray:
    """MATLAB's imresize(a, scale, 'bicubic') for an integer scale >= 2, written out pixel by pixel
    from its formula: output pixel x (1-based) samples u = x / scale + 0.5 (1 - 1 / scale), with
    Keys' cubic (a = -0.5) on the 4 nearest input pixels, borders mirrored (symmetric padding),
    rows first; float64, no rounding between the passes (a float image)."""
    def kernel(t):
        t = abs(t)
        if t <= 1:
            return 1.5 * t**3 - 2.5 * t**2 + 1
        if t <= 2:
            return -0.5 * t**3 + 2.5 * t**2 - 4 * t + 2
        return 0.0

    def axis(v):  # v: (L, ...)
        n = v.shape[0]
        padded = np.concatenate([v[2::-1], v, v[:-4:-1]])  # 3 mirrored samples each side, edge repeated
        out = []
        for x in range(1, n * scale + 1):
            u = x / scale + 0.5 * (1 - 1 / scale)
            left = math.floor(u - 2)
            taps = [(j, kernel(u - j)) for j in range(left, left + 5)]
            total = sum(w for _, w in taps)
            out.append(sum(w * padded[j - 1 + 3] for j, w in taps) / total)
        return np.stack(out)

    return np.swapaxes(axis(np.swapaxes(axis(a.astype(np.float64)), 0, 1)), 0, 1)


@pytest.mark.parametrize("scale", [2, 3, 4])
def test_upscale_is_matlabs_imresize_formula(rng, scale):
    img = rng.random((7, 5), dtype=np.float32)
    ours = degrade.upscale(img, scale)
    assert ours.shape == (7 * scale, 5 * scale) and ours.dtype == np.float32
    np.testing.assert_allclose(ours, _imresize_up_reference(img, scale), atol=1e-6)


def test_upscale_keeps_quadratics_where_opencv_cubic_does_not(rng):
    """Keys' a = -0.5 reproduces quadratics exactly (away from the mirrored borders); OpenCV's
    INTER_CUBIC (a = -0.75) does not, and differs on a random image."""
    x = np.arange(1, 41, dtype=np.float64)
    row = (0.2 + 0.0004 * (x - 15) ** 2).astype(np.float32)
    img = np.repeat(row[None], 6, axis=0)
    ours = degrade.upscale(img, 2)[:, 8:-8]
    u = (np.arange(1, 81) / 2 + 0.25)[8:-8]
    np.testing.assert_allclose(ours[3], 0.2 + 0.0004 * (u - 15) ** 2, atol=1e-6)
    cv = cv2.resize(img, (80, 12), interpolation=cv2.INTER_CUBIC)[:, 8:-8]
    assert np.abs(cv[3] - ours[3]).max() > 1e-5
    noise = rng.integers(0, 256, (20, 16, 3), dtype=np.uint8)
    up = degrade.upscale(noise, 2)
    assert up.shape == (40, 32, 3) and up.dtype == np.uint8
    assert _psnr(up, cv2.resize(noise, (32, 40), interpolation=cv2.INTER_CUBIC)) < 45


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, np.float32])
def test_upscale_constant_dtypes_and_scale_1(dtype, rng):
    top = {np.uint8: 200, np.uint16: 50000, np.float32: 0.7}[dtype]
    img = np.full((5, 3, 3), top, dtype=dtype)
    out = degrade.upscale(img, 3)
    assert out.shape == (15, 9, 3) and out.dtype == dtype
    np.testing.assert_allclose(out.astype(float), float(top), rtol=1e-6)
    assert np.array_equal(degrade.upscale(img, 1), img)
    with pytest.raises(ValueError, match="scale must be an integer"):
        degrade.upscale(img, 1.5)


def test_gaussian_kernel():
    k = degrade.gaussian_kernel(1.6)
    assert k.shape == (11, 11) and abs(k.sum() - 1) < 1e-12
    np.testing.assert_allclose(k, k.T)
    with pytest.raises(ValueError, match="sigma"):
        degrade.gaussian_kernel(0)


def test_motion_kernel_seeded():
    a, b, c = degrade.motion_kernel(3), degrade.motion_kernel(3), degrade.motion_kernel(4)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    assert a.shape == (25, 25) and abs(a.sum() - 1) < 1e-12 and a.min() >= 0
    assert (a > 0).sum() > 5  # a path, not a point
    with pytest.raises(ValueError, match="odd"):
        degrade.motion_kernel(0, size=24)


def test_fixed_kernels_stable():
    ks = degrade.fixed_kernels()
    assert set(ks) == {"gauss1.6", "gauss3", "motion19", "motion25"}
    np.testing.assert_array_equal(ks["motion19"], degrade.fixed_kernels()["motion19"])


def test_blur_circular_matches_fft_and_shift():
    """A kernel with one off-centre tap shifts the image (convolution, not correlation)."""
    img = np.arange(100, dtype=np.float32).reshape(10, 10) / 100
    k = np.zeros((3, 3))
    k[1, 2] = 1.0  # convolution with a tap at +1 column moves content right by one
    out = degrade.blur(img, k, boundary="circular")
    np.testing.assert_allclose(out, np.roll(img, 1, axis=1), atol=1e-6)
    out_r = degrade.blur(img, k, boundary="reflect")
    np.testing.assert_allclose(out_r[:, 1:], img[:, :-1], atol=1e-6)


def test_blur_noise_seeded_and_level(rng):
    img = np.full((128, 128, 3), 128, np.uint8)
    a = degrade.blur(img, "gauss1.6", 10 / 255, seed=1)
    b = degrade.blur(img, "gauss1.6", 10 / 255, seed=1)
    np.testing.assert_array_equal(a, b)
    assert a.shape == img.shape and a.dtype == np.uint8
    assert 9 < a.astype(float).std() < 11


def test_blur_bad_inputs():
    img = np.zeros((8, 8), np.uint8)
    with pytest.raises(ValueError, match="one of"):
        degrade.blur(img, "nope")
    with pytest.raises(ValueError, match="boundary"):
        degrade.blur(img, "gauss1.6", boundary="wrap")
    with pytest.raises(ValueError, match="positive sum"):
        degrade.blur(img, np.zeros((3, 3)))
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        degrade.blur(img, "gauss1.6", 25)
    with pytest.raises(ValueError, match="no larger than the image"):
        degrade.blur(img, "gauss3", boundary="circular")


@pytest.mark.parametrize("shape", [(40, 56), (40, 56, 1), (40, 56, 3), (40, 56, 4)])
def test_jpeg_roundtrip_shapes(shape, rng):
    img = cv2.GaussianBlur(rng.integers(0, 256, shape, dtype=np.uint8), (5, 5), 2).reshape(shape)
    out = degrade.jpeg(img, 30)
    assert out.shape == img.shape and out.dtype == np.uint8
    assert 25 < _psnr(out, img) < 80
    if len(shape) == 3 and shape[2] == 4:
        np.testing.assert_array_equal(out[..., 3], img[..., 3])


def test_jpeg_quality_orders_error(rng):
    img = cv2.GaussianBlur(rng.integers(0, 256, (64, 64, 3), dtype=np.uint8), (3, 3), 1)
    assert _psnr(degrade.jpeg(img, 10), img) < _psnr(degrade.jpeg(img, 90), img)


def test_jpeg_float_and_bad_quality():
    img = np.full((16, 16, 3), 0.5, np.float32)
    out = degrade.jpeg(img, 50)
    assert out.dtype == np.float32 and np.abs(out - 0.5).max() < 3 / 255
    for bad in (0, 101, 5.5, True):
        with pytest.raises(ValueError, match="quality"):
            degrade.jpeg(img, bad)


@pytest.mark.parametrize("fn", [lambda im: degrade.downscale(im, 2), lambda im: degrade.blur(im, "gauss1.6"),
                                lambda im: degrade.jpeg(im, 50)])
def test_nan_refused(fn):
    img = np.zeros((30, 30), np.float32)
    img[3, 4] = np.nan
    with pytest.raises(ValueError, match="NaN or Inf"):
        fn(img)
