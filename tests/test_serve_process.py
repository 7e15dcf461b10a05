"""`imgen serve` as a process: SIGTERM drains the request in flight, then exits 0; slow headers and
bodies are answered 408 and closed, connections over --max-connections 503."""
from __future__ import annotations

import signal
import threading
import time
import urllib.error
import urllib.request

import cv2
import numpy as np
import pytest

pytest.importorskip("uvicorn")
from serve_process import start, stop  # noqa: E402


def _metric(text: str, name: str) -> float:
    """The value of the unlabelled sample ``name`` in a /metrics page (0 when absent)."""
    for line in text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    return 0.0


def _sigterm_while_running(rng, size: int) -> bool:
    """One server, one ``size``² image, SIGTERM once the image is seen in the queue: False when the
    image had finished before it was seen (nothing proven), True when it was drained (asserted)."""
    proc, url = start("--max-delay-ms", "0", "--grace", "60")
    try:
        img = rng.integers(0, 256, (size, size), dtype=np.uint8)
        body = cv2.imencode(".png", img)[1].tobytes()
        got = {}

        def send():
            req = urllib.request.Request(url + "/v1/models/bm3d?sigma=25", data=body, method="POST")
            with urllib.request.urlopen(req, timeout=120) as r:
                got["status"], got["body"] = r.status, r.read()

        t = threading.Thread(target=send)
        t.start()
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:  # wait until the request is inside the server
            with urllib.request.urlopen(url + "/metrics", timeout=5) as r:
                text = r.read().decode()
            if "imgen_queue_depth 1.0" in text:
                break
            if _metric(text, "imgen_batch_size_count") >= 1:  # finished before it was seen
                t.join(120)
                return False
            time.sleep(0.01)
        else:
            pytest.fail("the request never reached the queue")
        proc.send_signal(signal.SIGTERM)
        t.join(120)
        assert got.get("status") == 200
        out = cv2.imdecode(np.frombuffer(got["body"], np.uint8), cv2.IMREAD_UNCHANGED)
        assert out.shape == img.shape
        assert proc.wait(60) == 0
        with pytest.raises(OSError):
            urllib.request.urlopen(url + "/healthz", timeout=2)
        return True
    finally:
        stop(proc)


def test_sigterm_drains_in_flight_request_and_exits_0(rng):
    """SIGTERM while an image runs: its reply still comes (200), then the server exits 0.  When the
    image finished before the test saw it queued (a starved test process), the attempt proves
    nothing and is repeated with a larger image, at most 3 attempts."""
    if not any(_sigterm_while_running(rng, size) for size in (512, 1024, 1536)):
        pytest.fail("in 3 attempts the image always finished before it was seen in the queue")


def test_empty_token_file_and_bad_model_are_one_error(tmp_path, capsys):
    from imgen.cli import main

    empty = tmp_path / "token"
    empty.write_text("\n")
    assert main(["serve", "--token-file", str(empty)]) == 1
    assert "the token file is empty" in capsys.readouterr().err
    assert main(["serve", str(tmp_path / "missing.onnx")]) == 1
    assert "missing.onnx" in capsys.readouterr().err


def _recv_all(sock, seconds: float) -> bytes | None:
    """What the server sent until it closed the connection; None if it kept it open ``seconds``."""
    import socket

    sock.settimeout(seconds)
    got = b""
    try:
        while True:
            chunk = sock.recv(4096)
            if not chunk:
                return got
            got += chunk
    except socket.timeout:
        return None
    except ConnectionResetError:
        return got


def test_slow_headers_and_slow_bodies_are_408_and_closed():
    import socket

    proc, url = start("--header-timeout", "1", "--read-timeout", "1", "--max-connections", "14")
    port = int(url.rsplit(":", 1)[1])
    socks = []
    try:
        for _ in range(12):  # slowloris: headers never finished
            s = socket.create_connection(("127.0.0.1", port))
            s.sendall(b"POST /v1/models/bm3d HTTP/1.1\r\nHost: x\r\n")
            socks.append(s)
        body = socket.create_connection(("127.0.0.1", port))  # a body that stops short
        body.sendall(b"POST /v1/models/bm3d HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n" + b"\x89PNG" * 4)
        socks.append(body)
        with pytest.raises(urllib.error.HTTPError) as full:  # the 14th connection: over --max-connections
            urllib.request.urlopen(url + "/healthz", timeout=5)
        assert full.value.code == 503
        full.value.close()
        t = time.monotonic()
        replies = [_recv_all(s, 5.0) for s in socks]
        assert time.monotonic() - t < 5
        assert all(r is not None and r.startswith(b"HTTP/1.1 408") for r in replies[:-1]), replies[:2]
        assert replies[-1] is not None and b" 408 " in replies[-1].split(b"\r\n")[0]
        assert b"did not arrive within 1 s" in replies[-1]
        with urllib.request.urlopen(url + "/healthz", timeout=5) as r:
            assert r.status == 200
        with urllib.request.urlopen(url + "/metrics", timeout=5) as r:
            text = r.read().decode()
        assert 'status="408"} 1.0' in text and 'status="500"' not in text
    finally:
        for s in socks:
            s.close()
        stop(proc)


def _hang_up_behind(url: str, ahead: int, big: bytes, small: bytes) -> bool:
    """Send ``ahead`` big images, then the small one, which hangs up once it is seen queued behind
    two of them; False when they all finished first (nothing proven), True when the small image was
    dropped unrun (asserted)."""
    import socket

    def metrics() -> str:
        with urllib.request.urlopen(url + "/metrics", timeout=5) as r:
            return r.read().decode()

    def wait_for(check, what: str, seconds: float = 120) -> str:
        deadline = time.monotonic() + seconds
        while not check(text := metrics()):
            assert time.monotonic() < deadline, f"never saw {what}"
            time.sleep(0.01)
        return text

    dropped = 'imgen_requests_total{model="bm3d",status="499"}'
    text = metrics()
    ran_before, dropped_before = _metric(text, "imgen_batch_size_count"), _metric(text, dropped)

    def done(text: str) -> int:
        return round(_metric(text, "imgen_batch_size_count") - ran_before)

    statuses: list[int] = []

    def send_big() -> None:
        req = urllib.request.Request(url + "/v1/models/bm3d?sigma=25", data=big, method="POST")
        with urllib.request.urlopen(req, timeout=300) as r:
            statuses.append(r.status)

    senders = [threading.Thread(target=send_big) for _ in range(ahead)]
    for t in senders:
        t.start()
    # every big image admitted: waiting or running, or already finished
    wait_for(lambda m: _metric(m, "imgen_queue_depth") + done(m) >= ahead, "the big images admitted")
    port = int(url.rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port)) as s:
        s.sendall(b"POST /v1/models/bm3d?sigma=25 HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n"
                  % len(small) + small)
        text = wait_for(lambda m: _metric(m, "imgen_queue_depth") + done(m) >= ahead + 1
                        or done(m) >= ahead - 1, "the small image admitted")
        queued_behind_two = ahead - done(text) >= 2
    # the socket is closed: the client hung up while its image waits (when queued_behind_two)
    for t in senders:
        t.join(300)
    assert statuses == [200] * ahead
    text = wait_for(lambda m: _metric(m, "imgen_queue_depth") == 0, "an empty queue")
    if not queued_behind_two:
        return False
    text = wait_for(lambda m: _metric(m, dropped) > dropped_before, "the small request counted 499", 10)
    assert _metric(text, dropped) - dropped_before == 1, text
    assert done(text) == ahead, "the small image ran although its client had hung up"
    return True


def test_a_client_that_hangs_up_while_queued_is_dropped_not_run(rng):
    """Big images run one at a time; a small one queued behind them hangs up and must never run.

    The client hangs up only once the test has seen its image queued with two big ones still ahead
    (one running, one waiting), so a whole big image's compute separates that sight from the
    hang-up.  When the big images all finish before the small one is seen queued (the test process
    starved on a shared machine), the attempt proves nothing and is repeated with twice as many
    big images ahead, at most 3 attempts."""
    proc, url = start("--max-batch", "1", "--max-delay-ms", "0")
    big = cv2.imencode(".png", rng.integers(0, 256, (768, 768), dtype=np.uint8))[1].tobytes()
    small = cv2.imencode(".png", rng.integers(0, 256, (64, 64), dtype=np.uint8))[1].tobytes()
    try:
        if not any(_hang_up_behind(url, ahead, big, small) for ahead in (3, 6, 12)):  # bounded: 21 big images
            pytest.fail("in 3 attempts the big images always finished before the small one was seen queued")
    finally:
        stop(proc)


def test_health_answers_within_50_ms_while_the_server_computes(rng):
    """Two sessions of bm3d keep both cores busy; the compute threads run at nice 19, so the event
    loop is scheduled first and /healthz answers within 50 ms: 36 of 40 probes (p90).  The few
    slower ones on a shared 2-core machine are other processes' work (the probing test waits for a
    core too); work on the event loop would hold most probes for the length of an image."""
    proc, url = start("--max-batch", "1", "--max-delay-ms", "0", "--sessions", "2")

    def depth() -> float:
        with urllib.request.urlopen(url + "/metrics", timeout=5) as r:
            line = next(x for x in r.read().decode().splitlines() if x.startswith("imgen_queue_depth "))
        return float(line.split()[1])

    try:
        body = cv2.imencode(".png", rng.integers(0, 256, (512, 512), dtype=np.uint8))[1].tobytes()
        statuses: list[int] = []

        def send() -> None:
            for _ in range(3):  # bounded: 3 images per sender
                req = urllib.request.Request(url + "/v1/models/bm3d?sigma=25", data=body, method="POST")
                with urllib.request.urlopen(req, timeout=300) as r:
                    r.read()
                    statuses.append(r.status)

        senders = [threading.Thread(target=send) for _ in range(4)]
        for t in senders:
            t.start()
        deadline = time.monotonic() + 60
        while depth() < 2:  # both sessions computing
            assert time.monotonic() < deadline, "the images never reached the sessions"
            time.sleep(0.02)
        lat = []
        for _ in range(40):  # bounded: 40 probes, 25 ms apart
            t0 = time.perf_counter()
            with urllib.request.urlopen(url + "/healthz", timeout=5) as r:
                assert r.status == 200
            lat.append(time.perf_counter() - t0)
            time.sleep(0.025)
        busy = depth()
        for t in senders:
            t.join(300)
        assert busy >= 1, "the work ended before the probes did: nothing measured under load"
        assert statuses == [200] * 12
        lat.sort()
        assert lat[35] < 0.05, f"/healthz took {', '.join(f'{x * 1e3:.0f}' for x in lat[-5:])} ms (the 5 slowest)"
    finally:
        stop(proc)
