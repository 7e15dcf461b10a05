"""``imgen bench --task inpaint`` (python/imgen/bench/inpaint.py): seeded masks in their coverage
bands, scores over the holes, the task in the bench's table end to end on small images."""
from __future__ import annotations

import numpy as np
import pytest

from imgen.bench import run
from imgen.bench.inpaint import LEVELS, bench_mask, hole_psnr, hole_ssim
from imgen.bench.samples import Sample


@pytest.mark.parametrize("level", list(LEVELS))
def test_masks_are_seeded_and_inside_their_band(level):
    _, low, high = LEVELS[level]
    for shape in ((64, 80), (256, 256), (321, 481)):
        m = bench_mask(shape, level, seed=0, name="a")
        assert m.dtype == bool and m.shape == shape and low <= m.mean() <= high
        np.testing.assert_array_equal(m, bench_mask(shape, level, seed=0, name="a"))
        assert not np.array_equal(m, bench_mask(shape, level, seed=1, name="a"))
        assert not np.array_equal(m, bench_mask(shape, level, seed=0, name="b"))


def test_bad_levels_and_sizes_are_refused():
    with pytest.raises(ValueError, match="unknown inpaint mask level 'dots'"):
        bench_mask((64, 64), "dots")
    with pytest.raises(ValueError, match="at least 16x16"):
        bench_mask((8, 64), "boxes5-15")
    with pytest.raises(ValueError, match="inpaint masks must be among"):
        run(task="inpaint", images=[Sample("x", np.zeros((32, 32), np.float32))], levels=["dots"], progress=False)


def test_hole_scores_look_only_at_the_holes():
    rng = np.random.default_rng(0)
    ref = (rng.random((40, 50)) * 0.8).astype(np.float32)
    mask = np.zeros((40, 50), bool)
    mask[10:20, 10:30] = True
    out = ref.copy()
    out[~mask] = 1 - ref[~mask]  # wrong everywhere but the holes
    assert hole_psnr(ref, out, mask) == float("inf")
    out = ref.copy()
    out[mask] += 0.1
    assert hole_psnr(ref, out, mask) == pytest.approx(20.0, abs=0.05)
    assert hole_ssim(ref, ref, mask) == pytest.approx(1.0)
    assert hole_ssim(ref, np.zeros_like(ref), mask) < 0.1


def test_the_task_runs_in_the_bench():
    rng = np.random.default_rng(1)
    img = np.clip(np.cumsum(rng.normal(0, 0.02, (64, 72)), axis=1) + 0.5, 0, 1).astype(np.float32)
    result = run(task="inpaint", images=[Sample("g", img)], levels=["boxes5-15"], methods=["telea", "patchmatch"],
                 models=[], repeats=1, threads=1, progress=False)
    rows = {r["method"]: r for r in result.summary()}
    assert set(rows) == {"masked", "telea", "patchmatch"} and not result.failures
    assert rows["telea"]["psnr"] > rows["masked"]["psnr"] + 5
    assert rows["telea"]["psnr_image"] > rows["telea"]["psnr"]  # the known pixels are exact
    assert 0.05 <= rows["telea"]["coverage"] <= 0.15
