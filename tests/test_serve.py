"""imgen.serve.app: every endpoint and error code, in-process (Starlette's TestClient)."""
from __future__ import annotations

import asyncio
import io

import cv2
import numpy as np
import pytest

pytest.importorskip("starlette")
httpx = pytest.importorskip("httpx2")
from starlette.testclient import TestClient  # noqa: E402

from imgen.serve.app import Limits, create_app  # noqa: E402
from imgen.serve.models import serve_models  # noqa: E402
from onnx_models import identity, meta, minus_noise  # noqa: E402


def png(img: np.ndarray) -> bytes:
    return cv2.imencode(".png", img)[1].tobytes()


def npy(arr: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.save(buf, arr)
    return buf.getvalue()


@pytest.fixture
def models(tmp_path):
    identity(tmp_path / "ident.onnx", channels=3, metadata=meta(task="restore", channels=3))
    minus_noise(tmp_path / "noisy.onnx", channels=1, kind="scalar")
    return serve_models([str(tmp_path / "ident.onnx"), str(tmp_path / "noisy.onnx")])


@pytest.fixture
def client(models):
    app = create_app(models, limits=Limits(max_body=200_000, max_pixels=100_000))
    with TestClient(app) as c:
        yield c


def test_identity_png_round_trip_with_timing(client, rng):
    img = rng.integers(0, 256, (20, 30, 3), dtype=np.uint8)
    r = client.post("/v1/models/ident", content=png(img))
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "image/png"
    assert "run;dur=" in r.headers["server-timing"]
    out = cv2.imdecode(np.frombuffer(r.content, np.uint8), cv2.IMREAD_UNCHANGED)
    np.testing.assert_array_equal(out, img)


def test_npy_in_npy_out_and_format_switch(client, rng):
    img = rng.integers(0, 256, (16, 16, 3), dtype=np.uint8)
    r = client.post("/v1/models/ident", content=npy(img))
    assert r.status_code == 200 and r.headers["content-type"] == "application/x-npy"
    np.testing.assert_array_equal(np.load(io.BytesIO(r.content)), img)
    r = client.post("/v1/models/ident?format=jpg", content=png(img))
    assert r.status_code == 200 and r.content[:2] == b"\xff\xd8"


def test_sigma_reaches_the_model_on_the_0_255_scale(client):
    img = np.full((8, 8), 0.5, np.float32)
    r = client.post("/v1/models/noisy?sigma=51", content=npy(img))
    assert r.status_code == 200, r.text
    np.testing.assert_allclose(np.load(io.BytesIO(r.content)), 0.5 - 0.2, atol=1e-6)


def test_classical_methods_are_models(client, rng):
    """Every denoiser of the method registry is served under its name (bm3d, wavelet, ...)."""
    from imgen.methods import REGISTRY

    img = rng.integers(0, 256, (32, 32), dtype=np.uint8)
    assert {"bm3d", "wavelet"} <= set(REGISTRY.names("denoise"))
    for name in REGISTRY.names("denoise"):
        r = client.post(f"/v1/models/{name}?sigma=25", content=png(img))
        assert r.status_code == 200, r.text
        assert cv2.imdecode(np.frombuffer(r.content, np.uint8), cv2.IMREAD_UNCHANGED).shape == (32, 32)


def test_get_endpoints(client):
    from imgen.methods import REGISTRY

    assert client.get("/v1/models").json() == {"models": sorted(["ident", "noisy", *REGISTRY.names("denoise")])}
    info = client.get("/v1/models/noisy").json()
    assert info["metadata"]["imgen.noise_input"] == "sigma"
    assert client.get("/v1/models/bm3d").json()["kind"] == "classical"
    missing = client.get("/v1/models/nope")
    assert missing.status_code == 404 and "no model named 'nope'" in missing.json()["error"]
    assert client.get("/healthz").status_code == 200
    assert client.get("/readyz").json()["ready"] is True
    client.post("/v1/models/ident", content=b"junk")
    text = client.get("/metrics").text
    assert 'imgen_errors_total{kind="bad_image"} 1.0' in text
    assert "imgen_batch_size_bucket" in text and "imgen_queue_depth" in text


@pytest.mark.parametrize("path, body, status, words", [
    ("/v1/models/nope", b"x", 404, "no model named 'nope'"),
    ("/v1/models/ident", b"not an image", 400, "not a readable image"),
    ("/v1/models/ident", b"", 400, "empty"),
    ("/v1/models/ident?sigma=300", b"x", 400, "0 to 255"),
    ("/v1/models/ident?tile=-1", b"x", 400, "tile must be"),
    ("/v1/models/ident?format=gif", b"x", 400, "format must be one of"),
    ("/v1/models/ident?path=/etc/passwd", b"x", 400, "unknown option(s) path"),
    ("/v1/models/ident", b"\x00" * 300_000, 413, "over the limit"),
    ("/v1/models/ident", npy(np.zeros((2, 2), object)), 400, "not a readable .npy"),
    ("/v1/models/ident", npy(np.zeros((2, 2, 7), np.uint8)), 400, "expected an (H, W)"),
])
def test_errors(client, path, body, status, words):
    r = client.post(path, content=body)
    assert r.status_code == status
    assert words in r.json()["error"]


def test_pixel_limit_is_413_from_the_header(client):
    big = png(np.zeros((400, 400), np.uint8))  # 160,000 pixels > 100,000; a few hundred bytes
    r = client.post("/v1/models/ident", content=big)
    assert r.status_code == 413 and "over the limit of 100,000" in r.json()["error"]


def test_model_error_is_400_and_server_survives(client):
    r = client.post("/v1/models/ident", content=npy(np.full((4, 4, 3), np.nan, np.float32)))
    assert r.status_code == 400
    assert client.get("/healthz").status_code == 200


def test_bearer_token(models, rng):
    with TestClient(create_app(models, token="s3cret")) as c:
        img = png(rng.integers(0, 256, (8, 8, 3), dtype=np.uint8))
        assert c.post("/v1/models/ident", content=img).status_code == 401
        assert c.post("/v1/models/ident", content=img, headers={"Authorization": "Bearer wrong"}).status_code == 401
        assert c.post("/v1/models/ident", content=img,
                      headers={"Authorization": "Bearer s3cret"}).status_code == 200
        assert c.get("/healthz").status_code == 200
        assert c.get("/v1/models").status_code == 401


def _wrap_run(models, run):
    """Make the ident model's processors run ``run(proc, images)`` instead of ``proc(images)``."""
    served = models["ident"]
    original = served.runner

    def runner(**kw):
        proc = original(**kw)

        class Wrapped:
            options = proc.options

            def __call__(self, images):
                return run(proc, images)
        return Wrapped()
    served.runner = runner
    return original


def _slow(models, delay):
    import time

    def run(proc, images):
        time.sleep(delay)
        return proc(images)
    _wrap_run(models, run)


def test_timeout_is_504(models):
    _slow(models, 0.5)
    with TestClient(create_app(models, limits=Limits(timeout=0.05))) as c:
        r = c.post("/v1/models/ident", content=npy(np.zeros((4, 4, 3), np.uint8)))
    assert r.status_code == 504 and "within 0.05 s" in r.json()["error"]


async def _concurrent(app, bodies, path="/v1/models/ident"):
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
        return await asyncio.gather(*(c.post(path, content=b) for b in bodies))


def test_two_concurrent_requests_run_as_one_batch(models, rng):
    app = create_app(models, max_batch=8, max_delay_ms=300)
    imgs = [rng.integers(0, 256, (12, 12, 3), dtype=np.uint8) for _ in range(2)]
    replies = asyncio.run(_concurrent(app, [npy(i) for i in imgs]))
    for r, img in zip(replies, imgs):
        assert r.status_code == 200
        np.testing.assert_array_equal(np.load(io.BytesIO(r.content)), img)
    hist = app.state.metrics.batch_size.collect()[0].samples
    count = next(s.value for s in hist if s.name.endswith("_count"))
    total = next(s.value for s in hist if s.name.endswith("_sum"))
    assert (count, total) == (1, 2)


def test_queue_full_is_503_with_retry_after(models):
    _slow(models, 0.3)
    app = create_app(models, max_batch=1, max_delay_ms=0, max_queue=1)
    replies = asyncio.run(_concurrent(app, [npy(np.zeros((4, 4, 3), np.uint8))] * 3))
    codes = sorted(r.status_code for r in replies)
    assert codes[0] == 200 and codes[-1] == 503
    full = next(r for r in replies if r.status_code == 503)
    assert full.headers["retry-after"] == "1"


def test_out_of_memory_is_503_and_server_survives(models):
    def run(proc, images):
        raise MemoryError("Unable to allocate 3.22 GiB for an array")
    original = _wrap_run(models, run)
    with TestClient(create_app(models)) as c:
        r = c.post("/v1/models/ident", content=npy(np.zeros((4, 4, 3), np.uint8)))
        assert r.status_code == 503 and r.headers["retry-after"] == "1"
        assert r.json()["error"].startswith("not enough memory for this image on the server (Unable to allocate")
        models["ident"].runner = original
        assert c.post("/v1/models/ident", content=npy(np.zeros((4, 4, 3), np.uint8))).status_code == 200


def test_out_of_memory_while_decoding_is_503_not_the_clients_400(models, monkeypatch):
    import imgen.imageio

    def imdecode(*_):
        raise MemoryError()
    monkeypatch.setattr(imgen.imageio.cv2, "imdecode", imdecode)
    with TestClient(create_app(models)) as c:
        r = c.post("/v1/models/ident", content=png(np.zeros((4, 4, 3), np.uint8)))
    assert r.status_code == 503 and r.headers["retry-after"] == "1"
    assert "not enough memory to decode this 4x4 image" in r.json()["error"]


def test_out_of_memory_while_loading_npy_is_503(models, monkeypatch):
    def load(*_, **__):
        raise MemoryError("Unable to allocate 9 GiB")
    monkeypatch.setattr("imgen.serve.app.np.load", load)
    with TestClient(create_app(models)) as c:
        r = c.post("/v1/models/ident", content=npy(np.zeros((4, 4, 3), np.uint8)))
    assert r.status_code == 503 and "Unable to allocate 9 GiB" in r.json()["error"]


def test_a_bad_image_does_not_fail_its_batch_mates(models, rng):
    app = create_app(models, max_batch=8, max_delay_ms=300)
    good = rng.random((6, 6, 3), dtype=np.float32)
    bad = np.full((6, 6, 3), np.nan, np.float32)
    r_good, r_bad = asyncio.run(_concurrent(app, [npy(good), npy(bad)]))
    assert r_good.status_code == 200 and r_bad.status_code == 400
    np.testing.assert_array_equal(np.load(io.BytesIO(r_good.content)), good)


def test_a_processor_is_built_once_per_request_options_and_shared(models):
    """serve validates and builds a processor once per (name, sigma, tile, colour order), then reuses it."""
    import threading

    served = models["noisy"]
    first = served.runner(sigma=0.1, tile=None, color_order="bgr")
    assert served.runner(sigma=0.1, tile=None, color_order="bgr") is first
    assert served.runner(sigma=0.2, tile=None, color_order="bgr") is not first
    assert served.runner(sigma=None, tile=None, color_order="bgr") is served.processor  # the served options
    assert first.model is served.processor.model  # one loaded model
    got = []
    threads = [threading.Thread(target=lambda: got.append(served.runner(sigma=0.3, tile=64, color_order="rgb")))
               for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len({id(r) for r in got}) == 1
    from imgen.errors import ImgenError

    with pytest.raises(ImgenError, match="tile must be >= 0"):
        served.runner(sigma=None, tile=-1, color_order="bgr")


def test_serve_refuses_a_negative_tile(capsys):
    from imgen.cli import main

    with pytest.raises(SystemExit):
        main(["serve", "--tile", "-1"])
    assert "--tile: must be an integer >= 0, got '-1'" in capsys.readouterr().err
