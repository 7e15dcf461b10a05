"""imgen restore: every task over a folder, with run's file handling; bad options are errors."""
from __future__ import annotations

import cv2
import numpy as np
import pytest
from skimage import data

from imgen import degrade
from imgen.cli import main
from imgen.metrics import psnr


@pytest.fixture
def clean():
    return {"gray.png": data.camera()[64:192, 64:192].copy(),
            "colour.png": np.ascontiguousarray(data.astronaut()[:128, 200:328][..., ::-1])}


def _write(folder, images):
    folder.mkdir()
    for name, img in images.items():
        cv2.imwrite(str(folder / name), img)
    return folder


@pytest.mark.parametrize("task, degrade_fn, args", [
    ("sr", lambda im: degrade.downscale(im, 2), ["--method", "bicubic", "--scale", "2"]),
    ("deblur", lambda im: degrade.blur(im, "gauss1.6", 1 / 255), ["--kernel", "gauss1.6"]),
    ("jpeg", lambda im: degrade.jpeg(im, 10), ["--quality", "10"]),
])
def test_restore_folder(tmp_path, clean, task, degrade_fn, args):
    src = _write(tmp_path / "in", {n: degrade_fn(im) for n, im in clean.items()})
    out = tmp_path / "out"
    assert main(["restore", str(src), "-o", str(out), "--task", task, "-q", *args]) == 0
    for name, img in clean.items():
        got = cv2.imread(str(out / name), cv2.IMREAD_UNCHANGED)
        assert got.shape == img.shape, name
        if task != "sr":   # sr: upscaled MATLAB-bicubic input is measured in test_restore
            assert psnr(img, got) > psnr(img, cv2.imread(str(src / name), cv2.IMREAD_UNCHANGED)), name


def test_restore_kernel_file_and_failures(tmp_path, clean, capsys):
    src = _write(tmp_path / "in", clean)
    (src / "broken.png").write_bytes(b"not a png")
    np.save(tmp_path / "k.npy", np.ones((3, 3)))
    out = tmp_path / "out"
    rc = main(["restore", str(src), "-o", str(out), "--task", "deblur", "--method", "richardson_lucy",
               "--kernel", str(tmp_path / "k.npy"), "--iterations", "2", "-q"])
    assert rc == 1   # the broken file fails, the rest are written
    assert sorted(p.name for p in out.iterdir()) == ["colour.png", "gray.png"]
    assert "broken.png" in capsys.readouterr().err


@pytest.mark.parametrize("args, match", [
    (["--task", "sr"], "needs a scale"),
    (["--task", "deblur"], "needs the blur kernel"),
    (["--task", "jpeg", "--scale", "2"], "scale is for task sr"),
    (["--task", "deblur", "--method", "wiener", "--kernel", "gauss3", "--iterations", "3"],
     "--iterations is an option of richardson_lucy (deblur), not of --method wiener (task deblur)"),
])
def test_restore_bad_options(tmp_path, clean, capsys, args, match):
    src = _write(tmp_path / "in", clean)
    assert main(["restore", str(src), "-o", str(tmp_path / "out"), "-q", *args]) == 1
    assert match in capsys.readouterr().err


def test_restore_unreadable_kernel_file_is_an_argument_error(tmp_path, clean, capsys):
    """--kernel is parsed by the field's own parser (imgen.methods metadata): an argument error, exit 2."""
    src = _write(tmp_path / "in", clean)
    with pytest.raises(SystemExit) as e:
        main(["restore", str(src), "-o", str(tmp_path / "out"), "-q", "--task", "deblur", "--kernel", "nope.npy"])
    assert e.value.code == 2
    assert "argument --kernel: nope.npy: cannot read a 2-D array" in capsys.readouterr().err


def test_restore_method_not_of_task(tmp_path, clean, capsys):
    src = _write(tmp_path / "in", clean)
    assert main(["restore", str(src), "-o", str(tmp_path / "out"), "--task", "sr", "--method", "wiener",
                 "--scale", "2", "-q"]) == 1
    assert "bicubic, lanczos" in capsys.readouterr().err


def test_video_frames_upscaled_classically(tmp_path):
    """The restore tasks reach `imgen video` (frame folders need no PyAV)."""
    frames = tmp_path / "frames"
    frames.mkdir()
    for i in range(3):
        cv2.imwrite(str(frames / f"{i:06d}.png"), data.astronaut()[i * 8:i * 8 + 40, :48][..., ::-1])
    out = tmp_path / "out"
    assert main(["video", str(frames), "-o", str(out), "--task", "sr", "--method", "lanczos", "--scale", "2"]) == 0
    written = sorted(out.glob("*.png"))
    assert len(written) == 3
    assert cv2.imread(str(written[0])).shape == (80, 96, 3)


def test_restore_and_video_with_shipped_dejpeg(tmp_path, clean):
    """`imgen restore --task jpeg --model dejpeg-gray` on gray and colour files, and through `imgen video`."""
    src = _write(tmp_path / "in", {n: degrade.jpeg(im, 10) for n, im in clean.items()})
    out = tmp_path / "out"
    assert main(["restore", str(src), "-o", str(out), "--task", "jpeg", "--model", "dejpeg-gray", "-q"]) == 0
    for name, img in clean.items():
        got = cv2.imread(str(out / name), cv2.IMREAD_UNCHANGED)
        assert got.shape == img.shape, name
        assert psnr(img, got) > psnr(img, cv2.imread(str(src / name), cv2.IMREAD_UNCHANGED)) + 0.3, name
    frames = tmp_path / "frames"
    frames.mkdir()
    for i in range(2):
        cv2.imwrite(str(frames / f"{i:06d}.png"), degrade.jpeg(clean["colour.png"][i * 8:i * 8 + 64], 10))
    vout = tmp_path / "vout"
    assert main(["video", str(frames), "-o", str(vout), "--task", "jpeg", "--model", "dejpeg-gray"]) == 0
    written = sorted(vout.glob("*.png"))
    assert len(written) == 2 and cv2.imread(str(written[0])).shape == (64, 128, 3)


def test_jpeg_quality_is_read_from_the_quantisation_tables():
    # #33 item 8: `--task jpeg` without --quality did not know the quality (0.0-0.1 dB gained)
    from io import BytesIO

    from PIL import Image

    from imgen.restoration import estimate_quality

    img = data.camera()[:64, :80].copy()
    for q in (5, 10, 37, 50, 75, 95, 100):
        ok, buf = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, q])
        assert estimate_quality(buf.tobytes()) == (q, True), q
        pil = BytesIO()
        Image.fromarray(img).save(pil, "JPEG", quality=q)
        assert estimate_quality(pil.getvalue()) == (q, True), q
    ok, png = cv2.imencode(".png", img)
    assert estimate_quality(png.tobytes()) is None and estimate_quality(b"\xff\xd8\xff") is None


def test_restore_jpeg_estimates_the_quality_and_writes_png(tmp_path, clean, capsys):
    src = tmp_path / "in"
    src.mkdir()
    for name, img in clean.items():
        cv2.imwrite(str(src / name.replace(".png", ".jpg")), img, [cv2.IMWRITE_JPEG_QUALITY, 10])
    out, given = tmp_path / "out", tmp_path / "given"
    assert main(["restore", str(src), "-o", str(out), "--task", "jpeg"]) == 0
    err = capsys.readouterr().err
    assert "JPEG quality 10 estimated from the quantisation tables of 2 file(s): BM3D sigma 12.8/255" in err
    assert "outputs written as PNG (lossless)" in err
    assert main(["restore", str(src), "-o", str(given), "--task", "jpeg", "--quality", "10", "--ext", ".png",
                 "-q"]) == 0
    for name, img in clean.items():
        got = cv2.imread(str(out / name), cv2.IMREAD_UNCHANGED)  # name.png: lossless, not .jpg
        np.testing.assert_array_equal(got, cv2.imread(str(given / name), cv2.IMREAD_UNCHANGED))
        jpg = cv2.imread(str(src / name.replace(".png", ".jpg")), cv2.IMREAD_UNCHANGED)
        assert psnr(img, got) > psnr(img, jpg) + 0.3, name
    # JPEG output when asked for, with its cost said
    assert main(["restore", str(src / "gray.jpg"), "-o", str(tmp_path / "x.jpg"), "--task", "jpeg"]) == 0
    assert "outputs written as JPEG at quality 95" in capsys.readouterr().err
