"""python/imgen/_core.pyi matches the built C++ module (regenerate with tools/gen-stubs)."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

import imgen

STUB = Path(__file__).resolve().parent.parent / "python" / "imgen" / "_core.pyi"


def test_core_stubs_match_the_built_module(tmp_path):
    pytest.importorskip("pybind11_stubgen", reason="pybind11-stubgen is in the [dev] extra")
    package_root = str(Path(imgen.__file__).resolve().parent.parent)
    r = subprocess.run([sys.executable, "-m", "pybind11_stubgen", "imgen._core", "-o", str(tmp_path), "--exit-code"],
                       capture_output=True, text=True, env={"PYTHONPATH": package_root, "PATH": "/usr/bin:/bin"})
    assert r.returncode == 0, r.stderr
    generated = (tmp_path / "imgen" / "_core.pyi").read_text()
    assert STUB.exists(), "python/imgen/_core.pyi is missing: run tools/gen-stubs"
    assert STUB.read_text() == generated, "python/imgen/_core.pyi is out of date: run tools/gen-stubs"
