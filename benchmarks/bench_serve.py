"""Load benchmark and soak for `imgen serve` (loopback only, bounded in time).

    PYTHONPATH=python:export python benchmarks/bench_serve.py load --seconds 8
    PYTHONPATH=python:export python benchmarks/bench_serve.py soak --seconds 120

load: 1, 8 and 32 concurrent clients (keep-alive connections) POST 256x256 gray uint8 PNGs to the
shipped denoise-gray (sigma 25) with dynamic batching on (--max-batch 8 --max-delay-ms 5) and off
(--max-batch 1 --max-delay-ms 0); and in-process `model(image)` one at a time and 8 at once.
Prints throughput (images/s) and p50/p99 latency (ms).
soak: mixed requests (valid, corrupt, over the pixel limit, unknown model) for --seconds; prints
status counts, the server's RSS after warm-up and at the end, and whether it is still alive.
"""
from __future__ import annotations

import argparse
import http.client
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
MODEL = "denoise-gray"


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(*extra: str) -> tuple[subprocess.Popen, int]:
    port = _port()
    env = dict(os.environ, PYTHONPATH=f"{ROOT / 'python'}{os.pathsep}{ROOT / 'export'}")
    proc = subprocess.Popen([sys.executable, "-m", "imgen", "serve", MODEL, "--port", str(port), *extra],
                            env=env, stdout=subprocess.DEVNULL)
    for _ in range(600):
        try:
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            c.request("GET", "/readyz")
            if c.getresponse().status == 200:
                return proc, port
        except OSError:
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError("server did not start")


def stop_server(proc: subprocess.Popen) -> int:
    proc.send_signal(signal.SIGTERM)
    return proc.wait(60)


def load(port: int, clients: int, seconds: float, bodies: list[tuple[str, bytes]]) -> tuple[list[float], dict]:
    """Each client sends its next body until ``seconds`` pass; (latencies of 200s, status counts)."""
    stop = time.monotonic() + seconds
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    lock = threading.Lock()

    def client(k: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        i = k
        while time.monotonic() < stop:
            path, body = bodies[i % len(bodies)]
            i += clients
            t = time.perf_counter()
            conn.request("POST", path, body=body)
            r = conn.getresponse()
            r.read()
            dt = time.perf_counter() - t
            with lock:
                statuses[r.status] = statuses.get(r.status, 0) + 1
                if r.status == 200:
                    latencies.append(dt)
        conn.close()

    threads = [threading.Thread(target=client, args=(k,)) for k in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return latencies, statuses


def images(n: int = 16) -> list[np.ndarray]:
    rng = np.random.default_rng(0)
    base = cv2.GaussianBlur(rng.integers(0, 256, (256, 256), dtype=np.uint8), (0, 0), 3)
    return [np.clip(base + rng.normal(0, 25, base.shape), 0, 255).astype(np.uint8) for _ in range(n)]


def row(label: str, latencies: list[float], seconds: float) -> str:
    lat = np.array(latencies) * 1e3
    return (f"| {label} | {len(lat) / seconds:.1f} | {np.percentile(lat, 50):.0f} | {np.percentile(lat, 99):.0f} |")


def run_load(seconds: float) -> None:
    imgs = images()
    bodies = [(f"/v1/models/{MODEL}?sigma=25", cv2.imencode(".png", im)[1].tobytes()) for im in imgs]
    print("| setup | images/s | p50 ms | p99 ms |\n| --- | --- | --- | --- |")
    for mode, extra in (("batching on (max 8, 5 ms)", ("--max-batch", "8", "--max-delay-ms", "5")),
                        ("batching off", ("--max-batch", "1", "--max-delay-ms", "0"))):
        proc, port = start_server(*extra)
        try:
            load(port, 2, 1.0, bodies)  # warm-up
            for clients in (1, 8, 32):
                lat, st = load(port, clients, seconds, bodies)
                print(row(f"HTTP, {mode}, {clients} clients", lat, seconds) + ("" if set(st) == {200} else f" {st}"),
                      flush=True)
        finally:
            stop_server(proc)
    import imgen

    model = imgen.load(MODEL, providers=["cpu"])
    model(imgs[0], sigma=25 / 255)
    for batch in (1, 8):
        lat, stop, i = [], time.monotonic() + seconds, 0
        while time.monotonic() < stop:
            group = [imgs[(i + j) % len(imgs)] for j in range(batch)]
            t = time.perf_counter()
            model(group, sigma=25 / 255)
            lat += [time.perf_counter() - t] * batch
            i += batch
        print(row(f"in-process model(list of {batch})", lat, seconds), flush=True)


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return -1


def run_soak(seconds: float) -> None:
    imgs = images(4)
    good = [(f"/v1/models/{MODEL}?sigma=25", cv2.imencode(".png", im)[1].tobytes()) for im in imgs]
    corrupt = (f"/v1/models/{MODEL}", cv2.imencode(".png", imgs[0])[1].tobytes()[:300])
    huge = (f"/v1/models/{MODEL}", cv2.imencode(".png", np.zeros((3000, 3000), np.uint8))[1].tobytes())
    unknown = ("/v1/models/nope", good[0][1])
    mix = good + [corrupt, huge, unknown, (f"/v1/models/{MODEL}?sigma=999", good[0][1])]
    proc, port = start_server("--max-pixels", "1000000")
    try:
        load(port, 4, 10.0, mix)
        before = rss_kib(proc.pid)
        lat, st = load(port, 4, seconds, mix)
        after = rss_kib(proc.pid)
        alive = proc.poll() is None
        print(f"soak {seconds:.0f} s, 4 clients: statuses {dict(sorted(st.items()))}; RSS after 10 s warm-up "
              f"{before / 1024:.0f} MiB, at the end {after / 1024:.0f} MiB; alive: {alive}")
    finally:
        print(f"exit status after SIGTERM: {stop_server(proc)}")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("what", choices=("load", "soak"))
    p.add_argument("--seconds", type=float, default=8.0)
    args = p.parse_args()
    (run_load if args.what == "load" else run_soak)(args.seconds)


if __name__ == "__main__":
    main()
