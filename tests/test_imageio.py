"""Image file reading, atomic writing and output planning."""
from __future__ import annotations

import os

import numpy as np
import pytest

from imgen.imageio import ImageFileError, fit_to_format, plan_outputs, read_image, write_image


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
