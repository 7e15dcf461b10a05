from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

import imgen

REPO = Path(__file__).resolve().parent.parent


def shared_dir() -> Path:
    """../shared beside the repo, or $IMGEN_SHARED."""
    return Path(os.environ.get("IMGEN_SHARED", REPO.parent / "shared"))


@pytest.fixture
def shared() -> Path:
    path = shared_dir()
    if not (path / "data").is_dir():
        pytest.skip(f"research data not found at {path} (set IMGEN_SHARED to the shared folder)")
    return path


@pytest.fixture(autouse=True)
def _restore_threads():
    n = imgen.get_num_threads()
    yield
    imgen.set_num_threads(n)


@pytest.fixture
def rng():
    return np.random.default_rng(1234)
