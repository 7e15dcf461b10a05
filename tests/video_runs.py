"""Helpers for the video tests: a pass-through processor, and the temporary files a run left."""
from __future__ import annotations

from pathlib import Path


def identity(frames):
    return [f.copy() for f in frames]


def leftovers(folder: Path) -> list[str]:
    """Temporary files a run left behind (they start with a dot)."""
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("."))


def kill_after(args: list[str], frames: int, progress: Path, *, delay: float = 0.15, timeout: float = 120) -> int:
    """Run the CLI in a subprocess, its processor slowed by ``delay`` s per call and counting the
    frames it has done in ``progress`` (tests/cli_process.py's SLOW_CLI), and kill it with SIGKILL
    -- no clean-up of any kind -- once that reaches ``frames``.  Returns the frames done by then."""
    import os
    import signal
    import subprocess
    import sys
    import time

    import imgen
    from cli_process import SLOW_CLI

    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(Path(imgen.__file__).resolve().parent.parent),
                                                       os.environ.get("PYTHONPATH", "")]))

    def done() -> int:
        return sum(map(int, progress.read_text().split())) if progress.exists() else 0

    proc = subprocess.Popen([sys.executable, "-c", SLOW_CLI, str(delay), str(progress)] + args,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=env)
    try:
        deadline = time.monotonic() + timeout
        while done() < frames:
            assert proc.poll() is None, f"finished before it could be killed: {proc.stderr.read()}"
            assert time.monotonic() < deadline, "never got going"
            time.sleep(0.02)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=timeout)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        proc.stderr.close()
    assert proc.returncode == -signal.SIGKILL
    return done()
