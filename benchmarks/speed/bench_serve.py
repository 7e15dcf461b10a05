"""Load benchmark and soak for `imgen serve` (loopback only, bounded in time).

    PYTHONPATH=python:export python benchmarks/speed/bench_serve.py load --seconds 8
    PYTHONPATH=python:export python benchmarks/speed/bench_serve.py soak --seconds 120

load: 1, 8 and 32 concurrent clients (keep-alive connections) POST 256x256 gray uint8 PNGs to the
shipped denoise-gray (sigma 25) with dynamic batching on (--max-batch 8 --max-delay-ms 5) and off
(--max-batch 1 --max-delay-ms 0); and in-process `model(image)` one at a time and 8 at once.
Prints throughput (images/s) and p50/p99 latency (ms).
soak: mixed requests (valid, corrupt, over the pixel limit, unknown model) for --seconds; prints
status counts, the server's RSS after warm-up and at the end, and whether it is still alive.
abuse (#30): for --seconds, on 127.0.0.1 only and bounded in connections: 2 valid clients (256x256
gray PNGs to denoise-gray), 40 slowloris connections (headers never finished) and 6 slow bodies,
2 clients sending huge-but-legal uploads (4000x4000 zero PNGs to wavelet, ~300 MB of working memory
each, against --memory-budget 768M), 2 callers that give up after 0.3 s on 1200x1200 bm3d requests,
and a garbage client (random bytes, truncated PNGs, tile=², a 40000x40000x3 .npy header); a prober
GETs /healthz every 50 ms.  Prints p50/p99 of the valid requests, /healthz p99 and worst, the
server's RSS idle, at its peak and 5 s after the queue emptied, and counts per status code per client.
"""
from __future__ import annotations

import argparse
import http.client
import json
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

ROOT = Path(__file__).resolve().parents[2]
MODEL = "denoise-gray"


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(*extra: str) -> tuple[subprocess.Popen, int]:
    port = _port()
    env = dict(os.environ, PYTHONPATH=f"{ROOT / 'python'}{os.pathsep}{ROOT / 'export'}")
    proc = subprocess.Popen([sys.executable, "-m", "imgen", "serve", MODEL, "--port", str(port), "--no-access-log", *extra],
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


def _npy_header(shape) -> bytes:
    header = repr({"descr": "|u1", "fortran_order": False, "shape": shape}).encode()
    header += b" " * ((64 - (10 + len(header) + 1) % 64) % 64) + b"\n"
    return b"\x93NUMPY\x01\x00" + len(header).to_bytes(2, "little") + header


def run_abuse(seconds: float, without: tuple[str, ...] = ()) -> None:
    import random
    import socket

    args = ("--timeout", "5", "--max-queue", "8", "--read-timeout", "2", "--header-timeout", "2",
            "--max-uploads", "8", "--memory-budget", "768M", "--max-pixels", "2e7")
    proc, port = start_server(*args)
    stop_at = time.monotonic() + seconds
    lock = threading.Lock()
    counts: dict[str, dict[str, int]] = {}
    valid_lat: list[float] = []
    rss: list[int] = []

    def count(who: str, status) -> None:
        with lock:
            counts.setdefault(who, {})
            counts[who][str(status)] = counts[who].get(str(status), 0) + 1

    def post(path: str, body: bytes, timeout: float = 60.0) -> int:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
        try:
            conn.request("POST", path, body=body)
            r = conn.getresponse()
            r.read()
            return r.status
        finally:
            conn.close()

    imgs = images(4)
    valid = [cv2.imencode(".png", im)[1].tobytes() for im in imgs]
    huge = cv2.imencode(".png", np.zeros((4000, 4000), np.uint8))[1].tobytes()
    slow_bm3d = cv2.imencode(".png", cv2.resize(imgs[0], (1200, 1200)))[1].tobytes()
    garbage = [(f"/v1/models/{MODEL}", bytes(random.Random(1).randbytes(5000))),
               (f"/v1/models/{MODEL}", valid[0][:300]), (f"/v1/models/{MODEL}?tile=%C2%B2", valid[0]),
               (f"/v1/models/{MODEL}", _npy_header((40000, 40000, 3)))]

    def valid_client(k: int) -> None:
        i = k
        while time.monotonic() < stop_at:
            t = time.perf_counter()
            try:
                status = post(f"/v1/models/{MODEL}?sigma=25", valid[i % len(valid)])
            except OSError as e:
                status = type(e).__name__
            count("valid", status)
            if status == 200:
                with lock:
                    valid_lat.append(time.perf_counter() - t)
            i += 1

    def huge_client() -> None:
        while time.monotonic() < stop_at:
            try:
                status = post("/v1/models/wavelet?sigma=25", huge)
            except OSError as e:
                status = type(e).__name__
            count("huge", status)
            if status == 503:
                time.sleep(0.5)

    def impatient_client() -> None:
        while time.monotonic() < stop_at:
            try:
                status = post("/v1/models/bm3d?sigma=25", slow_bm3d, timeout=0.3)
            except OSError as e:  # gave up: the socket closes, the server should drop or finish the image
                status = "gave up"
            count("impatient", status)

    def garbage_client() -> None:
        i = 0
        while time.monotonic() < stop_at:
            path, body = garbage[i % len(garbage)]
            try:
                status = post(path, body)
            except OSError as e:
                status = type(e).__name__
            count("garbage", status)
            i += 1
            time.sleep(0.05)

    def slowloris() -> None:
        socks: list[socket.socket] = []
        while time.monotonic() < stop_at:
            while len(socks) < 40:
                s = socket.create_connection(("127.0.0.1", port), timeout=5)
                s.sendall(b"POST /v1/models/wavelet HTTP/1.1\r\nHost: x\r\n")
                socks.append(s)
            for s in list(socks):
                s.setblocking(False)
                try:
                    if s.recv(4096) == b"":
                        raise ConnectionResetError
                    count("slowloris", "closed by server")
                    s.close()
                    socks.remove(s)
                except BlockingIOError:
                    pass
                except OSError:
                    count("slowloris", "closed by server")
                    s.close()
                    socks.remove(s)
            time.sleep(0.2)
        for s in socks:
            s.close()

    def slow_body() -> None:
        while time.monotonic() < stop_at:
            s = socket.create_connection(("127.0.0.1", port), timeout=10)
            try:
                s.sendall(b"POST /v1/models/wavelet HTTP/1.1\r\nHost: x\r\nContent-Length: 60000000\r\n\r\n")
                s.sendall(b"\0" * 65536)
                reply = s.recv(200)
                count("slow body", reply.split(b" ")[1].decode() if reply else "closed")
            except OSError as e:
                count("slow body", type(e).__name__)
            finally:
                s.close()

    prober_code = (  # its own process, so the clients' threads here do not delay its timing
        "import http.client, json, sys, time\n"
        "port, until, lat = int(sys.argv[1]), time.monotonic() + float(sys.argv[2]), []\n"
        "while time.monotonic() < until:\n"
        "    t = time.perf_counter()\n"
        "    c = http.client.HTTPConnection('127.0.0.1', port, timeout=10)\n"
        "    c.request('GET', '/healthz'); c.getresponse().read(); c.close()\n"
        "    lat.append(time.perf_counter() - t); time.sleep(0.05)\n"
        "print(json.dumps(lat))\n")

    def sampler() -> None:
        while time.monotonic() < stop_at + 1:
            rss.append(rss_kib(proc.pid))
            time.sleep(0.1)

    try:
        load(port, 1, 3.0, [(f"/v1/models/{MODEL}?sigma=25", b) for b in valid])  # warm-up
        idle = rss_kib(proc.pid)
        kinds = {"valid": [valid_client, valid_client], "huge": [huge_client] * 2,
                 "impatient": [impatient_client] * 2, "garbage": [garbage_client], "slowloris": [slowloris],
                 "slow-body": [slow_body] * 6}
        threads = [threading.Thread(target=sampler)]
        for kind, targets in kinds.items():
            if kind not in without:
                threads += [threading.Thread(target=f, args=(k,) if f is valid_client else ())
                            for k, f in enumerate(targets)]
        prober = subprocess.Popen([sys.executable, "-c", prober_code, str(port), str(seconds)], stdout=subprocess.PIPE)
        for t in threads:
            t.start()
        health_lat = json.loads(prober.communicate(timeout=seconds + 120)[0])
        for t in threads:
            t.join(seconds + 120)
        drained = time.monotonic()
        for _ in range(600):  # until the work of timed-out callers has ended too (at most 60 s)
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            conn.request("GET", "/metrics")
            metrics = conn.getresponse().read().decode()
            conn.close()
            if "imgen_queue_depth 0.0" in metrics:
                break
            time.sleep(0.1)
        drained = time.monotonic() - drained
        time.sleep(5)
        after = rss_kib(proc.pid)
        five = sum(float(line.rsplit(" ", 1)[1]) for line in metrics.splitlines()
                   if line.startswith("imgen_requests_total") and 'status="500"' in line)
        v = np.array(valid_lat) * 1e3
        h = np.array(health_lat) * 1e3
        print(f"abuse {seconds:.0f} s, server {' '.join(args)}" + (f", without {', '.join(without)}" if without else ""))
        print(f"valid requests: {len(v)} answered 200, p50 {np.percentile(v, 50):.0f} ms, p99 {np.percentile(v, 99):.0f} ms"
              if len(v) else "valid requests: none answered 200")
        print(f"/healthz: {len(h)} probes, p50 {np.percentile(h, 50):.1f} ms, p99 {np.percentile(h, 99):.1f} ms, "
              f"worst {h.max():.1f} ms")
        print(f"server RSS: idle {idle / 1024:.0f} MiB, peak {max(rss) / 1024:.0f} MiB, 5 s after the queue "
              f"emptied ({drained:.1f} s after the burst) {after / 1024:.0f} MiB; 500s counted by the server: "
              f"{five:.0f}")
        for who, st in sorted(counts.items()):
            print(f"  {who}: {dict(sorted(st.items()))}")
        print(f"alive: {proc.poll() is None}")
    finally:
        print(f"exit status after SIGTERM: {stop_server(proc)}")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("what", choices=("load", "soak", "abuse"))
    p.add_argument("--seconds", type=float, default=8.0)
    p.add_argument("--without", nargs="*", default=[], metavar="CLIENT",
                   help="abuse: leave out these clients (valid huge impatient garbage slowloris slow-body)")
    args = p.parse_args()
    if args.what == "abuse":
        run_abuse(args.seconds, tuple(args.without))
    else:
        (run_load if args.what == "load" else run_soak)(args.seconds)


if __name__ == "__main__":
    main()
