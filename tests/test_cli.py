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


def test_info_wraps_long_values_and_lists_only_applicable_fields(capsys):
    # #33 item 11: long values ran into the source column, and a denoiser listed a latent shape,
    # mask polarity and holes
    assert main(["info", "denoise-gray"]) == 0
    lines = capsys.readouterr().out.splitlines()
    table = lines[lines.index(next(line for line in lines if line.startswith("field"))):]
    table = table[:next(i for i, line in enumerate(table) if line.startswith("source:")) + 1]
    column = table[0].index("source")
    for line in table[1:-1]:  # every row's source (or nothing, on a wrapped value's line) in its column
        assert len(line) <= column or line[column - 2:column] == "  " and line[column:] in (
            "declared", "inferred", "graph/default"), line
    assert any(line.startswith("description") for line in table) and any(line.startswith(" " * 10) for line in table)
    names = {line.split()[0] for line in table[1:-1] if line[:1] != " "}
    assert {"task", "noise_input", "tile", "description"} <= names
    assert not names & {"latent_shape", "mask_polarity", "zero_holes", "mask_input"}
    assert main(["info", "faces-vae-decoder"]) == 0
    names = {line.split()[0] for line in capsys.readouterr().out.splitlines() if line[:1] not in (" ", "")}
    assert "latent_shape" in names and not names & {"tile", "noise_kind", "mask_polarity", "size_multiple"}


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
    (["--threads", "5000"], "--threads", "<= 1024"),
    (["--sigma", "-1"], "--sigma", "finite"),
    (["--sigma", "inf"], "--sigma", "finite"),
    (["--sigma", "nan"], "--sigma", "finite"),
    (["--sigma", "256"], "--sigma", "in [0, 255] (the 0-255 scale)"),
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


# -- hardening: bombs, nested outputs, unreadable folders, EXIF/ICC, SIGTERM, stale temp files ---

from cli_process import sigterm_after  # noqa: E402
from image_files import bomb_png, deny, pillow_rgb, save_with_pillow, upright  # noqa: E402


def test_a_decompression_bomb_is_that_files_error(identity_model, images, tmp_path, capsys):
    root, _ = images
    bomb_png(root / "sub" / "bomb.png")
    out = tmp_path / "out"
    assert main(["run", identity_model, str(root), "-o", str(out), "-q"]) == 1
    err = capsys.readouterr().err
    assert "wrote 6 of 7" in err and "bomb.png: 60000x60000" in err and "over the limit" in err
    assert (out / "a.png").exists() and not (out / "sub" / "bomb.png").exists()


def test_max_pixels_option(identity_model, images, tmp_path, capsys):
    root, files = images
    small = sum(1 for img in files.values() if img.shape[0] * img.shape[1] <= 400)
    assert main(["run", identity_model, str(root), "-o", str(tmp_path / "o"), "-q", "--max-pixels", "400"]) == 1
    err = capsys.readouterr().err
    assert f"wrote {small} of 6" in err and "over the limit of 400" in err
    with pytest.raises(SystemExit) as e:
        main(["run", identity_model, str(root), "-o", str(tmp_path / "o"), "-q", "--max-pixels", "0"])
    assert e.value.code == 2 and "--max-pixels: must be a whole number of pixels > 0" in capsys.readouterr().err


@pytest.mark.parametrize("command", [["run", "m"], ["denoise"], ["translate", "m"], ["reconstruct", "e", "d"],
                                     ["encode", "m"], ["video"]])
def test_every_image_reading_command_takes_max_pixels(command):
    from imgen.cli import build_parser

    args = build_parser().parse_args(command + ["in", "-o", "out", "--max-pixels", "1e9"]
                                     + (["--method", "wavelet"] if command == ["video"] else []))
    assert args.max_pixels == 10**9


def test_an_output_folder_inside_the_input_is_never_read(identity_model, images, capsys):
    root, files = images
    for _ in range(3):
        assert main(["run", identity_model, str(root), "-o", str(root / "out"), "-q"]) == 0
        assert "wrote 6 of 6" in capsys.readouterr().err
    assert not (root / "out" / "out").exists()
    assert sorted(str(p.relative_to(root / "out")) for p in (root / "out").rglob("*") if p.is_file()) == sorted(files)


def test_an_unreadable_subfolder_is_reported(identity_model, images, tmp_path, monkeypatch, capsys):
    root, _ = images
    deny(monkeypatch, root / "sub")
    assert main(["run", identity_model, str(root), "-o", str(tmp_path / "out"), "-q"]) == 1
    err = capsys.readouterr().err
    assert "wrote 4 of 4" in err and f"{root / 'sub'}: cannot read the folder (Permission denied)" in err


@pytest.mark.parametrize("ext", [".jpg", ".png"])
def test_exif_orientation_applied_and_icc_profile_kept(identity_model, tmp_path, ext):
    from PIL import Image, ImageCms

    srgb = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    y, x = np.mgrid[0:16, 0:24]
    rgb = np.stack([x * 10, y * 15, (x + y) * 5], axis=2).astype(np.uint8)
    src = save_with_pillow(tmp_path / f"photo{ext}", rgb, orientation=6, icc=srgb)
    stored = pillow_rgb(src)
    for out_ext in (".png", ".jpg", ".tif", ".webp"):
        out = tmp_path / f"out{out_ext}"
        assert main(["run", identity_model, str(src), "-o", str(out), "-q"]) == 0
        with Image.open(out) as im:
            assert im.size == (16, 24), out_ext  # upright: the sideways 24x16 stored pixels turned
            assert im.info.get("icc_profile") == srgb, out_ext
            assert not im.getexif().get(0x0112), out_ext
            got = np.asarray(im.convert("RGB")).astype(int)
        assert np.abs(got - upright(stored, 6)).mean() < 2, out_ext  # (JPEG outputs: chroma subsampled)


def test_icc_profile_dropped_where_the_format_cannot_hold_it(identity_model, tmp_path, capsys):
    from PIL import ImageCms

    srgb = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    src = save_with_pillow(tmp_path / "p.png", np.zeros((4, 4, 3), np.uint8), icc=srgb)
    assert main(["run", identity_model, str(src), "-o", str(tmp_path / "o.bmp"), "-q"]) == 0
    assert "ICC profile" in capsys.readouterr().err


def test_resume_removes_its_own_stale_temp_files_only(identity_model, images, tmp_path, capsys):
    root, _ = images
    out = tmp_path / "out"
    (out / "sub").mkdir(parents=True)
    stale = [out / ".a.png.0123abcd.tmp", out / "sub" / ".c.tif.89abcdef.tmp"]
    users = [out / ".a.png.notes.tmp", out / "a.png.0123abcd.tmp", out / ".zz.png.0123abcd.tmp",
             out / "sub" / ".c.tif.89abcdef.tmp.old"]
    for p in stale + users:
        p.write_bytes(b"left by kill -9")
    assert main(["run", identity_model, str(root), "-o", str(out), "-q", "--resume"]) == 0
    assert not any(p.exists() for p in stale)
    assert all(p.read_bytes() == b"left by kill -9" for p in users)


def test_sigterm_stops_a_folder_run_between_files(tmp_path, rng):
    src, out = tmp_path / "in", tmp_path / "out"
    src.mkdir()
    for i in range(20):
        cv2.imwrite(str(src / f"{i:02d}.png"), rng.integers(0, 256, (16, 16), dtype=np.uint8))
    code, err = sigterm_after(["denoise", str(src), "-o", str(out), "--method", "wavelet", "--sigma", "5", "-q"],
                              3, tmp_path / "progress")
    assert code == 143, err
    assert "terminated" in err and "--resume" in err and "Traceback" not in err
    done = [p for p in out.rglob("*") if not p.name.startswith(".")]
    assert 2 <= len(done) < 20 and f"wrote {len(done)} of 20" in err
    for p in done:
        assert cv2.imread(str(p), cv2.IMREAD_UNCHANGED).shape == (16, 16)
    assert not [p for p in out.rglob(".*")], "temporary files left behind"
