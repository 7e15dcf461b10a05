"""`imgen serve` as a process: SIGTERM drains the request in flight, then exits 0."""
from __future__ import annotations

import signal
import threading
import time
import urllib.request

import cv2
import numpy as np
import pytest

pytest.importorskip("uvicorn")
from serve_process import start, stop  # noqa: E402


def test_sigterm_drains_in_flight_request_and_exits_0(rng):
    proc, url = start("--max-delay-ms", "0", "--grace", "60")
    try:
        img = rng.integers(0, 256, (384, 384), dtype=np.uint8)
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
                if "imgen_queue_depth 1.0" in r.read().decode():
                    break
            time.sleep(0.02)
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
    finally:
        stop(proc)


def test_empty_token_file_and_bad_model_are_one_error(tmp_path, capsys):
    from imgen.cli import main

    empty = tmp_path / "token"
    empty.write_text("\n")
    assert main(["serve", "--token-file", str(empty)]) == 1
    assert "the token file is empty" in capsys.readouterr().err
    assert main(["serve", str(tmp_path / "missing.onnx")]) == 1
    assert "missing.onnx" in capsys.readouterr().err
