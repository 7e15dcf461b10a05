"""imgen denoise: classical denoisers over files, with run's file-handling guarantees."""
from __future__ import annotations

import cv2
import numpy as np
import pytest
from skimage import data

from imgen.cli import main
from imgen.metrics import psnr

import onnx_models as om


@pytest.fixture
def noisy_files(tmp_path):
    rng = np.random.default_rng(0)
    root = tmp_path / "in"
    root.mkdir()
    gray = data.camera()[100:228, 100:228]
    color = data.astronaut()[:128, 200:328]
    clean = {"gray.png": gray, "color.png": color[..., ::-1], "color16.tif": (color[..., ::-1].astype(np.uint16) * 257)}
    for name, img in clean.items():
        scale = 257 if img.dtype == np.uint16 else 1
        noisy = img.astype(np.float64) + rng.normal(0, 20 * scale, img.shape)
        cv2.imwrite(str(root / name), np.clip(np.rint(noisy), 0, 255 * scale).astype(img.dtype))
    return root, clean


@pytest.mark.parametrize("method", ["wavelet", "bm3d"])
def test_denoise_folder(method, noisy_files, tmp_path):
    root, clean = noisy_files
    out = tmp_path / "out"
    assert main(["denoise", str(root), "-o", str(out), "--method", method, "--sigma", "20", "-q"]) == 0
    for name, img in clean.items():
        noisy = cv2.imread(str(root / name), cv2.IMREAD_UNCHANGED)
        got = cv2.imread(str(out / name), cv2.IMREAD_UNCHANGED)
        assert got.shape == img.shape and got.dtype == img.dtype
        assert psnr(img, got) > psnr(img, noisy) + 2, name


def test_sigma_estimated_when_omitted(noisy_files, tmp_path):
    root, clean = noisy_files
    out = tmp_path / "out"
    assert main(["denoise", str(root / "gray.png"), "-o", str(out), "--method", "wavelet", "--shifts", "4", "-q"]) == 0
    got = cv2.imread(str(out / "gray.png"), cv2.IMREAD_UNCHANGED)
    assert psnr(clean["gray.png"], got) > psnr(clean["gray.png"], cv2.imread(str(root / "gray.png"), 0)) + 2


def test_denoise_with_a_model_and_errors(noisy_files, tmp_path, capsys):
    root, _ = noisy_files
    model = om.minus_noise(tmp_path / "n.onnx", 3)
    assert main(["denoise", str(root / "color.png"), "-o", str(tmp_path / "o"), "--model", model, "--sigma", "0", "-q"]) == 0
    np.testing.assert_array_equal(cv2.imread(str(tmp_path / "o" / "color.png")), cv2.imread(str(root / "color.png")))
    assert main(["denoise", str(root), "-o", str(root), "--method", "wavelet", "-q"]) == 1
    assert "would overwrite an input" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["denoise", str(root), "-o", str(tmp_path / "x"), "--sigma", "-3"])
    assert "argument --sigma: must be a finite number in [0, 255] (the 0-255 scale)" in capsys.readouterr().err
    gen = om.identity(tmp_path / "g.onnx", 3, om.meta(task="generate", channels=3))
    assert main(["denoise", str(root), "-o", str(tmp_path / "y"), "--model", gen]) == 1
    assert "is a generate model; imgen denoise needs a denoise or restore model" in capsys.readouterr().err


def test_gray_model_keeps_colour_in_every_command(noisy_files, tmp_path, capsys):
    """denoise, run and video frame folders treat a gray model on colour files the same way:
    colour kept (Y, Cb, Cr planes), and the conversion reported."""
    root, _ = noisy_files
    model = om.minus_noise(tmp_path / "n.onnx", 1, kind="scalar")
    src = cv2.imread(str(root / "color.png"), cv2.IMREAD_UNCHANGED)
    outs = {}
    src_arg = str(root / "color.png")
    for cmd in (["denoise", src_arg, "--model", model], ["run", model, src_arg], ["video", src_arg, "--model", model]):
        out = tmp_path / cmd[0]
        target = str(out / "%06d.png") if cmd[0] == "video" else str(out)
        assert main(cmd + ["-o", target, "--sigma", "5", "-q"]) == 0, cmd
        assert "Y, Cb and Cr" in capsys.readouterr().err, cmd
        outs[cmd[0]] = cv2.imread(str(next(p for p in out.iterdir() if p.suffix == ".png")), cv2.IMREAD_UNCHANGED)
    for name, got in outs.items():
        assert got.shape == src.shape, name
        assert np.abs(got[..., 0].astype(int) - got[..., 2]).max() > 10, f"{name} wrote a gray image"
    np.testing.assert_array_equal(outs["denoise"], outs["run"])
    np.testing.assert_array_equal(outs["denoise"], outs["video"])


def test_wavelet_help_and_choices_are_the_cores_list(capsys):
    import imgen.denoise

    with pytest.raises(SystemExit):
        main(["denoise", "--help"])
    help_text = " ".join(capsys.readouterr().out.split())
    for name in imgen.denoise.WAVELETS:
        assert name in help_text, name


@pytest.mark.parametrize("command", ["denoise", "video"])
@pytest.mark.parametrize("args, option, shown", [
    (["--method", "wavelet", "--wavelet", "db99"], "--wavelet", "coif5"),
    (["--method", "wavelet", "--shifts", "0"], "--shifts", ">= 1"),
    (["--method", "wavelet", "--levels", "0"], "--levels", ">= 1"),
    (["--method", "bm3d", "--sigma", "inf"], "--sigma", "finite"),
    (["--method", "bm3d", "--threads", "-1"], "--threads", ">= 1"),
])
def test_denoiser_option_mistakes_are_argument_errors_before_any_file_is_read(noisy_files, tmp_path, capsys,
                                                                             command, args, option, shown):
    root, _ = noisy_files
    out = tmp_path / "out"
    with pytest.raises(SystemExit) as e:
        main([command, str(root), "-o", str(out), "-q", *args])
    assert e.value.code == 2
    err = capsys.readouterr().err
    assert f"argument {option}" in err and shown in err, err
    assert not out.exists()


@pytest.mark.parametrize("args, option", [
    (["--ext", ".exe"], "--ext"), (["--batch-size", "0"], "--batch-size"), (["--queue-size", "0"], "--queue-size"),
    (["--fps", "0"], "--fps"), (["--segment-seconds", "-1"], "--segment-seconds"),
])
def test_other_option_mistakes_are_argument_errors(noisy_files, tmp_path, capsys, args, option):
    root, _ = noisy_files
    command = ["denoise", str(root)] if option == "--ext" else ["video", str(root), "--method", "bm3d"]
    with pytest.raises(SystemExit) as e:
        main([*command, "-o", str(tmp_path / "out"), "-q", *args])
    assert e.value.code == 2
    assert f"argument {option}" in capsys.readouterr().err


def test_a_decompression_bomb_is_that_files_error(noisy_files, tmp_path, capsys):
    from image_files import bomb_png

    root, clean = noisy_files
    bomb_png(root / "bomb.png")
    out = tmp_path / "out"
    assert main(["denoise", str(root), "-o", str(out), "--method", "wavelet", "--sigma", "20", "-q"]) == 1
    err = capsys.readouterr().err
    assert "wrote 3 of 4" in err and "bomb.png: 60000x60000" in err and "over the limit" in err
    assert sorted(p.name for p in out.iterdir()) == sorted(clean)


@pytest.mark.parametrize("method", ["wavelet", "bm3d"])
def test_denoise_is_restore_task_denoise(method, noisy_files, tmp_path):
    """`imgen denoise` is the alias of `imgen restore --task denoise`: one code path, the same bytes."""
    from imgen.cli import build_parser

    root, _ = noisy_files
    args = ["-o", "X", "--method", method, "--sigma", "20", "-q"]
    parsed = {cmd: build_parser().parse_args([cmd, str(root)] + (["--task", "denoise"] if cmd == "restore" else [])
                                             + args) for cmd in ("denoise", "restore")}
    assert parsed["denoise"].func is parsed["restore"].func
    outs = {}
    for cmd in ("denoise", "restore"):
        out = tmp_path / cmd
        extra = ["--task", "denoise"] if cmd == "restore" else []
        assert main([cmd, str(root), "-o", str(out), "--method", method, "--sigma", "20", "-q", *extra]) == 0
        outs[cmd] = {p.name: p.read_bytes() for p in sorted(out.iterdir())}
    assert outs["denoise"] == outs["restore"] and len(outs["denoise"]) == 3
