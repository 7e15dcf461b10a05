"""Costs said before they are paid (#32 item 6): imgen.cost's probe and best-per-second verdict, and
the CLI's estimate and faster-choice lines before folder and video runs."""
from __future__ import annotations

import re
import time

import cv2
import numpy as np
import pytest

from imgen.cost import CostEstimate, best_per_second, central_crop, estimate_cost, format_seconds


def sleeper(per_mpix: float):
    """A processor whose time is proportional to the pixels it is given."""
    calls = []

    def process(images):
        for img in images:
            calls.append(img.shape)
            time.sleep(per_mpix * img.shape[0] * img.shape[1] / 1e6)
        return list(images)

    process.calls = calls
    return process


def test_estimate_scales_the_crop_time_by_area():
    proc = sleeper(per_mpix=2.0)  # 2 s per megapixel
    image = np.zeros((720, 1280, 3), np.uint8)
    est = estimate_cost(proc, image, items=125)
    assert proc.calls == [(32, 32, 3), (192, 192, 3)]  # warm-up, then the timed crop
    assert est.crop == (192, 192) and est.size == (720, 1280)
    assert 1.84 <= est.per_item_s < 2.6  # 1280 x 720 px at 2 s/MP (sleep overshoots a little)
    assert est.total_s == pytest.approx(est.per_item_s * 125)
    assert est.probe_s < 0.3  # the probe paid a small part of one frame


def test_small_images_are_timed_whole_and_crops_keep_size_multiples():
    assert central_crop(np.zeros((100, 50)), 192).shape == (96, 48)
    assert central_crop(np.zeros((10, 7, 3)), 192).shape == (10, 7, 3)
    est = estimate_cost(sleeper(0.0), np.zeros((40, 60), np.float32), warm=False)
    assert est.crop == (32, 48) and est.items is None and est.total_s is None


def test_format_seconds():
    assert format_seconds(0.042) == "0.042 s"
    assert format_seconds(2.5) == "2.5 s"
    assert format_seconds(95) == "1 min 35 s"
    assert format_seconds(6240) == "1 h 44 min"


def row(method, psnr, cpu, kind="gray", level="25", family="imgen", noisy=20.0, task="denoise"):
    return {"task": task, "kind": kind, "level": level, "method": method, "family": family, "psnr": psnr,
            "psnr_noisy": noisy, "cpu_s_per_mpix": cpu}


def test_best_per_second_and_the_pareto_front():
    rows = [row("bm3d", 30.0, 3.0), row("model", 29.5, 4.0, family="learned"), row("wavelet", 27.0, 0.02),
            row("wavelet-ti", 28.0, 0.3), row("worse", 19.0, 0.001), row("noisy", 20.0, 0.0, family="input"),
            row("wavelet", 26.0, 0.05, kind="color")]
    gray, color = best_per_second(rows)
    assert (gray.kind, gray.best, color.best) == ("gray", "wavelet", "wavelet")
    assert gray.gain_db == pytest.approx(7.0) and gray.db_per_cpu_s == pytest.approx(350.0)
    # the model costs more than bm3d for less PSNR: dominated; "worse" lowered the PSNR
    assert gray.pareto == ("worse", "wavelet", "wavelet-ti", "bm3d") and gray.top == "bm3d"


def test_best_per_second_skips_rows_without_the_figures():
    assert best_per_second([{"kind": "gray", "level": "25", "method": "x", "psnr": 30.0}]) == []


# -- the CLI -----------------------------------------------------------------------------------------

@pytest.fixture
def big_noisy(tmp_path):
    rng = np.random.default_rng(0)
    folder = tmp_path / "in"
    folder.mkdir()
    base = cv2.resize(rng.integers(0, 256, (24, 32), dtype=np.uint8), (512, 384), interpolation=cv2.INTER_CUBIC)
    for i in range(2):
        noisy = np.clip(base + rng.normal(0, 25, base.shape), 0, 255).astype(np.uint8)
        cv2.imwrite(str(folder / f"{i}.png"), noisy)
    return folder


def test_denoise_with_a_slow_model_says_the_cost_and_the_faster_choice(big_noisy, tmp_path, capsys, monkeypatch):
    from imgen.cli import _cost, main

    monkeypatch.setattr(_cost, "SLOW_S", 0.0)  # every learned model is "slow" here
    assert main(["denoise", str(big_noisy), "-o", str(tmp_path / "out"), "--model", "denoise-gray",
                 "--sigma", "25", "-q", "--threads", "1"]) == 0
    err = capsys.readouterr().err
    assert "imgen: estimate: " in err and "per image (512x384) x 2 images = about" in err
    # on the CPU provider the shipped name runs its int8 variant (engine.resolve_model_path)
    assert re.search(r"denoise-gray(-int8)? is a learned model and takes more than 0 s per image", err), err
    assert "faster: --method wavelet (" in err and "measured the same way" in err
    assert "--threads" in err  # 1 thread asked for, fewer than the cores (the test machine has 2 or more)
    assert len(list((tmp_path / "out").iterdir())) == 2


def test_run_names_the_restore_command_for_the_classical_method(big_noisy, tmp_path, capsys, monkeypatch):
    from imgen.cli import _cost, main

    monkeypatch.setattr(_cost, "SLOW_S", 0.0)
    assert main(["run", "denoise-gray", str(big_noisy), "-o", str(tmp_path / "out"), "-q"]) == 0
    assert "faster: imgen restore --task denoise --method wavelet (" in capsys.readouterr().err


def test_short_runs_are_not_probed_or_reported(big_noisy, tmp_path, capsys):
    from imgen.cli import main

    assert main(["denoise", str(big_noisy), "-o", str(tmp_path / "out"), "--method", "wavelet", "-q"]) == 0
    assert "estimate" not in capsys.readouterr().err


def test_long_run_estimate_is_printed(big_noisy, tmp_path, capsys, monkeypatch):
    from imgen.cli import _cost, main

    monkeypatch.setattr(_cost, "LONG_RUN_S", 0.0)
    monkeypatch.setattr(_cost, "MIN_PIXELS", 0)
    assert main(["denoise", str(big_noisy), "-o", str(tmp_path / "out"), "--method", "wavelet"]) == 0
    err = capsys.readouterr().err
    assert "imgen: estimate: " in err and "x 2 images" in err
    assert "learned model" not in err  # a classical method is never called slow


def test_video_frames_say_the_cost_per_frame(big_noisy, tmp_path, capsys, monkeypatch):
    from imgen.cli import _cost, main
    from imgen.video.api import first_frame

    frame, count = first_frame(big_noisy)
    assert frame.shape == (384, 512) and count == 2
    monkeypatch.setattr(_cost, "SLOW_S", 0.0)
    assert main(["video", str(big_noisy), "-o", str(tmp_path / "frames"), "--model", "denoise-gray",
                 "--sigma", "25", "-q"]) == 0
    err = capsys.readouterr().err
    assert "per frame (512x384) x 2 frames" in err and "--method wavelet" in err


def test_probe_failures_stay_silent():
    from imgen.cli._cost import say_cost

    def broken(images):
        raise RuntimeError("no")

    assert say_cost(broken, np.zeros((2000, 2000), np.uint8), 10) is None


def test_cost_estimate_is_plain_data():
    est = CostEstimate(per_item_s=2.0, probe_s=0.1, crop=(192, 192), size=(720, 1280), items=3)
    assert est.total_s == 6.0


def test_bench_html_has_the_best_per_second_section():
    from imgen.bench import html

    doc = {"config": {"level_name": "sigma"}, "summary": [row("bm3d", 30.0, 3.0), row("wavelet", 27.0, 0.02)]}
    section = html.value_html(doc)
    assert 'id="best-per-second"' in section and "<strong>wavelet</strong>" in section
    assert "Pareto front: wavelet &lt; bm3d" in section
    assert html.value_html({"config": {}, "summary": []}) == ""


@pytest.mark.slow
def test_info_speed_names_the_best_per_cpu_second(capsys):
    pytest.importorskip("skimage")
    import json

    from imgen.cli import main

    assert main(["info", "denoise-gray", "--speed", "--json"]) == 0
    speed = json.loads(capsys.readouterr().out)["speed"]
    methods = {r["method"] for r in speed["summary"]}
    assert {"bm3d", "wavelet"} <= methods and methods & {"denoise-gray", "denoise-gray-int8"}
    (gray, *_) = speed["best_per_second"]
    assert gray["kind"] == "gray" and gray["best"] in methods and gray["pareto"]


def test_info_speed_refuses_models_without_classical_peers(capsys):
    from imgen.cli import main

    assert main(["info", "faces-dcgan", "--speed"]) == 1
    assert "no classical peers" in capsys.readouterr().err


def test_tiled_models_are_scaled_by_the_pixels_their_tiles_cover():
    from functools import partial

    from imgen.cost import tiled_pixels

    assert tiled_pixels(720, 1280, tile=512, overlap=96) == 6 * 512 * 512  # 2 rows x 3 columns: 1.7x the area
    assert tiled_pixels(300, 400, tile=512, overlap=96) == 300 * 400
    assert tiled_pixels(720, 1280, tile=0, overlap=96) == 720 * 1280
    proc = sleeper(per_mpix=2.0)
    est = estimate_cost(proc, np.zeros((720, 1280), np.uint8), work=partial(tiled_pixels, tile=512, overlap=96))
    assert 1.7 * 1.84 <= est.per_item_s < 1.7 * 2.6


def test_the_cli_probe_knows_the_models_tiles():
    from imgen.cli._cost import _model_work
    from imgen.processors import FrameProcessor, ProcessorOptions

    work = _model_work(FrameProcessor(ProcessorOptions(model="denoise-gray")))  # tile 512, overlap 96
    assert work(720, 1280) == 6 * 512 * 512
    assert _model_work(FrameProcessor(ProcessorOptions(model="denoise-gray", tile=0)))(720, 1280) == 720 * 1280


def test_a_folder_of_videos_is_probed_on_the_first_video(tmp_path, capsys, monkeypatch):
    pytest.importorskip("av")
    from video_clips import make_clip

    from imgen.cli import _cost, main

    folder = tmp_path / "videos"
    folder.mkdir()
    make_clip(folder / "a.mp4", frames=4, audio=False)
    monkeypatch.setattr(_cost, "SLOW_S", 0.0)
    monkeypatch.setattr(_cost, "LEARNED_MIN_PIXELS", 0)
    assert main(["video", str(folder), "-o", str(tmp_path / "out"), "--model", "denoise-gray", "--sigma", "25",
                 "-q"]) == 0
    err = capsys.readouterr().err
    assert "per frame (64x48) x 4 frames" in err and "--method wavelet" in err
