"""ruff and mypy as pyproject.toml configures them (#31): the configuration names real modules and
bug-finding rule sets, and -- where ruff is installed (.ci/run's lint step installs it) -- ruff passes.
mypy itself runs only in .ci/run's lint step (``mypy`` in the repository root does the same): here it
took half a minute of the suite, and CI's test step, which runs before the lint tools are installed,
skipped it anyway."""
from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
TARGETS = ["python/imgen", "export/imgen_train", "tools/gpu-check"]


def config() -> dict:
    if sys.version_info >= (3, 11):
        import tomllib
    else:
        tomllib = pytest.importorskip("tomli")
    return tomllib.loads((REPO / "pyproject.toml").read_text())


def test_ruff_selects_bug_classes_not_layout():
    lint = config()["tool"]["ruff"]["lint"]
    assert {"F", "E9", "E7", "B", "PLE"} <= set(lint["select"])
    assert "I" not in lint["select"] and "E501" not in lint["select"] and "W" not in lint["select"]


def test_mypy_exclusions_name_modules_that_exist():
    mypy = config()["tool"]["mypy"]
    assert mypy["files"] == ["python/imgen", "export/imgen_train"]
    (override,) = [o for o in mypy["overrides"] if o.get("ignore_errors")]
    missing = []
    for module in override["module"]:
        parts = module.split(".")
        root = REPO / ("python" if parts[0] == "imgen" else "export")
        base = root.joinpath(*parts)
        if not (base.with_suffix(".py").is_file() or (base / "__init__.py").is_file()):
            missing.append(module)
    assert not missing, f"mypy overrides name modules that are gone (delete their lines): {missing}"
    assert len(override["module"]) == len(set(override["module"]))


def test_ruff_passes():
    ruff = shutil.which("ruff")
    if ruff is None:
        pytest.skip("ruff is not installed (.ci/run's lint step installs it)")
    p = subprocess.run([ruff, "check", *TARGETS], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stdout + p.stderr

