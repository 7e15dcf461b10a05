"""Image file reading, atomic writing and output planning."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image, ImageCms

from imgen import atomic, imageio
from imgen.icc import icc_problem
from imgen.imageio import (ImageFileError, find_images, fit_to_format, plan_outputs, read_image, walk_files,
                           write_image)

from image_files import bomb_png, deny, pillow_rgb, save_with_pillow, upright


def test_read_write_round_trip_depths(tmp_path, rng):
    for name, img in {
        "a.png": rng.integers(0, 256, (5, 6, 3), dtype=np.uint8),
        "b.png": rng.integers(0, 65536, (5, 6), dtype=np.uint16),
        "c.tif": rng.random((5, 6, 3)).astype(np.float32),
    }.items():
        write_image(tmp_path / name, img)
        np.testing.assert_array_equal(read_image(tmp_path / name), img)


def test_write_is_atomic_on_failure(tmp_path, monkeypatch):
    target = tmp_path / "x.png"
    write_image(target, np.zeros((4, 4), np.uint8))
    before = target.read_bytes()

    def boom(*a, **k):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(ImageFileError, match="No space left"):
        write_image(target, np.full((4, 4), 255, np.uint8))
    assert target.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["x.png"]


def test_written_files_get_the_umask_permissions_not_0600(tmp_path):
    old = os.umask(0o022)
    try:
        write_image(tmp_path / "x.png", np.zeros((4, 4), np.uint8))
    finally:
        os.umask(old)
    assert (tmp_path / "x.png").stat().st_mode & 0o777 == 0o644


def test_unwritable_folder_is_a_clear_error(tmp_path, monkeypatch):
    def denied(*a, **k):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(os, "open", denied)
    with pytest.raises(ImageFileError, match="cannot create a file in .*Permission denied"):
        write_image(tmp_path / "x.png", np.zeros((4, 4), np.uint8))


def test_read_errors_name_the_file(tmp_path):
    with pytest.raises(ImageFileError, match="missing.png"):
        read_image(tmp_path / "missing.png")
    (tmp_path / "bad.jpg").write_bytes(b"not a jpeg")
    with pytest.raises(ImageFileError, match="bad.jpg: not a readable image"):
        read_image(tmp_path / "bad.jpg")
    with pytest.raises(ImageFileError, match="unknown image extension"):
        write_image(tmp_path / "x.xyz", np.zeros((2, 2), np.uint8))


def test_fit_to_format():
    img16 = np.full((2, 2, 4), 65535, np.uint16)
    out, note = fit_to_format(img16, "x.jpg")
    assert out.dtype == np.uint8 and out.shape == (2, 2, 3) and (out == 255).all()
    assert note.dropped_alpha and note.reduced_depth
    same, note = fit_to_format(img16, "x.png")
    assert same is img16 and not (note.dropped_alpha or note.reduced_depth)


def test_plan_outputs(tmp_path):
    (tmp_path / "in" / "d").mkdir(parents=True)
    for p in ["in/a.png", "in/d/b.JPG", "in/notes.txt", "c.png"]:
        (tmp_path / p).write_bytes(b"x")
    jobs, problems = plan_outputs([tmp_path / "in", tmp_path / "c.png"], tmp_path / "out")
    assert problems == []
    assert sorted(str(j.target.relative_to(tmp_path / "out")) for j in jobs) == ["a.png", "c.png", "d/b.JPG"]
    jobs, problems = plan_outputs([tmp_path / "in" / "a.png", tmp_path / "c.png"], tmp_path / "in")
    assert len(jobs) == 1 and "overwrite an input" in problems[0]
    (tmp_path / "x").mkdir()
    (tmp_path / "x" / "a.png").write_bytes(b"x")
    jobs, problems = plan_outputs([tmp_path / "in" / "a.png", tmp_path / "x" / "a.png"], tmp_path / "o")
    assert len(jobs) == 1 and "also the output of" in problems[0]


# -- the pixel limit: refused from the header, before decoding ---------------------------------

@pytest.fixture
def no_decoding(monkeypatch):
    """Fails the test if OpenCV is asked to decode anything."""
    def refuse(*a, **k):
        raise AssertionError("cv2.imdecode called: the size was not checked before decoding")

    monkeypatch.setattr(cv2, "imdecode", refuse)


def test_a_decompression_bomb_is_refused_before_decoding(tmp_path, no_decoding):
    bomb = bomb_png(tmp_path / "bomb.png")
    assert bomb.stat().st_size == 65
    with pytest.raises(ImageFileError, match=r"bomb.png: 60000x60000 .*over the limit of 500,000,000"):
        read_image(bomb)


def test_the_default_limit_allows_20000_squared():
    assert imageio.DEFAULT_MAX_PIXELS >= 20000 * 20000
    assert imageio.pixel_limit() == imageio.DEFAULT_MAX_PIXELS


def _formats(tmp_path, rng):
    """One small file per format OpenCV decodes here, written by OpenCV itself."""
    files = {}
    for name, img in {
        "a.png": rng.integers(0, 256, (20, 30, 3), dtype=np.uint8),
        "b16.png": rng.integers(0, 65536, (20, 30), dtype=np.uint16),
        "c.jpg": rng.integers(0, 256, (20, 30, 3), dtype=np.uint8),
        "d.tif": rng.random((20, 30, 3)).astype(np.float32),  # Pillow cannot open float RGB TIFF
        "e16.tif": rng.integers(0, 65536, (20, 30, 4), dtype=np.uint16),
        "f.bmp": rng.integers(0, 256, (20, 30, 3), dtype=np.uint8),
        "g.webp": rng.integers(0, 256, (20, 30, 3), dtype=np.uint8),
        "h.ppm": rng.integers(0, 256, (20, 30, 3), dtype=np.uint8),
        "i.pgm": rng.integers(0, 256, (20, 30), dtype=np.uint8),
        "j.pfm": rng.random((20, 30, 3)).astype(np.float32),
        "k.hdr": rng.random((20, 30, 3)).astype(np.float32),
        "l.jp2": rng.integers(0, 256, (20, 30, 3), dtype=np.uint8),
        "m.ras": rng.integers(0, 256, (20, 30, 3), dtype=np.uint8),
    }.items():
        ok, buf = cv2.imencode(Path(name).suffix, img)
        if ok:
            (tmp_path / name).write_bytes(buf.tobytes())
            files[name] = tmp_path / name
    return files


def test_every_format_opencv_decodes_is_checked_before_decoding(tmp_path, rng, monkeypatch):
    files = _formats(tmp_path, rng)
    assert {"a.png", "c.jpg", "d.tif", "g.webp", "j.pfm", "k.hdr"} <= set(files)
    for name, path in files.items():
        assert read_image(path, max_pixels=600).shape[:2] == (20, 30), name
    monkeypatch.setattr(cv2, "imdecode", lambda *a, **k: pytest.fail("decoded before the size check"))
    for name, path in files.items():
        with pytest.raises(ImageFileError, match=r"30x20 = 600 pixels is over the limit of 599"):
            read_image(path, max_pixels=599)


def test_the_limit_from_the_environment(tmp_path, monkeypatch):
    write_image(tmp_path / "a.png", np.zeros((20, 30), np.uint8))
    monkeypatch.setenv("IMGEN_MAX_PIXELS", "599")
    with pytest.raises(ImageFileError, match="limit of 599"):
        read_image(tmp_path / "a.png")
    assert read_image(tmp_path / "a.png", max_pixels=600).shape == (20, 30)  # the argument wins
    monkeypatch.setenv("IMGEN_MAX_PIXELS", "lots")
    with pytest.raises(ValueError, match="IMGEN_MAX_PIXELS"):
        imageio.pixel_limit()


def test_a_limit_above_opencvs_own_says_how_to_raise_that(tmp_path):
    # OpenCV refuses images over OPENCV_IO_MAX_IMAGE_PIXELS (2**30 unless set before it loads)
    with pytest.raises(ImageFileError, match="OPENCV_IO_MAX_IMAGE_PIXELS"):
        read_image(bomb_png(tmp_path / "bomb.png"), max_pixels=10**10)


def test_imgen_max_pixels_raises_opencvs_limit_when_set_before_start():
    code = "import os, imgen.imageio; print(os.environ.get('OPENCV_IO_MAX_IMAGE_PIXELS'))"
    env = dict(os.environ, IMGEN_MAX_PIXELS="2000000000")
    env.pop("OPENCV_IO_MAX_IMAGE_PIXELS", None)
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=60)
    assert res.stdout.strip() == "2000000000", res.stderr


def test_opencv_errors_become_image_file_errors(tmp_path):
    with pytest.raises(ImageFileError, match="x.png: OpenCV could not encode"):
        write_image(tmp_path / "x.png", np.zeros((2, 2, 5), np.uint8))
    assert not list(tmp_path.iterdir())


# -- EXIF orientation and ICC profiles ---------------------------------------------------------

@pytest.fixture
def srgb() -> bytes:
    return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()


@pytest.mark.parametrize("ext", [".png", ".jpg", ".tif", ".webp"])
def test_exif_orientation_is_applied_on_read(tmp_path, rng, ext):
    y, x = np.mgrid[0:6, 0:10]
    rgb = np.stack([x * 25, y * 40, (x + y) * 10], axis=2).astype(np.uint8)  # smooth: JPEG stays close
    rgb[0, 0] = (255, 0, 0)
    for orientation in range(1, 9):
        path = save_with_pillow(tmp_path / f"o{orientation}{ext}", rgb, orientation=orientation)
        stored = pillow_rgb(path) if ext == ".jpg" else rgb
        got = read_image(path)[..., ::-1]
        want = upright(stored, orientation)
        assert got.shape == want.shape, (ext, orientation)
        assert np.abs(got.astype(int) - want).max() <= (3 if ext == ".jpg" else 0), (ext, orientation)


@pytest.mark.parametrize("ext", [".png", ".tif"])
def test_orientation_of_gray_16_bit_images(tmp_path, rng, ext):
    gray = rng.integers(0, 65536, (5, 9), dtype=np.uint16)
    for orientation in range(1, 9):
        path = tmp_path / f"g{orientation}{ext}"
        exif = Image.Exif()
        exif[0x0112] = orientation
        Image.fromarray(gray).save(path, exif=exif.tobytes())
        np.testing.assert_array_equal(read_image(path), upright(gray, orientation))


@pytest.mark.parametrize("ext", [".png", ".jpg", ".tif", ".webp"])
def test_icc_profiles_are_read_and_written(tmp_path, rng, ext, srgb):
    rgb = rng.integers(0, 256, (6, 10, 3), dtype=np.uint8)
    src = save_with_pillow(tmp_path / f"in{ext}", rgb, icc=srgb)
    pixels, profile = imageio.read_image_and_profile(src)
    assert profile == srgb
    out = tmp_path / f"out{ext}"
    write_image(out, pixels, icc_profile=profile)
    with Image.open(out) as im:
        assert im.info.get("icc_profile") == srgb
        im.load()  # the file is still valid
    np.testing.assert_array_equal(read_image(out), cv2.imdecode(cv2.imencode(ext, pixels)[1], cv2.IMREAD_UNCHANGED))
    assert imageio.read_image_and_profile(out)[1] == srgb


@pytest.mark.parametrize("name,shape,dtype", [("a.png", (6, 10, 4), np.uint16), ("b.tif", (6, 10), np.float32),
                                              ("c.webp", (6, 10, 4), np.uint8), ("d.tif", (6, 10, 3), np.uint16)])
def test_icc_profiles_go_into_deep_gray_and_alpha_files(tmp_path, srgb, name, shape, dtype):
    img = np.full(shape, 7, dtype)
    profile = srgb
    if len(shape) == 2:
        profile = ImageCms.ImageCmsProfile(ImageCms.createProfile("LAB")).tobytes()
        profile = profile[:16] + b"GRAY" + profile[20:]  # a gray profile's header (enough for this check)
    write_image(tmp_path / name, img, icc_profile=profile)
    assert imageio.read_image_and_profile(tmp_path / name)[1] == profile
    np.testing.assert_array_equal(read_image(tmp_path / name), img)


def test_a_large_icc_profile_spans_several_jpeg_segments(tmp_path, srgb):
    big = srgb[:0x24] + srgb[0x24:] + bytes(150_000)  # over two APP2 segments
    write_image(tmp_path / "x.jpg", np.zeros((4, 4, 3), np.uint8), icc_profile=big)
    with Image.open(tmp_path / "x.jpg") as im:
        assert im.info["icc_profile"] == big


def test_which_profiles_fit(srgb):
    color, gray = np.zeros((2, 2, 3), np.uint8), np.zeros((2, 2), np.uint8)
    assert icc_problem(srgb, color, "x.png") is None
    assert "cannot hold" in icc_problem(srgb, color, "x.bmp")
    assert "RGB" in icc_problem(srgb, gray, "x.png")
    assert "not an ICC profile" in icc_problem(b"junk", color, "x.png")


# -- the folder walker ----------------------------------------------------------------------------

def test_an_output_folder_inside_the_input_folder_is_not_read(tmp_path):
    src = tmp_path / "in"
    (src / "out" / "deeper").mkdir(parents=True)
    for p in ["a.png", "out/a.png", "out/deeper/b.png"]:
        (src / p).write_bytes(b"x")
    jobs, problems = plan_outputs([src], src / "out")
    assert problems == [] and [(j.source.name, j.target) for j in jobs] == [("a.png", src / "out" / "a.png")]
    jobs, problems = plan_outputs([src], src / "out" / "..")  # the input itself: refused, not skipped
    assert "would overwrite an input" in problems[0]


def test_an_unreadable_subfolder_is_a_problem(tmp_path, monkeypatch):
    src = tmp_path / "in"
    (src / "locked").mkdir(parents=True)
    (src / "a.png").write_bytes(b"x")
    (src / "locked" / "b.png").write_bytes(b"x")
    deny(monkeypatch, src / "locked")
    jobs, problems = plan_outputs([src], tmp_path / "out")
    assert [j.source.name for j in jobs] == ["a.png"]
    assert problems == [f"{src / 'locked'}: cannot read the folder (Permission denied)"]
    jobs, problems = find_images([src / "locked"])
    assert jobs == [] and problems == [f"{src / 'locked'}: cannot read the folder (Permission denied)"]


def test_walk_files_not_recursive_lists_only_the_folder_itself(tmp_path):
    for name in ("b.PNG", "a.png", "sub/c.png", "notes.txt", ".a.png.0123abcd.tmp", ".d.0123abcd.tmp.png"):
        (tmp_path / name).parent.mkdir(exist_ok=True)
        (tmp_path / name).write_bytes(b"x")
    problems = []
    assert walk_files(tmp_path, [".png"], problems, recursive=False) == [tmp_path / "a.png", tmp_path / "b.PNG"]
    assert walk_files(tmp_path, [".png"], problems) == [tmp_path / "a.png", tmp_path / "b.PNG",
                                                        tmp_path / "sub" / "c.png"]
    assert problems == []


def test_imgen_temp_files_are_never_inputs_and_stale_ones_go(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    targets = [out / "a.png", out / "v.mp4"]
    stale = [".a.png.0123abcd.tmp", ".v.89abcdef.tmp.mp4"]
    users = [".a.png.notes.tmp", "a.png.0123abcd.tmp", ".b.png.0123abcd.tmp", ".a.png.0123ABCD.tmp",
             ".a.png.0123abcd.tmp.bak", ".v.89abcdef.tmp.mkv", ".c.0123abcd.tmp.png", "a.png"]
    for name in stale + users:
        (out / name).write_bytes(b"x")
    assert [p.name for p, _ in find_images([out])[0]] == ["a.png"]
    assert sorted(p.name for p in atomic.remove_stale_temps(targets)) == sorted(stale)
    assert sorted(p.name for p in out.iterdir()) == sorted(users)


def test_decode_image_matches_read_image_and_guards_pixels(tmp_path):
    from imgen.imageio import PixelLimitError, decode_image, encode_image

    img = np.arange(12 * 7 * 3, dtype=np.uint8).reshape(12, 7, 3)
    path = tmp_path / "a.png"
    path.write_bytes(encode_image(img, ".png"))
    got, profile = decode_image(path.read_bytes(), name="upload")
    np.testing.assert_array_equal(got, read_image(path))
    assert profile is None
    with pytest.raises(PixelLimitError, match="upload: 7x12 = 84 pixels is over the limit of 83"):
        decode_image(path.read_bytes(), name="upload", max_pixels=83)
    with pytest.raises(ImageFileError, match="upload: not a readable image"):
        decode_image(b"\x89PNG junk", name="upload")


def test_out_of_memory_while_decoding_names_the_file_and_is_both_kinds(tmp_path, monkeypatch):
    path = tmp_path / "big.png"
    cv2.imwrite(str(path), np.zeros((5, 7), np.uint8))

    def imdecode(*_):
        raise MemoryError()
    monkeypatch.setattr(imageio.cv2, "imdecode", imdecode)
    with pytest.raises(imageio.ImageMemoryError, match=r"big\.png: not enough memory to decode this 7x5 image") as e:
        imageio.read_image(path)
    assert isinstance(e.value, imageio.ImageFileError) and isinstance(e.value, MemoryError)


def test_a_small_image_padded_to_gigabytes_is_refused_before_it_is_read(tmp_path):
    # #33 item 2: a 128x128 PNG padded to 3 GB (sparse, ~20 KB on disk) was read whole before the
    # header was looked at (peak RSS 3.25 GB).  Now the header comes from the stream: refused with
    # both sizes named, and the child's peak stays far below the file's size.
    from isolated import PEAK_RSS, run_python

    path = tmp_path / "padded.png"
    cv2.imwrite(str(path), np.random.default_rng(0).integers(0, 256, (128, 128), dtype=np.uint8))
    with open(path, "r+b") as f:
        f.truncate(3 * 2**30)  # sparse: nothing written
    res = run_python(
        PEAK_RSS + "from imgen.imageio import read_image, ImageFileError\n"
        f"try:\n    read_image({str(path)!r})\nexcept ImageFileError as e:\n    print('refused:', e)\n"
        "print('peak', peak_rss())\n",
        memory_limit=2 * 2**30, timeout=120)
    assert res.returncode == 0, res.stderr[-2000:]
    assert "refused:" in res.stdout and "3,221,225,472 bytes" in res.stdout and "128x128" in res.stdout
    assert "at most 67,633,152 bytes" in res.stdout
    assert int(res.stdout.split("peak ")[1]) < 500 * 2**20, res.stdout
    # bytes in memory (an upload) get the same check; only those 70 MB are read (reading the whole
    # sparse file to slice it took most of a minute on a loaded CI machine)
    with open(path, "rb") as f:
        upload = f.read(70_000_000)
    with pytest.raises(ImageFileError, match=r"upload: the file is 70,000,000 bytes, but the 128x128"):
        imageio.decode_image(upload, name="upload")


def test_a_file_that_fits_its_pixels_is_read(tmp_path):
    path = tmp_path / "ok.png"
    cv2.imwrite(str(path), np.zeros((20, 30), np.uint8))
    with open(path, "ab") as f:
        f.write(b"\0" * 100_000)  # trailing junk well within the allowance
    assert read_image(path).shape == (20, 30)


def test_an_error_without_a_message_never_prints_an_empty_reason(tmp_path, monkeypatch):
    # `cannot read (MemoryError: )` under ulimit -v
    from imgen import batch
    from imgen.errors import error_reason

    assert error_reason(MemoryError()).startswith("out of memory (MemoryError)")
    assert error_reason(OSError()) == "OSError (no message)"
    assert error_reason(KeyError("x")) == "KeyError: 'x'"

    def boom(*_a, **_k):
        raise MemoryError()
    monkeypatch.setattr(batch, "read_image_and_profile", boom)
    err = batch._read(imageio.Job(tmp_path / "a.png", tmp_path / "b.png"), None)
    assert str(err).endswith("cannot read (out of memory (MemoryError): the process may not have this much "
                             "memory, e.g. under ulimit -v)")

    def no_memory(*_a, **_k):
        raise MemoryError()
    path = tmp_path / "a.png"
    cv2.imwrite(str(path), np.zeros((5, 7), np.uint8))
    monkeypatch.setattr(imageio, "FileBytes", no_memory)
    with pytest.raises(imageio.ImageMemoryError, match=r"a\.png: not enough memory to read this [0-9,]+-byte file"):
        imageio.read_image(path)


def test_multi_page_tiffs_warn_and_two_sample_tiffs_are_refused(tmp_path, caplog):
    # #33 item 4: a multi-page TIFF was silently cut to page 1; a 2-sample one lost its second channel
    import tifffile

    pages = tmp_path / "pages.tif"
    with tifffile.TiffWriter(pages) as w:
        for k in range(3):
            w.write(np.full((20, 30), k * 50, np.uint8))
    with caplog.at_level("WARNING", logger="imgen"):
        img = read_image(pages)
    assert img.shape == (20, 30) and img.max() == 0
    assert "multi-page TIFF (3 pages); only page 1 is read" in caplog.text

    two = tmp_path / "two.tif"
    tifffile.imwrite(two, np.zeros((20, 30, 2), np.uint8), photometric="minisblack", planarconfig="contig")
    with pytest.raises(ImageFileError, match=r"two.tif: a TIFF with 2 samples per pixel.*refuses it"):
        read_image(two)
    caplog.clear()
    one = tmp_path / "one.tif"
    tifffile.imwrite(one, np.zeros((20, 30, 3), np.uint8), photometric="rgb")
    with caplog.at_level("WARNING", logger="imgen"):
        assert read_image(one).shape == (20, 30, 3)
    assert "multi-page" not in caplog.text
