"""Start `imgen serve` as a subprocess on a free local port, for the serve and client tests."""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path



def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(*args: str, timeout: float = 60.0) -> tuple[subprocess.Popen, str]:
    """(process, base URL) once /readyz answers 200."""
    port = free_port()
    # The imgen this test imported (the checkout's in a dev build, the installed one in CI: the
    # checkout's python/ has no built _core there), ahead of whatever else is on the path.
    import imgen

    here = str(Path(imgen.__file__).resolve().parent.parent)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([here, os.environ.get("PYTHONPATH", "")]))
    log = tempfile.TemporaryFile()
    proc = subprocess.Popen([sys.executable, "-m", "imgen", "serve", *args, "--port", str(port)], env=env,
                            stdout=subprocess.DEVNULL, stderr=log)
    proc.log = log
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            log.seek(0)
            message = log.read().decode()
            log.close()
            raise RuntimeError(f"imgen serve exited {proc.returncode}: {message}")
        try:
            with urllib.request.urlopen(url + "/readyz", timeout=1) as r:
                if r.status == 200:
                    return proc, url
        except OSError:
            time.sleep(0.1)
    stop(proc)
    raise RuntimeError("imgen serve did not become ready")


def stop(proc: subprocess.Popen) -> None:
    """Kill the server if it still runs; close its log."""
    if proc.poll() is None:
        proc.kill()
        proc.wait()
    proc.log.close()
