"""imgen.video.encoding: choosing and setting up the encoder -- codec, pixel format, CRF/preset and
encoder options, with clear errors for what FFmpeg or the container would refuse or ignore, and
odd frame sizes against chroma subsampling."""
from __future__ import annotations

import cv2
import pytest

av = pytest.importorskip("av")

from imgen.cli import main  # noqa: E402
from imgen.metrics import psnr  # noqa: E402
from imgen.video import EncodeOptions, VideoError, process_video  # noqa: E402

import video_clips as vc  # noqa: E402
from video_runs import identity, leftovers  # noqa: E402


def test_encoder_options_and_fallbacks(clips, tmp_path, capsys):
    dst = tmp_path / "m.mkv"  # (AVI would lose the BT.709 tag: decoders then assume BT.601)
    summary = process_video(clips["mp4"], dst, identity, options=EncodeOptions(codec="mpeg4"))
    got = vc.read_clip(dst)
    assert summary.frames_out == 20 and got["streams"][0] == ("video", "mpeg4")
    assert psnr(vc.read_clip(clips["mp4"])["frames"][3], got["frames"][3]) > 30
    dst = tmp_path / "x.mkv"
    assert main(["video", str(clips["mp4"]), "-o", str(dst), "--method", "wavelet", "-q", "--crf", "30",
                 "--preset", "ultrafast", "--pix-fmt", "yuv444p", "--encoder-option", "tune=zerolatency"]) == 0
    assert vc.read_clip(dst)["pix_fmt"] == "yuv444p"
    assert main(["video", str(clips["mp4"]), "-o", str(tmp_path / "y.mp4"), "--method", "wavelet",
                 "--codec", "nosuchcodec"]) == 1
    assert "not in this FFmpeg build" in capsys.readouterr().err
    assert main(["video", str(clips["mp4"]), "-o", str(tmp_path / "y.mp4"), "--method", "wavelet",
                 "--pix-fmt", "rgb8"]) == 1
    assert "does not take pixel format" in capsys.readouterr().err
    assert main(["video", str(clips["mp4"]), "-o", str(tmp_path / "y.mp4"), "--method", "wavelet",
                 "--encoder-option", "movflags=faststart"]) == 1
    assert "has no option movflags" in capsys.readouterr().err
    assert leftovers(tmp_path) == []


def test_odd_sized_frames_need_a_pixel_format_without_subsampling(tmp_path):
    folder = tmp_path / "odd"
    folder.mkdir()
    for i in range(3):
        cv2.imwrite(str(folder / f"{i}.png"), vc.frame_image(i, 15, 21))
    with pytest.raises(VideoError, match="needs even sizes"):
        process_video(folder, tmp_path / "o.mp4", identity)
    summary = process_video(folder, tmp_path / "o.mkv", identity, options=EncodeOptions(pix_fmt="yuv444p"))
    assert summary.frames_out == 3 and vc.read_clip(tmp_path / "o.mkv")["size"] == (21, 15)
    assert leftovers(tmp_path) == []
