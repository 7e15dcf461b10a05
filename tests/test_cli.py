"""The imgen command line, end to end on tiny models and generated image files."""
from __future__ import annotations

import json
import subprocess
import sys

import cv2
import numpy as np
import pytest

from imgen.cli import main

import onnx_models as om


@pytest.fixture
def identity_model(tmp_path):
    return om.identity(tmp_path / "identity.onnx", 3, om.meta(task="restore", channels=3, name="ident"))


@pytest.fixture
def images(tmp_path, rng):
    """A folder with 8/16-bit PNG, TIFF, JPEG, RGBA and gray files, one level nested."""
    root = tmp_path / "in"
    (root / "sub").mkdir(parents=True)
    files = {
        "a.png": rng.integers(0, 256, (20, 30, 3), dtype=np.uint8),
        "sub/b16.png": rng.integers(0, 65536, (16, 12, 3), dtype=np.uint16),
        "sub/c.tif": rng.integers(0, 65536, (9, 11, 3), dtype=np.uint16),
        "d.jpg": rng.integers(0, 256, (24, 24, 3), dtype=np.uint8),
        "e_rgba.png": rng.integers(0, 256, (10, 14, 4), dtype=np.uint8),
        "f_gray.png": rng.integers(0, 256, (13, 7), dtype=np.uint8),
    }
    for name, img in files.items():
        assert cv2.imwrite(str(root / name), img)
    return root, files


def test_info_human_and_json(identity_model, capsys):
    assert main(["info", identity_model]) == 0
    out = capsys.readouterr().out
    assert "CPUExecutionProvider" in out and "restore" in out and "ident" in out
    assert main(["info", identity_model, "--json"]) == 0
    record = json.loads(capsys.readouterr().out)
    assert record["info"]["channels"] == 3 and record["inputs"][0]["name"] == "x"


def test_run_folder_keeps_layout_and_pixels(identity_model, images, tmp_path, capsys):
    root, files = images
    out = tmp_path / "out"
    assert main(["run", identity_model, str(root), "-o", str(out), "-q"]) == 0
    err = capsys.readouterr().err
    assert "wrote 6 of 6" in err and "converted" in err and "alpha" in err
    for name, img in files.items():
        got = cv2.imread(str(out / name), cv2.IMREAD_UNCHANGED)
        assert got is not None, name
        if name.endswith(".jpg"):
            assert got.shape == img.shape
        elif "gray" in name:
            assert got.shape == img.shape + (3,)  # converted to the model's colour
            np.testing.assert_array_equal(got[..., 1], img)
        else:
            assert got.dtype == img.dtype
            np.testing.assert_array_equal(got, img)
    assert not list(out.rglob("*.tmp")), "temporary files left behind"


def test_bad_file_is_reported_and_others_continue(identity_model, images, tmp_path, capsys):
    root, _ = images
    (root / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n garbage")
    (root / "empty.png").write_bytes(b"")
    out = tmp_path / "out"
    assert main(["run", identity_model, str(root), "-o", str(out), "-q"]) == 1
    err = capsys.readouterr().err
    assert "broken.png" in err and "empty.png" in err and "wrote 6 of 8" in err
    assert (out / "a.png").exists() and not (out / "broken.png").exists()


def test_never_overwrites_inputs(identity_model, images, capsys):
    root, files = images
    before = (root / "a.png").read_bytes()
    assert main(["run", identity_model, str(root), "-o", str(root), "-q"]) == 1
    assert "would overwrite an input" in capsys.readouterr().err
    assert (root / "a.png").read_bytes() == before


def test_single_file_to_file_and_ext(identity_model, images, tmp_path):
    root, files = images
    target = tmp_path / "single.tif"
    assert main(["run", identity_model, str(root / "a.png"), "-o", str(target), "-q"]) == 0
    np.testing.assert_array_equal(cv2.imread(str(target)), files["a.png"])
    out = tmp_path / "o2"
    assert main(["run", identity_model, str(root / "sub"), "-o", str(out), "--ext", ".png", "-q"]) == 0
    assert sorted(p.name for p in out.iterdir()) == ["b16.png", "c.png"]


def test_upsample_model_and_tiling_flags(tmp_path, rng):
    model = om.upsample(tmp_path / "up.onnx", 3, 2, om.meta(channels=3, scale=2))
    img = rng.integers(0, 256, (40, 50, 3), dtype=np.uint8)
    cv2.imwrite(str(tmp_path / "x.png"), img)
    assert main(["run", model, str(tmp_path / "x.png"), "-o", str(tmp_path / "o"), "--tile", "16", "--overlap", "4", "-q"]) == 0
    np.testing.assert_array_equal(cv2.imread(str(tmp_path / "o" / "x.png")), img.repeat(2, 0).repeat(2, 1))


def test_sigma_flag(tmp_path):
    model = om.minus_noise(tmp_path / "n.onnx", 1)
    cv2.imwrite(str(tmp_path / "g.png"), np.full((8, 8), 100, np.uint8))
    cv2.imwrite(str(tmp_path / "g16.png"), np.full((8, 8), 100 * 257, np.uint16))
    assert main(["run", model, str(tmp_path / "g.png"), str(tmp_path / "g16.png"), "-o", str(tmp_path / "o"), "--sigma", "25", "-q"]) == 0
    assert (cv2.imread(str(tmp_path / "o" / "g.png"), cv2.IMREAD_UNCHANGED) == 75).all()
    assert (cv2.imread(str(tmp_path / "o" / "g16.png"), cv2.IMREAD_UNCHANGED) == 75 * 257).all()


def test_errors_exit_non_zero(identity_model, tmp_path, capsys):
    assert main(["run", str(tmp_path / "nope.onnx"), str(tmp_path), "-o", str(tmp_path / "o")]) == 1
    assert "model file not found" in capsys.readouterr().err
    assert main(["run", identity_model, str(tmp_path / "missing_dir"), "-o", str(tmp_path / "o"), "-q"]) == 1
    assert "no such file or folder" in capsys.readouterr().err
    (tmp_path / "empty").mkdir()
    assert main(["run", identity_model, str(tmp_path / "empty"), "-o", str(tmp_path / "o"), "-q"]) == 1
    assert "contains no images" in capsys.readouterr().err
    assert main(["run", identity_model, str(tmp_path), "-o", str(tmp_path / "o"), "--sigma", "5"]) == 1
    assert "no noise-level input" in capsys.readouterr().err
    with pytest.raises(SystemExit) as e:
        main(["run", identity_model])
    assert e.value.code == 2


def test_python_dash_m(identity_model):
    r = subprocess.run([sys.executable, "-m", "imgen", "info", identity_model], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert "identity" in r.stdout


@pytest.mark.parametrize("args, option, shown", [
    (["--ext", ".exe"], "--ext", ".tiff"),
    (["--ext", "txt"], "--ext", ".png"),
    (["--tile", "-1"], "--tile", ">= 0"),
    (["--overlap", "-8"], "--overlap", ">= 0"),
    (["--threads", "0"], "--threads", ">= 1"),
    (["--threads", "-2"], "--threads", ">= 1"),
    (["--sigma", "-1"], "--sigma", "finite"),
    (["--sigma", "inf"], "--sigma", "finite"),
    (["--sigma", "nan"], "--sigma", "finite"),
    (["--ray", "--workers", "0"], "--workers", ">= 1"),
    (["--ray", "--cpus-per-worker", "0"], "--cpus-per-worker", "> 0"),
    (["--ray", "--gpus-per-worker", "-1"], "--gpus-per-worker", ">= 0"),
])
def test_option_mistakes_are_argument_errors_before_any_file_is_read(identity_model, images, tmp_path, capsys,
                                                                    args, option, shown):
    root, _ = images
    out = tmp_path / "out"
    with pytest.raises(SystemExit) as e:
        main(["run", identity_model, str(root), "-o", str(out), "-q", *args])
    assert e.value.code == 2
    err = capsys.readouterr().err
    assert f"argument {option}" in err and shown in err, err
    assert not out.exists()
