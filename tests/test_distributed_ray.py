"""distributed/_ray.py: connecting to Ray under an address-space limit (``ulimit -v``): a clear
error before Ray starts when the limit is too low, and a local instance's object store sized to
fit under it (Ray's default, 30% of the memory, cannot be mapped there)."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

import imgen
from imgen.distributed import _ray
from imgen.errors import ImgenError


def test_too_little_address_space_is_refused_before_ray_starts(monkeypatch):
    import imgen._limits

    for limit in (None, _ray.MIN_ADDRESS_SPACE):
        monkeypatch.setattr(imgen._limits, "address_space_limit", lambda: limit)
        _ray._check_address_space(local=True)
    monkeypatch.setattr(imgen._limits, "address_space_limit", lambda: 1_000_000 * 1024)
    with pytest.raises(ImgenError, match=r"^--ray \(this process \(Ray's driver\)\) needs at least 2883584 KiB of "
                                         r"address space, but ulimit -v allows 1000000 KiB: .*or run without --ray$"):
        _ray._check_address_space(local=False)


def test_local_object_store_fits_under_the_limit():
    ray_default = int(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") * 0.3)
    assert _ray._local_store(None) == {}
    assert _ray._local_store(3_000_000 * 1024) == {"object_store_memory": min(750_000 * 1024, ray_default)}
    assert _ray._local_store(64 * 2**30) == {"object_store_memory": min(2 * 2**30, ray_default)}
    assert _ray._local_store(100 * 2**20) == {"object_store_memory": 80 * 2**20}  # Ray's minimum


@pytest.mark.skipif(sys.platform != "linux", reason="ulimit -v through bash")
def test_cli_under_ulimit_says_so_in_one_line(tmp_path):
    pytest.importorskip("ray")
    assert cv2.imwrite(str(tmp_path / "a.png"), np.zeros((8, 8), np.uint8))
    env = dict(os.environ, PYTHONPATH=str(Path(imgen.__file__).resolve().parent.parent))
    env.pop("RAY_ADDRESS", None)
    cmd = (f"ulimit -v 2000000; exec {sys.executable} -m imgen denoise {tmp_path / 'a.png'} -o {tmp_path / 'o'} "
           f"--method wavelet --ray -q")
    r = subprocess.run(["bash", "-c", cmd], env=env, capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert r.returncode == 1
    assert r.stderr.splitlines() == ["imgen: error: --ray (this process and the Ray processes it starts) needs at "
                                     "least 2883584 KiB of address space, but ulimit -v allows 2000000 KiB: raise "
                                     "it (ulimit -v 2883584 or unlimited), or run without --ray"], r.stderr
    assert not (tmp_path / "o").exists()
