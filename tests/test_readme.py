"""The README's set-up commands stay true: CI runs the README's test command."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


def _setup_commands() -> list[str]:
    readme = (REPO / "README.md").read_text()
    setup = readme.split("## Set up", 1)[1].split("\n## ", 1)[0]
    return [c.strip() for c in re.findall(r"```(?:bash|sh)\n(.*?)\n```", setup, re.S)]


def test_readme_has_exactly_two_setup_commands():
    assert len(_setup_commands()) == 2


def test_ci_runs_the_readme_test_command():
    ci = REPO / ".ci" / "run"
    if not ci.exists():
        pytest.skip("no .ci/run in this checkout")
    lines = ci.read_text().splitlines()
    ci_command = lines[lines.index("# README test command:") + 1].strip()
    assert _setup_commands()[1].endswith(ci_command), (
        f"README's test command must end with CI's {ci_command!r}")
