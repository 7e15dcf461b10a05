"""imgen.denoise.nlm: OpenCV's non-local means as method ``nlm`` -- the function, its dtypes, and the
method reaching `imgen denoise`, `imgen bench`, `imgen serve` and `imgen video` through the registry."""
from __future__ import annotations

import cv2
import numpy as np
import pytest
from skimage import data

import imgen
from imgen.cli import main
from imgen.denoise import nlm
from imgen.methods import REGISTRY


@pytest.fixture(scope="module")
def noisy():
    rng = np.random.default_rng(7)
    clean = data.astronaut()[100:164, 120:200]
    return clean, np.clip(np.rint(clean + rng.normal(0, 25, clean.shape)), 0, 255).astype(np.uint8)


def test_uint8_is_opencv_with_h_from_sigma(noisy):
    _, img = noisy
    h = 0.8 * 25
    want = cv2.fastNlMeansDenoisingColored(img[..., ::-1].copy(), None, h, h, 7, 21)[..., ::-1]
    np.testing.assert_array_equal(nlm(img, sigma=25 / 255), want)  # RGB in, RGB out
    gray = np.ascontiguousarray(img[..., 1])
    np.testing.assert_array_equal(nlm(gray, sigma=25 / 255, strength=1.5, patch=5, search=11),
                                  cv2.fastNlMeansDenoising(gray, None, 1.5 * 25, 5, 11))
    assert nlm(gray[..., None], sigma=25 / 255).shape == (64, 80, 1)


def test_it_denoises(noisy):
    clean, img = noisy
    assert imgen.metrics.psnr(clean, nlm(img, sigma=25 / 255)) > imgen.metrics.psnr(clean, img) + 4
    assert imgen.metrics.psnr(clean, nlm(img)) > imgen.metrics.psnr(clean, img) + 4   # sigma estimated


@pytest.mark.parametrize("dtype, top", [(np.uint16, 65535), (np.float32, 1.0), (np.float64, 1.0)])
def test_other_dtypes_are_filtered_at_8_bits_and_come_back_in_their_dtype(noisy, dtype, top):
    _, img = noisy
    other = (img.astype(np.float64) / 255 * top)
    other = (np.rint(other) if dtype == np.uint16 else other).astype(dtype)
    out = nlm(other, sigma=25 / 255)   # the same sigma: a fraction of the full range in every dtype
    assert out.dtype == dtype and out.shape == img.shape
    want = nlm(img, sigma=25 / 255).astype(np.float64) / 255 * top
    np.testing.assert_allclose(out.astype(np.float64), want, atol=0.5 if dtype == np.uint16 else 1e-6)


def test_sigma_zero_copies_and_bad_arguments_are_refused(noisy):
    _, img = noisy
    out = nlm(img, sigma=0)
    np.testing.assert_array_equal(out, img)
    assert out is not img
    for kwargs, match in [({"patch": 6}, "patch must be an odd integer"), ({"search": 0}, "search must be an odd"),
                          ({"strength": 0}, "strength must be > 0"), ({"sigma": 2}, r"sigma must be in \[0, 1\]")]:
        with pytest.raises(ValueError, match=match):
            nlm(img, **kwargs)
    with pytest.raises(ValueError, match="gray .* or RGB"):
        nlm(np.zeros((8, 8, 4), np.uint8), sigma=0.1)


def test_registered_with_checked_params():
    m = REGISTRY.get("nlm")
    assert m.task == "denoise" and m.params().strength == 0.8
    with pytest.raises(imgen.ImgenError, match="patch must be one of 1, 3"):
        m.params(patch=8)


def test_imgen_denoise_method_nlm(noisy, tmp_path):
    _, img = noisy
    cv2.imwrite(str(tmp_path / "in.png"), img[..., ::-1])
    assert main(["denoise", str(tmp_path / "in.png"), "-o", str(tmp_path / "out.png"), "--method", "nlm",
                 "--sigma", "25", "--search", "15", "-q"]) == 0
    got = cv2.imread(str(tmp_path / "out.png"))[..., ::-1]
    np.testing.assert_array_equal(got, nlm(img, sigma=25 / 255, search=15))


def test_imgen_video_method_nlm_on_frames(noisy, tmp_path):
    _, img = noisy
    (tmp_path / "f").mkdir()
    for i in range(2):
        cv2.imwrite(str(tmp_path / "f" / f"{i + 1:03d}.png"), img[..., ::-1])
    assert main(["video", str(tmp_path / "f"), "-o", f"{tmp_path / 'o'}/%03d.png", "--method", "nlm",
                 "--sigma", "25", "-q"]) == 0
    got = cv2.imread(str(tmp_path / "o" / "002.png"))[..., ::-1]
    np.testing.assert_array_equal(got, nlm(img, sigma=25 / 255))


def test_imgen_bench_runs_nlm(noisy):
    from imgen.bench import run
    from imgen.bench.samples import Sample

    clean, _ = noisy
    result = run(images=[Sample("astronaut", clean.astype(np.float32) / 255)], methods=["nlm"], models=[],
                 sigmas=[25], repeats=1, progress=False)
    (record,) = result.records
    assert record["method"] == "nlm" and record["psnr"] > 26 and not result.failures


def test_imgen_serve_serves_nlm(noisy):
    pytest.importorskip("starlette")
    pytest.importorskip("httpx2")
    from starlette.testclient import TestClient

    from imgen.serve.app import create_app
    from imgen.serve.models import serve_models

    _, img = noisy
    with TestClient(create_app(serve_models([]))) as client:
        assert client.get("/v1/models/nlm").json()["method"] == "nlm"
        r = client.post("/v1/models/nlm?sigma=25", content=cv2.imencode(".png", img[..., ::-1])[1].tobytes())
        assert r.status_code == 200, r.text
    got = cv2.imdecode(np.frombuffer(r.content, np.uint8), cv2.IMREAD_UNCHANGED)[..., ::-1]
    np.testing.assert_array_equal(got, nlm(img, sigma=25 / 255))
