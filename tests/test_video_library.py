"""imgen.video.library: a folder of videos (`imgen video FOLDER -o OUTFOLDER`) -- planning the jobs,
telling a library from a frame folder, the one-after-another loop and its LibrarySummary."""
from __future__ import annotations

import importlib.util
import os

import cv2
import pytest

from imgen.cli import main

import video_clips as vc

needs_av = pytest.mark.skipif(importlib.util.find_spec("av") is None, reason="needs PyAV: pip install 'imgen[video]'")


def test_a_library_output_inside_the_library_is_never_read(clips, tmp_path, capsys):
    lib = tmp_path / "lib"
    lib.mkdir()
    os.link(clips["mp4"], lib / "a.mp4")
    for _ in range(2):
        assert main(["video", str(lib), "-o", str(lib / "out"), "--method", "wavelet", "-q"]) == 0
        assert "wrote 1 of 1 video(s)" in capsys.readouterr().err
    assert sorted(p.relative_to(lib).as_posix() for p in lib.rglob("*")) == ["a.mp4", "out", "out/a.mp4"]


@needs_av
def test_a_video_written_into_its_frame_folder_is_not_taken_for_a_library(tmp_path, capsys):
    folder = tmp_path / "frames"
    folder.mkdir()
    for i in range(4):
        cv2.imwrite(str(folder / f"{i}.png"), vc.frame_image(i, 16, 16))
    for _ in range(2):
        assert main(["video", str(folder), "-o", str(folder / "clip.mp4"), "--method", "wavelet", "-q"]) == 0
        assert "frames in 4, frames out 4" in capsys.readouterr().err
    assert len(vc.read_clip(folder / "clip.mp4")["frames"]) == 4


def test_resume_removes_stale_video_temp_files(clips, tmp_path):
    lib, out = tmp_path / "lib", tmp_path / "out"
    lib.mkdir()
    out.mkdir()
    os.link(clips["mp4"], lib / "a.mp4")
    (out / ".a.0123abcd.tmp.mp4").write_bytes(b"killed -9")
    keep = out / ".a.mp4.backup"
    keep.write_bytes(b"mine")
    assert main(["video", str(lib), "-o", str(out), "--method", "wavelet", "-q", "--resume"]) == 0
    assert sorted(p.name for p in out.iterdir()) == [".a.mp4.backup", "a.mp4"]
