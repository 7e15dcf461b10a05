"""imgen.video.paths: where frames come from and go -- video files, frame folders and %d patterns,
and outputs that would overwrite the input refused."""
from __future__ import annotations

import cv2
import numpy as np
import pytest

from imgen.cli import main
from imgen.metrics import psnr
from imgen.video import VideoError, process_video
from imgen.video.paths import Location, check_not_input, frame_files, input_location, output_location, partial_path

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


# -- locations, without PyAV --------------------------------------------------------------------

def test_input_locations(tmp_path):
    (tmp_path / "clip.mp4").write_bytes(b"x")
    assert input_location(tmp_path / "clip.mp4") == Location(tmp_path / "clip.mp4")
    assert input_location(tmp_path) == Location(tmp_path, str(tmp_path / "*"))
    pattern = input_location(f"{tmp_path}/f_%04d.png")
    assert pattern == Location(tmp_path, f"{tmp_path}/f_%04d.png") and pattern.is_frames
    assert str(pattern) == f"{tmp_path}/f_%04d.png" and str(input_location(tmp_path / "clip.mp4")) == str(tmp_path / "clip.mp4")
    with pytest.raises(VideoError, match="no such file or folder"):
        input_location(tmp_path / "gone.mp4")
    with pytest.raises(VideoError, match="must hold one %d"):
        input_location(f"{tmp_path}/%d_%d.png")
    with pytest.raises(VideoError, match="must end in an image extension"):
        input_location(f"{tmp_path}/%06d.mp4")


def test_output_locations(tmp_path):
    assert output_location(tmp_path) == Location(tmp_path, str(tmp_path / "%06d.png"))
    assert output_location(f"{tmp_path}/new/") == Location(tmp_path / "new", str(tmp_path / "new" / "%06d.png"))
    assert output_location(tmp_path / "noext") == Location(tmp_path / "noext", str(tmp_path / "noext" / "%06d.png"))
    assert output_location(tmp_path / "o.mkv") == Location(tmp_path / "o.mkv")
    assert output_location(f"{tmp_path}/%03d.tif") == Location(tmp_path, f"{tmp_path}/%03d.tif")
    with pytest.raises(VideoError, match=r"an image file cannot hold a video; .*/o_%06d\.png or a folder"):
        output_location(tmp_path / "o.png")


def test_frame_files_in_natural_or_numbered_order(tmp_path):
    for name in ("10.png", "2.png", "1.jpg", "notes.txt", "f_0003.png", "f_0001.png", "f_12.png", "f_00002.png"):
        (tmp_path / name).write_bytes(b"x")
    (tmp_path / "9.png").mkdir()  # a folder, whatever its name
    names = [p.name for p in frame_files(input_location(tmp_path))]
    assert names == ["1.jpg", "2.png", "10.png", "f_0001.png", "f_00002.png", "f_0003.png", "f_12.png"]
    numbered = frame_files(input_location(f"{tmp_path}/f_%04d.png"))
    assert [p.name for p in numbered] == ["f_0001.png", "f_00002.png", "f_0003.png"]  # 4 digits or more
    assert [p.name for p in frame_files(input_location(f"{tmp_path}/f_%d.png"))] == [
        "f_0001.png", "f_00002.png", "f_0003.png", "f_12.png"]
    with pytest.raises(VideoError, match="no frames found"):
        frame_files(input_location(f"{tmp_path}/g_%d.png"))
    with pytest.raises(VideoError, match="no such folder"):
        frame_files(Location(tmp_path / "gone", str(tmp_path / "gone" / "*")))


def test_outputs_over_the_input_are_refused(tmp_path):
    clip = tmp_path / "clip.mp4"
    clip.write_bytes(b"x")
    assert partial_path(clip) == tmp_path / "clip.partial.mp4"
    with pytest.raises(VideoError, match="would overwrite the input"):
        check_not_input(input_location(clip), Location(clip))
    check_not_input(input_location(clip), Location(tmp_path / "other.mp4"))
    # nor may a stopped run's partial file land on the input
    (tmp_path / "o.partial.mkv").write_bytes(b"x")
    with pytest.raises(VideoError, match="would overwrite the input"):
        check_not_input(input_location(tmp_path / "o.partial.mkv"), Location(tmp_path / "o.mkv"))
    frames = [tmp_path / f"{i:06d}.png" for i in (1, 2, 3)]
    folder = Location(tmp_path, str(tmp_path / "*"))
    with pytest.raises(VideoError, match="would overwrite input frames such as"):
        check_not_input(folder, output_location(tmp_path), frames)
    check_not_input(folder, output_location(tmp_path / "out"), frames)
    check_not_input(folder, output_location(f"{tmp_path}/%04d.png"), frames)  # 0001.png is not 000001.png
    with pytest.raises(VideoError, match="would overwrite an input frame"):
        check_not_input(folder, Location(tmp_path / "000002.partial.png"), [tmp_path / "000002.partial.png"])
