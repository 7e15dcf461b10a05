"""The baseline (SSE2) and AVX2 kernels give the same answers (IMGEN_DISABLE_AVX2=1 forces baseline)."""
from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest

from imgen import _core

SCRIPT = r"""
import sys, numpy as np, imgen
from imgen import _core, metrics
rng = np.random.default_rng(7)
img8 = rng.integers(0, 256, (67, 91, 3), dtype=np.uint8)
img16 = rng.integers(0, 65536, (33, 45, 4), dtype=np.uint16)
f = rng.random((40, 41), dtype=np.float32)
t = rng.normal(0.5, 0.6, (2, 3, 19, 23)).astype(np.float32)
out = {
    "level": np.array(_core.simd_level()),
    "tt8": imgen.to_tensor(img8, swap_rb=True, mean=[0.1, 0.2, 0.3], std=[0.5, 0.6, 0.7]),
    "tt16h": imgen.to_tensor(img16, dtype="float16"),
    "ttf": imgen.to_tensor(f, regions=[(-5, -3, 50, 52)]),
    "ft8": imgen.from_tensor(t), "ft16": imgen.from_tensor(t, dtype="uint16"),
    "ftf": imgen.from_tensor(t.astype(np.float16), dtype="float32", clamp=True),
    "ssim": np.array([metrics.ssim(img8, img8[::-1].copy()), metrics.ssim(f, f[::-1, ::-1].copy())]),
    "psnr": np.array([metrics.psnr(img16, img16[::-1].copy())]),
}
g = imgen.plan_tiles(67, 91, tile=32, overlap=12)
m = imgen.TileMerger(67, 91, 3, g.row_starts, g.col_starts, g.tile_height, g.tile_width, 12, dtype="float32")
tiles = imgen.to_tensor(img8, regions=g.regions(), dtype="float16")
tiles = tiles + rng.normal(0, 0.01, tiles.shape).astype(np.float16)  # tiles that disagree
m.add(tiles, list(range(len(g))))
out["merge"] = m.finish()
np.savez(sys.argv[1], **out)
"""


def _run(tmp_path, name, disable):
    env = dict(os.environ)
    env.pop("IMGEN_DISABLE_AVX2", None)
    if disable:
        env["IMGEN_DISABLE_AVX2"] = "1"
    path = tmp_path / f"{name}.npz"
    subprocess.run([sys.executable, "-c", SCRIPT, str(path)], check=True, env=env)
    return np.load(path)


@pytest.mark.skipif(_core.simd_level() != "avx2", reason="this CPU has no AVX2: only the baseline path exists")
def test_baseline_and_avx2_agree(tmp_path):
    avx2 = _run(tmp_path, "avx2", False)
    base = _run(tmp_path, "base", True)
    assert str(avx2["level"]) == "avx2" and str(base["level"]) == "baseline"
    for key in avx2.files:
        if key == "level":
            continue
        if key == "merge":  # FMA contraction in the blend may move the last bit
            np.testing.assert_allclose(base[key], avx2[key], rtol=1e-6, atol=1e-6, err_msg=key)
        elif key in ("ssim", "psnr"):
            np.testing.assert_allclose(base[key], avx2[key], rtol=1e-12, err_msg=key)
        elif key.startswith("tt"):  # FMA contraction may move the last bit
            np.testing.assert_allclose(base[key].astype(np.float32), avx2[key].astype(np.float32),
                                       rtol=2e-7, atol=1e-7, err_msg=key)
        else:
            np.testing.assert_array_equal(base[key], avx2[key], err_msg=key)
