"""imgen bench: a tiny grid end to end, determinism, optional peers, bad options."""
from __future__ import annotations

import json

import numpy as np
import pytest

import imgen.bench.methods as bench_methods
from imgen.bench import Protocol, Sample, report, run
from imgen.cli import main


@pytest.fixture
def tiny_samples():
    from skimage import data

    cam = data.camera()[200:264, 200:264].astype(np.float32) / 255
    ast = data.astronaut()[100:164, 200:264].astype(np.float32) / 255
    return [Sample("camera", cam), Sample("astronaut", ast)]


FAST = ["wavelet", "opencv-nlm", "skimage-wavelet"]


def test_tiny_grid_end_to_end(tiny_samples, tmp_path):
    result = run(images=tiny_samples, methods=FAST, models=[], sigmas=[25], repeats=1,
                 keep_outputs=True, progress=False)
    assert len(result.records) == 2 * len(FAST)
    for r in result.records:
        assert r["psnr"] > r["psnr_noisy"] + 1, r  # denoised beats noisy
        assert 0 < r["ssim"] <= 1 and r["wall_s"] > 0 and r["cpu_s"] >= 0
    summary = result.summary()
    assert {(s["kind"], s["method"]) for s in summary} == {(k, m) for k in ("gray", "color") for m in FAST}
    table = report.format_table(result)
    assert "wavelet" in table and "PSNR" in table
    report.write_csv(result, tmp_path / "b.csv")
    report.write_json(result, tmp_path / "b.json")
    report.write_crops(result, tmp_path / "c.png")
    doc = json.loads((tmp_path / "b.json").read_text())
    assert doc["config"]["protocol"]["seed"] == 0 and "versions" in doc["config"]
    assert len(doc["records"]) == len(result.records)
    assert (tmp_path / "b.csv").read_text().count("\n") == len(result.records) + 1
    assert (tmp_path / "c.png").stat().st_size > 0


def test_same_seed_same_numbers(tiny_samples):
    a = run(images=tiny_samples, methods=["wavelet"], models=[], sigmas=[15], repeats=1, progress=False)
    b = run(images=tiny_samples, methods=["wavelet"], models=[], sigmas=[15], repeats=1, progress=False)
    assert [round(r["psnr"], 2) for r in a.records] == [round(r["psnr"], 2) for r in b.records]
    c = run(images=tiny_samples, methods=["wavelet"], models=[], sigmas=[15], repeats=1, progress=False,
            protocol=Protocol(seed=1))
    assert [r["psnr"] for r in a.records] != [r["psnr"] for r in c.records]


def test_protocol_options(tiny_samples):
    p = Protocol(quantize=True, shave=4, y_channel=True)
    noisy = p.noisy(tiny_samples[1].image, 25)
    assert noisy.min() >= 0 and noisy.max() <= 1
    assert np.allclose(noisy * 255, np.rint(noisy * 255), atol=1e-4)
    assert p.psnr(tiny_samples[1].image, tiny_samples[1].image) == float("inf")


def test_missing_peer_is_a_note(tiny_samples, monkeypatch):
    real = bench_methods.importlib.util.find_spec
    monkeypatch.setattr(bench_methods.importlib.util, "find_spec",
                        lambda name, *a: None if name in ("bm3d", "skimage") else real(name, *a))
    result = run(images=tiny_samples, methods=["wavelet", "bm3d-ref", "skimage-nlm"], models=[],
                 sigmas=[25], repeats=1, progress=False)
    assert {r["method"] for r in result.records} == {"wavelet"}
    assert "not installed" in result.notes["bm3d-ref"] and "scikit-image" in result.notes["skimage-nlm"]


@pytest.mark.parametrize("kwargs, match", [
    ({"methods": ["nope"]}, "unknown method"),
    ({"sigmas": [0]}, "positive"),
    ({"sigmas": [-5]}, "positive"),
    ({"repeats": 0}, "repeats"),
])
def test_bad_options(tiny_samples, kwargs, match):
    opts = {"images": tiny_samples, "methods": ["wavelet"], "models": [], "sigmas": [25], "progress": False}
    opts.update(kwargs)
    with pytest.raises(ValueError, match=match):
        run(**opts)


def test_empty_or_missing_folder(tmp_path):
    with pytest.raises(ValueError, match="contains no images"):
        run(images=tmp_path, methods=["wavelet"], models=[], progress=False)
    with pytest.raises(ValueError, match="not a folder"):
        run(images=tmp_path / "nope", methods=["wavelet"], models=[], progress=False)


def test_cli(tmp_path, capsys):
    import cv2
    from skimage import data

    folder = tmp_path / "imgs"
    folder.mkdir()
    cv2.imwrite(str(folder / "cam.png"), data.camera()[:48, :48])
    out = tmp_path / "out"
    code = main(["bench", "--images", str(folder), "--methods", "wavelet", "--models", "--sigmas", "25",
                 "--repeats", "1", "--out", str(out), "-q"])
    assert code == 0
    assert "wavelet" in capsys.readouterr().out
    assert {p.name for p in out.iterdir()} >= {"bench.csv", "bench.json", "crops.png"}
    assert main(["bench", "--images", str(folder), "--sigmas", "-1", "--models", "-q"]) == 1
    assert "positive" in capsys.readouterr().err


def test_default_learned_methods_are_the_shipped_denoisers_only():
    import imgen

    names = bench_methods.shipped_denoisers()
    assert "denoise-gray" in names
    generative = [n for n in imgen.shipped_models() if imgen.load(n, providers=["cpu"]).info.task == "generate"]
    assert generative and not set(generative) & set(names)
    methods, _ = bench_methods.resolve(["wavelet"], None, threads=1)
    assert {m.family for m in methods} == {"imgen", "learned"}
    assert sorted(m.name for m in methods if m.family == "learned") == sorted(names)


def test_missing_pywavelets_is_a_note_not_an_abort(tiny_samples, monkeypatch):
    """scikit-image's wavelet denoiser needs PyWavelets, which scikit-image does not pull in."""
    real = bench_methods.importlib.util.find_spec
    monkeypatch.setattr(bench_methods.importlib.util, "find_spec",
                        lambda name, *a: None if name == "pywt" else real(name, *a))
    result = run(images=tiny_samples, methods=["wavelet", "skimage-wavelet", "opencv-nlm"], models=[],
                 sigmas=[25], repeats=1, progress=False)
    assert {r["method"] for r in result.records} == {"wavelet", "opencv-nlm"}
    assert "PyWavelets" in result.notes["skimage-wavelet"] and not result.failures


def _failing_wavelet(monkeypatch, fail_on: str):
    """Make imgen's `wavelet` method raise always ("*") or on colour images after its first call
    (the warm-up) ("colour")."""
    real = bench_methods._imgen_methods

    def methods(threads):
        out = real(threads)
        good = out["wavelet"].run
        calls = []

        def run_(x, s):
            calls.append(x.shape)
            if fail_on == "*" or (x.ndim == 3 and len(calls) > 1):
                raise RuntimeError("boom inside the method")
            return good(x, s)

        out["wavelet"] = bench_methods.Method("wavelet", "imgen", threads, run_)
        return out

    monkeypatch.setattr(bench_methods, "_imgen_methods", methods)


def test_an_error_inside_one_method_is_reported_and_the_run_goes_on(tiny_samples, monkeypatch):
    _failing_wavelet(monkeypatch, "*")  # fails its warm-up: reported once, not run again
    result = run(images=tiny_samples, methods=["wavelet", "opencv-nlm"], models=[], sigmas=[15, 25],
                 repeats=1, progress=False)
    assert {r["method"] for r in result.records} == {"opencv-nlm"} and len(result.records) == 4
    assert len(result.failures) == 1
    f = result.failures[0]
    assert f["method"] == "wavelet" and f["stage"] == "warm-up" and "boom inside" in f["error"]
    assert "FAILED wavelet" in report.format_table(result)


def test_cli_writes_what_it_has_when_a_method_fails(tiny_samples, tmp_path, monkeypatch, capsys):
    import cv2

    _failing_wavelet(monkeypatch, "colour")  # fails on the colour image only, after its warm-up
    folder = tmp_path / "imgs"
    folder.mkdir()
    for s in tiny_samples:
        cv2.imwrite(str(folder / f"{s.name}.png"), np.rint(s.image * 255).astype(np.uint8))
    out = tmp_path / "out"
    code = main(["bench", "--images", str(folder), "--methods", "wavelet", "opencv-nlm", "--models",
                 "--sigmas", "25", "--repeats", "1", "--out", str(out), "-q"])
    captured = capsys.readouterr()
    assert code == 1 and "1 run(s) failed (wavelet)" in captured.err
    assert {p.name for p in out.iterdir()} >= {"bench.csv", "bench.json", "psnr_vs_time.png", "crops.png"}
    doc = json.loads((out / "bench.json").read_text())
    assert [(f["method"], f["image"]) for f in doc["failures"]] == [("wavelet", "astronaut")]
    assert {(r["method"], r["image"]) for r in doc["records"]} == {
        ("wavelet", "camera"), ("opencv-nlm", "camera"), ("opencv-nlm", "astronaut")}


def test_bench_extra_installs_what_the_bench_imports():
    """Every optional package the default bench run imports is in the [bench] extra."""
    import tomllib
    from pathlib import Path

    project = tomllib.loads((Path(__file__).resolve().parent.parent / "pyproject.toml").read_text())["project"]
    bench = " ".join(project["optional-dependencies"]["bench"]).lower()
    for dist in ("imgen[cpu]", "scikit-image", "pywavelets", "matplotlib"):
        assert dist in bench, f"[bench] lacks {dist}"


def test_shipped_gray_model_runs_on_colour_rows(tiny_samples):
    """#33 item 14: the gray learned model has colour rows (Y, Cb, Cr planes), as the CLI runs it."""
    result = run(images=tiny_samples, methods=["wavelet"], models=["denoise-gray"], sigmas=[25], repeats=1,
                 progress=False)
    learned = {(r["kind"], r["method"]) for r in result.summary() if r["family"] == "learned"}
    assert learned == {("gray", "denoise-gray"), ("color", "denoise-gray")}
    colour = next(r for r in result.summary() if r["family"] == "learned" and r["kind"] == "color")
    assert colour["psnr"] > colour["psnr_noisy"] + 3
    assert "Y, Cb, Cr" in result.config["method_notes"]["denoise-gray"]
    assert "denoise-gray" not in result.notes
    assert result.config["method_arch"] == {"denoise-gray": "ffdnet"}  # its paper's Set12 figures: published.py
