"""Run a snippet in a fresh interpreter, so that a crash or a hang fails one test instead of
killing (or stalling) the whole pytest process.

The child imports the same imgen as this process (the source tree or an installed wheel), as
tests/test_video.py does for its no-PyAV run.
"""
from __future__ import annotations

import os
import resource
import subprocess
import sys
from pathlib import Path

import pytest

import imgen

# A child that runs python, numpy and imgen needs about 200 MB of address space.
GiB = 1 << 30


# Peak resident memory of the child since its exec, in bytes.  Not ru_maxrss: Linux carries the
# forking process's high-water mark across fork and exec, so a child of a 600 MB pytest would
# report 600 MB before it did anything.  VmHWM belongs to the child's own address space.
PEAK_RSS = ("def peak_rss():\n"
            "    for line in open('/proc/self/status'):\n"
            "        if line.startswith('VmHWM:'):\n"
            "            return int(line.split()[1]) * 1024\n")


def run_python(code: str, *, memory_limit: int | None = None, timeout: float = 60) -> subprocess.CompletedProcess:
    """Runs `code` with `python -c`, its address space limited to `memory_limit` bytes if given."""
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(Path(imgen.__file__).resolve().parent.parent),
                                                       os.environ.get("PYTHONPATH", "")]))

    def limit() -> None:
        if memory_limit is not None:
            resource.setrlimit(resource.RLIMIT_AS, (memory_limit, memory_limit))

    try:
        return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                              timeout=timeout, preexec_fn=limit)
    except subprocess.TimeoutExpired:
        pytest.fail(f"the snippet hung (still running after {timeout} s; killed):\n{code}")


def outcome(setup: str, expr: str, **kwargs) -> str:
    """Runs `setup`, then `expr`, in a child; returns 'ExcType: message' for the exception `expr`
    raised, or 'returned: repr'.  Fails the test when the child does not exit cleanly (a signal
    such as SIGSEGV shows as a negative exit code)."""
    code = (f"{setup}\n"
            f"try:\n    _r = {expr}\n"
            f"except BaseException as _e:\n    print(f'{{type(_e).__name__}}: {{_e}}')\n"
            f"else:\n    print(f'returned: {{_r!r}}')\n")
    res = run_python(code, **kwargs)
    assert res.returncode == 0, (f"the child exited with {res.returncode} (negative: killed by that "
                                 f"signal)\nstdout: {res.stdout[-2000:]}\nstderr: {res.stderr[-2000:]}")
    return res.stdout.strip()
