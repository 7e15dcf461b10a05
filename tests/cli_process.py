"""The CLI in a subprocess, slowed down and stopped with SIGTERM part-way (for the signal tests)."""
from __future__ import annotations

import subprocess
import sys

SLOW_CLI = """
import sys, time
from imgen import processors
from imgen.cli import main
real = processors.FrameProcessor.__call__

def slow(self, frames):
    time.sleep(float(sys.argv[1]))
    out = real(self, frames)
    with open(sys.argv[2], "a") as f:
        f.write(f"{len(frames)}\\n")
    return out

processors.FrameProcessor.__call__ = slow
sys.exit(main(sys.argv[3:]))
"""


def sigterm_after(args: list[str], frames: int, progress, *, delay: float = 0.2, timeout: float = 120):
    """Run the CLI in a subprocess, its processor slowed by ``delay`` s per call and counting the
    frames it has done in the file ``progress``; send SIGTERM once that reaches ``frames``.
    Returns (exit status, stderr)."""
    import os
    import signal
    import time
    from pathlib import Path

    import imgen

    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(Path(imgen.__file__).resolve().parent.parent),
                                                       os.environ.get("PYTHONPATH", "")]))
    def ready():
        return progress.exists() and sum(map(int, progress.read_text().split())) >= frames

    proc = subprocess.Popen([sys.executable, "-c", SLOW_CLI, str(delay), str(progress)] + args, stderr=subprocess.PIPE,
                            stdout=subprocess.DEVNULL, text=True, env=env)
    try:
        deadline = time.monotonic() + timeout
        while not ready():
            assert proc.poll() is None, f"finished before it could be stopped: {proc.stderr.read()}"
            assert time.monotonic() < deadline, "never got going"
            time.sleep(0.02)
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=timeout)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    return proc.returncode, err
