"""imgen bench --task sr|deblur|jpeg: the task table, the degraded input as a row, SR scoring
on Y with the scale shaved, paired LR folders, option errors."""
from __future__ import annotations

import csv

import cv2
import numpy as np
import pytest
from skimage import data

from imgen import degrade, metrics
from imgen.bench import Sample, run
from imgen.bench.tasks import TASKS
from imgen.cli import main


@pytest.fixture
def samples():
    cam = data.camera()[200:264, 200:272].astype(np.float32) / 255
    ast = data.astronaut()[100:164, 200:264].astype(np.float32) / 255
    return [Sample("camera", cam), Sample("astronaut", ast)]


def test_task_table_lists_every_task():
    assert list(TASKS) == ["denoise", "sr", "deblur", "jpeg", "inpaint"]
    with pytest.raises(ValueError, match="unknown bench task 'x'; known: denoise, sr"):
        run(task="x", images=[], progress=False)


def test_sr_rows_and_scoring(samples):
    result = run(task="sr", levels=[2], images=samples, models=[], repeats=1, progress=False)
    rows = {(r["image"], r["method"]): r for r in result.records}
    assert set(rows) == {(s.name, m) for s in samples for m in ("bicubic", "lanczos")}
    # bicubic: the input's row, scored on Y with 2 pixels shaved, computed here independently
    hr = samples[1].image
    up = np.clip(cv2.resize(degrade.downscale(hr, 2), None, fx=2, fy=2, interpolation=cv2.INTER_CUBIC), 0, 1)
    y = lambda x: ((16 + 65.481 * x[..., 0] + 128.553 * x[..., 1] + 24.966 * x[..., 2]) / 255)[2:-2, 2:-2]  # noqa: E731
    want = metrics.psnr(y(hr).astype(np.float32), y(up).astype(np.float32), data_range=1.0)
    got = rows[("astronaut", "bicubic")]
    assert got["psnr"] == pytest.approx(want, abs=1e-3) and got["family"] == "input"
    assert got["psnr_noisy"] == got["psnr"] and got["task"] == "sr" and got["level"] == "2"
    assert result.config["protocol"] == {"seed": 0, "quantize": False, "shave": 0, "y_channel": False}


def test_sr_upscalers_run_at_their_own_scale_only(samples):
    """The shipped x2/x3/x4 upscalers in one grid: each at its scale (a x4 model at scale 2 used to
    fail every run with a wrong output size); a model of no scale in the grid is a note, not a failure."""
    result = run(task="sr", levels=[2, 4], images=samples[:1], methods=[], models=["sr-x2", "sr-x3", "sr-x4"],
                 repeats=1, progress=False)
    ran = {(r["level"], r["method"]) for r in result.records}
    assert ran == {("2", "bicubic"), ("2", "sr-x2"), ("4", "bicubic"), ("4", "sr-x4")}
    assert not result.failures
    assert result.notes["sr-x3"] == "runs at scale 3 only, not in this run's grid"
    rows = {(r["level"], r["method"]): r["psnr"] for r in result.records}
    assert rows[("2", "sr-x2")] > rows[("2", "bicubic")] and rows[("4", "sr-x4")] > rows[("4", "bicubic")]


def test_sr_odd_sizes_cropped_to_the_scale(samples):
    odd = [Sample("odd", samples[0].image[:61, :70])]
    result = run(task="sr", levels=[3], images=odd, methods=[], models=[], repeats=1, progress=False)
    assert [r["height"] for r in result.records] == [60] and result.records[0]["width"] == 69


def test_jpeg_and_deblur_rows_beat_or_show_the_input(samples):
    jp = run(task="jpeg", levels=[10], images=samples[:1], models=[], repeats=1, progress=False)
    rows = {r["method"]: r for r in jp.records}
    assert set(rows) == {"jpeg", "bm3d"} and rows["bm3d"]["psnr"] > rows["jpeg"]["psnr"]
    db = run(task="deblur", levels=["gauss1.6"], images=samples[:1], methods=["wiener"], models=[],
             repeats=1, progress=False)
    rows = {r["method"]: r for r in db.records}
    assert set(rows) == {"blurred", "wiener"} and rows["wiener"]["psnr"] > rows["blurred"]["psnr"]
    assert rows["blurred"]["sigma"] == pytest.approx(2.55) and rows["wiener"]["level"] == "gauss1.6"


@pytest.mark.parametrize("task, levels, match", [("sr", [1], "scales must be integers from 2 to 8"),
                                                 ("jpeg", [0], "qualities must be integers"),
                                                 ("deblur", ["nope"], "unknown kernel"),
                                                 ("denoise", [-1], "sigmas must be positive")])
def test_bad_levels(samples, task, levels, match):
    with pytest.raises(ValueError, match=match):
        run(task=task, levels=levels, images=samples, models=[], progress=False)


def test_unknown_method_names_the_task(samples):
    with pytest.raises(ValueError, match="unknown method.*for task sr; known: lanczos"):
        run(task="sr", methods=["wiener"], images=samples, models=[], progress=False)


def _write(folder, name, rgb01):
    folder.mkdir(exist_ok=True)
    cv2.imwrite(str(folder / name), np.rint(rgb01[..., ::-1] * 255).astype(np.uint8))


def test_paired_lr_folder(tmp_path, samples):
    """Set5's layout (X_HR.png beside X_LR.png): the given LR is used, not a fresh downscale."""
    hr = samples[1].image
    lr = np.clip(degrade.downscale(hr, 2) + 0.05, 0, 1)  # deliberately not downscale(hr)
    _write(tmp_path / "set", "a_HR.png", hr)
    _write(tmp_path / "set", "a_LR.png", lr)
    result = run(task="sr", images=tmp_path / "set", lr_dir=tmp_path / "set", methods=[], models=[],
                 repeats=1, progress=False)
    fresh = run(task="sr", images=[Sample("a", np.rint(hr * 255) / 255)], methods=[], models=[], repeats=1,
                progress=False)
    assert [r["image"] for r in result.records] == ["a"]
    assert result.records[0]["psnr"] < fresh.records[0]["psnr"] - 3
    _write(tmp_path / "small", "a_LR.png", lr[:10])
    with pytest.raises(ValueError, match="LR image is 32x10"):
        run(task="sr", images=tmp_path / "set", lr_dir=tmp_path / "small", models=[], progress=False)
    _write(tmp_path / "other", "b_LR.png", lr)
    with pytest.raises(ValueError, match="no low-resolution file a_LR"):
        run(task="sr", images=tmp_path / "set", lr_dir=tmp_path / "other", models=[], progress=False)
    with pytest.raises(ValueError, match="lr_dir .* is for task sr"):
        run(task="jpeg", images=tmp_path / "set", lr_dir=tmp_path / "set", models=[], progress=False)


def test_cli_task_on_a_folder(tmp_path, samples, capsys):
    for s in samples:
        _write(tmp_path / "imgs", f"{s.name}.png", s.image if s.is_color else np.dstack([s.image] * 3))
    out = tmp_path / "out"
    assert main(["bench", "--task", "jpeg", "--quality", "20", "--images", str(tmp_path / "imgs"), "--models",
                 "--repeats", "1", "--out", str(out), "-q"]) == 0
    table = capsys.readouterr().out
    assert "quality" in table and "bm3d" in table and "jpeg" in table
    with open(out / "bench.csv") as f:
        rows = list(csv.DictReader(f))
    assert {r["task"] for r in rows} == {"jpeg"} and {r["method"] for r in rows} == {"jpeg", "bm3d"}
    assert all(float(r["psnr"]) > 20 for r in rows)
    for name in ("bench.json", "psnr_vs_time.png", "crops.png", "index.html"):
        assert (out / name).stat().st_size > 0


def test_cli_level_option_of_another_task(tmp_path, capsys):
    assert main(["bench", "--task", "jpeg", "--scale", "2", "--out", str(tmp_path)]) == 1
    assert "--scale is for --task sr, not --task jpeg" in capsys.readouterr().err
