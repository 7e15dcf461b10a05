"""imgen.video.paths: where frames come from and go -- video files, frame folders and %d patterns,
and outputs that would overwrite the input refused."""
from __future__ import annotations

import cv2
import numpy as np
import pytest

from imgen.cli import main
from imgen.metrics import psnr
from imgen.video import VideoError, process_video

import video_clips as vc
from video_runs import identity


def test_frame_folders_in_and_out(clips, tmp_path):
    frames_dir = tmp_path / "frames"
    summary = process_video(clips["mp4"], f"{frames_dir}/%04d.png", identity)
    assert summary.frames_out == 20 and any("audio" in n and "frame folders" in n for n in summary.notes)
    files = sorted(frames_dir.iterdir())
    assert [p.name for p in files[:2]] == ["0001.png", "0002.png"] and len(files) == 20
    back = tmp_path / "back.mp4"
    summary = process_video(frames_dir, back, identity, fps=12.5)
    got = vc.read_clip(back)
    assert summary.frames_out == 20 and len(got["frames"]) == 20
    np.testing.assert_allclose(got["times"], np.arange(20) / 12.5, atol=1e-3)
    first = cv2.imread(str(files[0]))[..., ::-1]
    assert psnr(first, got["frames"][0]) > 38
    # a folder in, a folder out (no video involved), and a bare folder as output
    out = tmp_path / "copy"
    summary = process_video(f"{frames_dir}/%04d.png", out, identity)
    assert summary.frames_out == 20 and (out / "000001.png").exists()
    with pytest.raises(VideoError, match="overwrite input frames"):
        process_video(frames_dir, f"{frames_dir}/%04d.png", identity)


def test_input_is_never_overwritten(clips, tmp_path, capsys):
    before = clips["mp4"].read_bytes()
    assert main(["video", str(clips["mp4"]), "-o", str(clips["mp4"]), "--method", "wavelet", "-q"]) == 1
    assert "would overwrite the input" in capsys.readouterr().err
    assert clips["mp4"].read_bytes() == before
