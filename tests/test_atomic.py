"""imgen.atomic: temporary files beside the target, renamed into place only when complete."""
from __future__ import annotations

import os

import pytest

from imgen.atomic import (TempFileError, atomic_write, commit, create_temp_beside, discard, is_temp_file,
                          remove_stale_temps)


@pytest.fixture
def umask_022():
    old = os.umask(0o022)
    yield
    os.umask(old)


def names(folder):
    return sorted(p.name for p in folder.iterdir())


@pytest.mark.parametrize("mode, data", [("wb", b"new"), ("w", "new")])
def test_the_target_appears_complete_and_no_temp_file_stays(tmp_path, mode, data):
    target = tmp_path / "sub" / "x.bin"
    with atomic_write(target, mode=mode) as f:
        f.write(data)
        temps = list(target.parent.iterdir())
        assert len(temps) == 1 and is_temp_file(temps[0]) and temps[0].name.startswith(".x.bin.")
    assert target.read_bytes() == b"new" and names(target.parent) == ["x.bin"]


def test_a_path_when_the_writer_opens_the_file_itself(tmp_path):
    target = tmp_path / "v.mp4"
    with atomic_write(target, keep_suffix=True, mode=None) as tmp:
        assert tmp.parent == tmp_path and tmp.suffix == ".mp4" and tmp.exists() and is_temp_file(tmp)
        tmp.write_bytes(b"video")
    assert target.read_bytes() == b"video" and names(tmp_path) == ["v.mp4"]


@pytest.mark.parametrize("error", [ValueError("bad data"), KeyboardInterrupt()])
def test_failure_removes_the_temp_file_and_leaves_the_target_untouched(tmp_path, error):
    target = tmp_path / "x.bin"
    target.write_bytes(b"old")
    with pytest.raises(type(error)):
        with atomic_write(target) as f:
            f.write(b"half")
            raise error
    assert target.read_bytes() == b"old" and names(tmp_path) == ["x.bin"]


def test_a_failed_rename_removes_the_temp_file(tmp_path, monkeypatch):
    target = tmp_path / "x.bin"
    target.write_bytes(b"old")

    def full(*a, **k):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", full)
    with pytest.raises(OSError, match="No space left"):
        with atomic_write(target) as f:
            f.write(b"new")
    assert target.read_bytes() == b"old" and names(tmp_path) == ["x.bin"]


@pytest.mark.parametrize("mode", ["wb", None])
def test_files_get_the_umask_permissions_not_0600(tmp_path, umask_022, mode):
    with atomic_write(tmp_path / "x.bin", mode=mode) as f:
        if mode is None:
            assert f.stat().st_mode & 0o777 == 0o644
    assert (tmp_path / "x.bin").stat().st_mode & 0o777 == 0o644
    fd, tmp = create_temp_beside(tmp_path / "y.bin")
    os.close(fd)
    assert tmp.stat().st_mode & 0o777 == 0o644


def test_commit_and_discard_for_temp_files_that_live_across_calls(tmp_path):
    target = tmp_path / "v.mkv"
    fd, tmp = create_temp_beside(target, keep_suffix=True)
    os.write(fd, b"frames")
    os.close(fd)
    assert tmp.name.startswith(".v.") and tmp.name.endswith(".tmp.mkv")
    commit(tmp, target)
    assert target.read_bytes() == b"frames" and names(tmp_path) == ["v.mkv"]
    fd, tmp = create_temp_beside(target, keep_suffix=True)
    os.close(fd)
    discard(tmp)
    discard(tmp)  # already gone: nothing happens
    assert names(tmp_path) == ["v.mkv"]


def test_an_unwritable_folder_names_the_target(tmp_path, monkeypatch):
    def denied(*a, **k):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(os, "open", denied)
    with pytest.raises(TempFileError, match=r"x\.bin: cannot create a file in .*Permission denied"):
        with atomic_write(tmp_path / "x.bin"):
            pass


def test_every_temp_name_is_one_remove_stale_temps_recognises(tmp_path):
    targets = [tmp_path / "a.png", tmp_path / "v.mp4", tmp_path / "lat.npz"]
    made = []
    for target, keep in zip(targets, (False, True, False)):
        fd, tmp = create_temp_beside(target, keep_suffix=keep)
        os.close(fd)
        made.append(tmp)
    (tmp_path / ".a.png.notes.tmp").write_bytes(b"not ours")
    assert all(is_temp_file(t) for t in made)
    assert sorted(remove_stale_temps(targets)) == sorted(made)
    assert names(tmp_path) == [".a.png.notes.tmp"]
