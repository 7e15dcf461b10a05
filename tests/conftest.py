from __future__ import annotations

import os
from pathlib import Path

# Before torch loads libgomp: its idle threads sleep instead of spinning.  With a spinning thread
# per core, a 2-core machine with one other busy process ran tests/test_gan_quality.py's 150 small
# training steps in 45-55 s instead of 3-4 s (torch's threads wait on each other's time slices).
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

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


@pytest.fixture(scope="session")
def clips(tmp_path_factory):
    """Three short clips made with PyAV (tests/video_clips.py), shared by the video tests, which
    only read them: "mp4" (20 frames, AAC), "vfr" (18 frames at a variable rate, with subtitles,
    Matroska) and "long" (30 frames of 128x96).  Skips without PyAV."""
    pytest.importorskip("av")
    import video_clips as vc

    root = tmp_path_factory.mktemp("clips")
    return {
        "mp4": vc.make_clip(root / "cfr.mp4", frames=20),
        "vfr": vc.make_clip(root / "vfr.mkv", frames=18, vfr=True, subtitles=True),
        "long": vc.make_clip(root / "long.mp4", frames=30, width=128, height=96),
    }


@pytest.fixture(scope="session")
def ray_cluster():
    """A local 2-CPU Ray instance shared by every test that asks for it, shut down at the end of
    the session (starting one costs about 10 s here; skips without Ray).

    Workers import imgen from where this process does and the tests' helpers from tests/.
    """
    ray = pytest.importorskip("ray")
    import logging

    assert not ray.is_initialized(), "a Ray runtime is already running in the test process"
    paths = [str(Path(imgen.__file__).resolve().parent.parent), str(REPO / "tests")]
    ray.init(num_cpus=2, include_dashboard=False, logging_level=logging.WARNING,
             runtime_env={"env_vars": {"PYTHONPATH": os.pathsep.join(paths)}})
    try:
        yield ray
    finally:
        ray.shutdown()
