"""imgen/_limits.py: under a tiny ``ulimit -v`` imgen refuses with one line instead of crashing
while its libraries load (OpenCV segfaults, uvloop aborts): checked in real processes."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

import imgen
from imgen._limits import MIN_COMMAND, MIN_SERVE, address_space_limit, require_address_space
from imgen.errors import ImgenError

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="ulimit -v through bash")


def imgen_under(limit_kib: int, *args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(Path(imgen.__file__).resolve().parent.parent))
    cmd = f"ulimit -v {limit_kib}; exec {sys.executable} -m imgen {' '.join(args)}"
    return subprocess.run(["bash", "-c", cmd], env=env, capture_output=True, text=True, timeout=120)


def test_limit_is_read_and_checked(monkeypatch):
    assert address_space_limit() is None or address_space_limit() > 0
    import imgen._limits as limits

    monkeypatch.setattr(limits, "address_space_limit", lambda: 100 * 2**20)
    with pytest.raises(ImgenError, match=r"^imgen serve needs at least 1048576 KiB of address space, but ulimit -v "
                                         r"allows 102400 KiB: raise it \(ulimit -v 1048576 or unlimited\)$"):
        require_address_space(MIN_SERVE, "imgen serve")
    monkeypatch.setattr(limits, "address_space_limit", lambda: MIN_SERVE)
    require_address_space(MIN_SERVE, "imgen serve")


def test_a_tiny_limit_is_one_line_not_a_crash():
    r = imgen_under(500_000, "--help")  # OpenCV's import segfaulted here
    assert r.returncode == 1
    assert r.stderr.splitlines() == [f"imgen: error: imgen needs at least {MIN_COMMAND // 1024} KiB of address space, "
                                     f"but ulimit -v allows 500000 KiB: raise it (ulimit -v {MIN_COMMAND // 1024} or "
                                     f"unlimited)"], r.stderr


def test_serve_under_its_floor_is_one_line_not_an_abort():
    pytest.importorskip("uvicorn")
    r = imgen_under(700_000, "serve", "denoise-gray", "--port", "0")  # uvloop aborted around here
    assert r.returncode == 1
    assert r.stderr.splitlines() == [f"imgen: error: imgen serve needs at least {MIN_SERVE // 1024} KiB of address "
                                     f"space, but ulimit -v allows 700000 KiB: raise it (ulimit -v "
                                     f"{MIN_SERVE // 1024} or unlimited)"], r.stderr
