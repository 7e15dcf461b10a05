"""imgen serve under abuse (issue #30), in-process: admission that holds, work off the event loop,
body limits, the memory budget, and the small refusals.  Every loop here is bounded in count."""
from __future__ import annotations

import asyncio
import io
import logging
import struct
import sys
import threading
import time

import cv2
import numpy as np
import pytest

pytest.importorskip("starlette")
httpx = pytest.importorskip("httpx2")
from starlette.testclient import TestClient  # noqa: E402

from imgen.serve.app import Limits, create_app  # noqa: E402
from imgen.serve.models import serve_models  # noqa: E402
from onnx_models import identity, meta  # noqa: E402


def png(img: np.ndarray) -> bytes:
    return cv2.imencode(".png", img)[1].tobytes()


def npy(arr: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.save(buf, arr)
    return buf.getvalue()


@pytest.fixture
def models(tmp_path):
    identity(tmp_path / "ident.onnx", channels=3, metadata=meta(task="restore", channels=3))
    return serve_models([str(tmp_path / "ident.onnx")])


class Slow:
    """Make the ident model sleep ``delay`` s in its run; ``images`` counts the images it ran."""

    def __init__(self, models, delay: float):
        self.delay, self.images, self.lock = delay, 0, threading.Lock()
        served = models["ident"]
        original = served.runner
        outer = self

        def runner(**kw):
            proc = original(**kw)

            class Wrapped:
                options = proc.options

                def __call__(self, images):
                    time.sleep(outer.delay)
                    with outer.lock:
                        outer.images += len(images)
                    return proc(images)
            return Wrapped()
        served.runner = runner


def client_for(app):
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t")


SMALL = npy(np.zeros((4, 4, 3), np.uint8))


# -- 1. admission that holds ----------------------------------------------------------------------

def test_timed_out_work_still_counts_against_the_queue(models):
    slow = Slow(models, 0.6)
    app = create_app(models, limits=Limits(timeout=0.05), max_batch=1, max_delay_ms=0, max_queue=2, sessions=2)

    async def go():
        async with client_for(app) as c:
            codes = [(await c.post("/v1/models/ident", content=SMALL)).status_code for _ in range(4)]
            depth = app.state.admission.depth("ident")
            await asyncio.sleep(1.0)  # the two running images finish
            after = (await c.post("/v1/models/ident", content=SMALL)).status_code
            return codes, depth, after
    with TestClient(app):  # lifespan
        codes, depth, after = asyncio.run(go())
    assert codes[:2] == [504, 504] and codes[2:] == [503, 503], codes
    assert depth == 2
    assert after == 504  # admitted again once the queue emptied
    assert slow.images == 2  # the 503s never ran


def test_a_caller_that_times_out_before_its_image_starts_cancels_it(models):
    slow = Slow(models, 0.4)
    app = create_app(models, limits=Limits(timeout=0.1), max_batch=1, max_delay_ms=0, max_queue=8)

    async def go():
        async with client_for(app) as c:
            replies = await asyncio.gather(*(c.post("/v1/models/ident", content=SMALL) for _ in range(3)))
            await asyncio.sleep(0.6)
            return [r.status_code for r in replies]
    codes = asyncio.run(go())
    assert codes == [504] * 3
    assert slow.images == 1  # only the first one had started
    assert app.state.admission.depth("ident") == 0


def test_batcher_cancellation_drops_waiting_images_and_waits_for_running_ones():
    from imgen.serve.batching import Batcher

    ran = []

    def run(images):
        time.sleep(0.3)
        ran.append(len(images))
        return list(images)

    async def go():
        b = Batcher(max_batch=1, max_delay=0, sessions=1)
        image = np.zeros((2, 2), np.uint8)
        running = asyncio.create_task(b.submit("k", run, image))
        await asyncio.sleep(0.05)
        waiting = asyncio.create_task(b.submit("k", run, image))
        await asyncio.sleep(0.05)
        assert b.depth == 2
        waiting.cancel()
        await asyncio.gather(waiting, return_exceptions=True)
        assert b.depth == 1  # dropped at once, never run
        t = time.perf_counter()
        running.cancel()
        await asyncio.gather(running, return_exceptions=True)
        held = time.perf_counter() - t
        assert b.depth == 0 and held > 0.1  # the cancelled caller waited for its running image
        await asyncio.sleep(0.1)
        b.close()
    asyncio.run(go())
    assert ran == [1]


def test_the_timeout_covers_decoding(models, monkeypatch):
    import imgen.serve.payload as payload

    real = payload.decode_image

    def slow_decode(*a, **kw):
        time.sleep(0.4)
        return real(*a, **kw)
    monkeypatch.setattr(payload, "decode_image", slow_decode)
    with TestClient(create_app(models, limits=Limits(timeout=0.1))) as c:
        t = time.perf_counter()
        r = c.post("/v1/models/ident", content=png(np.zeros((4, 4, 3), np.uint8)))
        took = time.perf_counter() - t
    assert r.status_code == 504 and took < 0.35


# -- 2. decoding and encoding off the event loop --------------------------------------------------

@pytest.mark.parametrize("where", ["decode_image", "encode_image"])
def test_health_and_metrics_answer_while_decoding_or_encoding(models, monkeypatch, where):
    import imgen.serve.payload as payload

    real = getattr(payload, where)

    def slow(*a, **kw):
        time.sleep(0.3)
        return real(*a, **kw)
    monkeypatch.setattr(payload, where, slow)
    app = create_app(models)

    async def go():
        async with client_for(app) as c:
            work = [asyncio.create_task(c.post("/v1/models/ident", content=png(np.zeros((4, 4, 3), np.uint8))))
                    for _ in range(3)]
            await asyncio.sleep(0.05)
            worst = 0.0
            for _ in range(10):  # bounded: 10 probes of each
                for path in ("/healthz", "/metrics"):
                    t = time.perf_counter()
                    assert (await c.get(path)).status_code == 200
                    worst = max(worst, time.perf_counter() - t)
                await asyncio.sleep(0.02)
            return worst, [(await w).status_code for w in work]
    worst, codes = asyncio.run(go())
    assert codes == [200] * 3
    assert worst < 0.05, f"/healthz or /metrics took {worst * 1e3:.0f} ms"


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="per-thread niceness is Linux's")
def test_decoding_and_the_model_run_at_the_lowest_cpu_priority(models, monkeypatch):
    """Worker threads at nice 19 (COMPUTE_NICENESS), so the event loop (nice 0) is scheduled first."""
    import os

    import imgen.serve.payload as payload
    from imgen.serve.batching import COMPUTE_NICENESS

    seen: dict[str, int] = {}

    def niceness() -> int:
        return os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
    real = payload.decode_image

    def decode(*a, **kw):
        seen["decode"] = niceness()
        return real(*a, **kw)
    monkeypatch.setattr(payload, "decode_image", decode)
    served = models["ident"]
    wrapped = served.runner

    def runner(**kw):
        proc = wrapped(**kw)

        class Recording:
            options = proc.options

            def __call__(self, images):
                seen["run"] = niceness()
                return proc(images)
        return Recording()
    served.runner = runner
    with TestClient(create_app(models)) as c:
        assert c.post("/v1/models/ident", content=png(np.zeros((4, 4, 3), np.uint8))).status_code == 200
    assert seen == {"decode": COMPUTE_NICENESS, "run": COMPUTE_NICENESS} and COMPUTE_NICENESS == 19


# -- 3. body limits ------------------------------------------------------------------------------

async def _dribble(body: bytes, pause: float):
    """The body in two halves with ``pause`` seconds between (a slow client)."""
    yield body[: len(body) // 2]
    await asyncio.sleep(pause)
    yield body[len(body) // 2:]


def test_a_slow_body_is_408(models):
    app = create_app(models, limits=Limits(read_timeout=0.2))

    async def go():
        async with client_for(app) as c:
            return await c.post("/v1/models/ident", content=_dribble(SMALL, 1.0))
    r = asyncio.run(go())
    assert r.status_code == 408 and "did not arrive within 0.2 s" in r.json()["error"]
    assert r.headers["connection"] == "close"


def test_uploads_received_at_once_are_capped(models):
    app = create_app(models, limits=Limits(max_uploads=2, read_timeout=5))

    async def go():
        async with client_for(app) as c:
            slow = [asyncio.create_task(c.post("/v1/models/ident", content=_dribble(SMALL, 0.5))) for _ in range(2)]
            await asyncio.sleep(0.1)
            third = await c.post("/v1/models/ident", content=SMALL)
            return third, [(await s).status_code for s in slow]
    third, codes = asyncio.run(go())
    assert codes == [200, 200]
    assert third.status_code == 503 and "--max-uploads" in third.json()["error"]
    assert third.headers["retry-after"] == "1"


def _scope(path="/v1/models/ident", length=len(SMALL)):
    return {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST", "scheme": "http",
            "path": path, "raw_path": path.encode(), "query_string": b"", "root_path": "",
            "headers": [(b"content-length", str(length).encode())], "client": ("127.0.0.1", 1),
            "server": ("127.0.0.1", 80)}


def test_a_client_hanging_up_mid_body_is_no_500_and_no_traceback(models, caplog):
    app = create_app(models)
    messages = iter([{"type": "http.request", "body": SMALL[:20], "more_body": True}, {"type": "http.disconnect"}])

    async def receive():
        return next(messages)

    async def send(message):
        pass

    with caplog.at_level(logging.INFO, logger="imgen"):
        asyncio.run(app(_scope(), receive, send))
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]
    text = app.state.metrics.render().decode()
    assert 'status="500"' not in text
    assert 'imgen_requests_total{model="ident",status="499"} 1.0' in text


def test_a_client_hanging_up_while_its_image_waits_drops_it(models):
    slow = Slow(models, 0.4)
    app = create_app(models, max_batch=1, max_delay_ms=0)

    async def leaving_client():
        messages = [{"type": "http.request", "body": SMALL, "more_body": False}]

        async def receive():
            if messages:
                return messages.pop()
            await asyncio.sleep(0.1)  # sent its body, then hangs up while its image waits
            return {"type": "http.disconnect"}

        async def send(message):
            pass
        await app(_scope(), receive, send)

    async def go():
        async with client_for(app) as c:
            busy = asyncio.create_task(c.post("/v1/models/ident", content=SMALL))
            await asyncio.sleep(0.1)
            await asyncio.wait_for(leaving_client(), 0.3)  # answered at once: not after the busy one
            assert (await busy).status_code == 200
            await asyncio.sleep(0.5)
    asyncio.run(go())
    assert slow.images == 1
    assert 'status="499"} 1.0' in app.state.metrics.render().decode()


# -- 5. small refusals ----------------------------------------------------------------------------

@pytest.mark.parametrize("tile", ["²", "١٢", "1 ", "+3"])
def test_unicode_digits_in_tile_are_400(models, tile):
    with TestClient(create_app(models)) as c:
        r = c.post("/v1/models/ident", params={"tile": tile}, content=SMALL)
    assert r.status_code == 400 and "tile must be" in r.json()["error"]


def npy_header_only(shape, dtype="|u1") -> bytes:
    header = repr({"descr": dtype, "fortran_order": False, "shape": shape}).encode()
    header += b" " * ((64 - (10 + len(header) + 1) % 64) % 64) + b"\n"
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header


def test_npy_declaring_a_huge_shape_is_413_before_allocating(models, monkeypatch):
    body = npy_header_only((40000, 40000, 3))
    assert len(body) <= 192
    calls = []
    monkeypatch.setattr("imgen.serve.payload.np.load", lambda *a, **k: calls.append(1))
    with TestClient(create_app(models, limits=Limits(max_pixels=100_000))) as c:
        r = c.post("/v1/models/ident", content=body)
    assert r.status_code == 413, r.text
    assert "40000x40000" in r.json()["error"] and "limit of 100,000 pixels" in r.json()["error"]
    assert calls == []


# -- 4. the memory budget -------------------------------------------------------------------------

def test_an_image_over_the_memory_budget_is_413_naming_it(models):
    from imgen.serve.admission import WORKING

    img = np.zeros((64, 64), np.uint8)  # wavelet: 64 * 64 * its per-pixel figure at least
    budget = 64 * 64 * WORKING["wavelet"].per_pixel // 2
    with TestClient(create_app(models, limits=Limits(memory_budget=budget))) as c:
        r = c.post("/v1/models/wavelet", content=png(img))
        assert r.status_code == 413, r.text
        assert "--memory-budget" in r.json()["error"] and "over the server's memory budget" in r.json()["error"]
        assert c.post("/v1/models/wavelet", content=png(img[:8, :8])).status_code == 200


def test_images_that_do_not_fit_now_are_503_with_retry_after(models):
    from imgen.serve.admission import estimate, working_for

    Slow(models, 0.4)
    body = npy(np.zeros((32, 32, 3), np.uint8))
    one = estimate(working_for("ident", "model"), 32, 32, 3, 1, len(body))
    app = create_app(models, limits=Limits(memory_budget=int(one * 1.5)), max_queue=8)

    async def go():
        async with client_for(app) as c:
            replies = await asyncio.gather(*(c.post("/v1/models/ident", content=body) for _ in range(3)))
            reserved = app.state.admission.reserved
            return replies, reserved
    replies, reserved = asyncio.run(go())
    codes = sorted(r.status_code for r in replies)
    assert codes == [200, 503, 503], codes
    busy = next(r for r in replies if r.status_code == 503)
    assert busy.headers["retry-after"] == "1" and "memory budget" in busy.json()["error"]
    assert reserved == 0


def test_memory_budget_option_sizes():
    import argparse

    from imgen.cli.serve import byte_size

    assert byte_size("4G") == 4 << 30 and byte_size("512M") == 512 << 20 and byte_size("1.5GiB") == 3 << 29
    assert byte_size("100") == 100 << 20
    for bad in ("", "0", "-1G", "4X", "²G"):
        with pytest.raises(argparse.ArgumentTypeError):
            byte_size(bad)


# -- 6. the uploads standard clients send ---------------------------------------------------------

def test_multipart_upload_as_curl_F_sends(models, rng):
    img = rng.integers(0, 256, (20, 30, 3), dtype=np.uint8)
    data = png(img)
    with TestClient(create_app(models)) as c:
        r = c.post("/v1/models/ident", files={"file": ("x.png", data, "image/png")})
        assert r.status_code == 200, r.text
        np.testing.assert_array_equal(cv2.imdecode(np.frombuffer(r.content, np.uint8), cv2.IMREAD_UNCHANGED), img)
        r = c.post("/v1/models/ident", files={"image": ("x.png", data, "image/png")}, data={"format": "npy"})
        assert r.status_code == 200 and r.headers["content-type"] == "application/x-npy"
        two = c.post("/v1/models/ident", files=[("a", ("a.png", data)), ("b", ("b.png", data))])
        assert two.status_code == 400 and "exactly one file" in two.json()["error"]
        odd = c.post("/v1/models/ident", files={"image": ("x.png", data)}, data={"path": "/etc/passwd"})
        assert odd.status_code == 400 and "unknown form field 'path'" in odd.json()["error"]


def test_json_with_base64(models, rng):
    import base64

    img = rng.integers(0, 256, (8, 8, 3), dtype=np.uint8)
    with TestClient(create_app(models)) as c:
        r = c.post("/v1/models/ident", json={"image": base64.b64encode(png(img)).decode(), "format": "npy"})
        assert r.status_code == 200, r.text
        np.testing.assert_array_equal(np.load(io.BytesIO(r.content)), img)  # as decoded (BGR), as before
        bad = c.post("/v1/models/ident", json={"image": "not base64!"})
        assert bad.status_code == 400 and "not base64" in bad.json()["error"]
        bad = c.post("/v1/models/ident", json={"image": "", "sigma": 999})
        assert bad.status_code == 400 and "0 to 255" in bad.json()["error"]


def test_estimates_follow_the_measured_figures():
    from imgen.serve.admission import WORKING, estimate

    model, wavelet = WORKING["denoise-gray"], WORKING["wavelet"]
    big = dict(height=4000, width=4000, channels=1, itemsize=1, body=0)
    assert estimate(model, **big) < estimate(model, **big, tiled=False)  # tiles cap a model's working set
    assert estimate(model, **big) < 400 << 20
    assert estimate(wavelet, **big) == 4000 * 4000 * (wavelet.per_pixel + 3)
    small = dict(height=100, width=100, channels=3, itemsize=2, body=10)
    assert estimate(model, **small, scale=2) > 3 * estimate(model, **small)  # an upscaler's output


def test_an_access_log_line_per_request(models, caplog):
    with caplog.at_level(logging.INFO, logger="imgen.access"), TestClient(create_app(models)) as c:
        c.post("/v1/models/ident", content=SMALL)
        c.get("/healthz")
    lines = [r.getMessage() for r in caplog.records if r.name == "imgen.access"]
    assert len(lines) == 2
    assert " POST /v1/models/ident 200 " in lines[0] and lines[0].endswith(" ms")
    assert " GET /healthz 200 " in lines[1]


def test_openapi_lists_every_endpoint_and_option(models):
    from imgen.serve.payload import OPTIONS

    app = create_app(models)
    with TestClient(app) as c:
        doc = c.get("/openapi.json").json()
        page = c.get("/docs").text
    listed = {(path, m.upper()) for path, ops in doc["paths"].items() for m in ops}
    for route in app.routes:
        if route.include_in_schema:
            for m in route.methods - {"HEAD"}:
                assert (route.path, m) in listed
                assert doc["paths"][route.path][m.lower()]["summary"], route.path
    post = doc["paths"]["/v1/models/{name}"]["post"]
    assert {p["name"] for p in post["parameters"] if p["in"] == "query"} == set(OPTIONS)
    assert "/v2/models/{name}/infer" in page and "--memory-budget" in page


ONE_HEAP_PROBE = """
import sys, threading, numpy as np
from imgen.serve.admission import one_heap, trim_heap
from imgen.serve.models import serve_models
if sys.argv[1] == "one":
    assert one_heap()
def rss():
    return next(int(l.split()[1]) for l in open("/proc/self/status") if l.startswith("VmRSS")) // 1024
proc = serve_models([])["wavelet"].runner(sigma=0.1, tile=None, color_order="bgr")
img = np.zeros((3000, 3000), np.uint8)
proc([img[:64, :64]])
trim_heap()
before = rss()
for _ in range(3):  # a fresh worker thread each time, as a pool that grows and shrinks
    t = threading.Thread(target=proc, args=([img],)); t.start(); t.join()
trim_heap()
print(rss() - before)
"""


@pytest.mark.skipif(not __import__("sys").platform.startswith("linux"), reason="glibc arenas")
def test_one_heap_gives_memory_back_after_large_images():
    import os
    import subprocess
    import sys

    def grown(mode: str) -> int:
        out = subprocess.run([sys.executable, "-c", ONE_HEAP_PROBE, mode], capture_output=True, text=True,
                             timeout=120, env=dict(os.environ))
        assert out.returncode == 0, out.stderr[-2000:]
        return int(out.stdout.split()[-1])
    assert grown("one") < 8  # MiB, after three 9-Mpixel runs in fresh threads
