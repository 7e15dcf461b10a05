"""imgen.video.encoding: choosing and setting up the encoder -- codec, pixel format, CRF/preset and
encoder options, with clear errors for what FFmpeg or the container would refuse or ignore, and
odd frame sizes against chroma subsampling."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

av = pytest.importorskip("av")

import imgen  # noqa: E402
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
    with pytest.raises(VideoError, match="needs even sizes.*even='pad' or even='crop'"):
        process_video(folder, tmp_path / "o.mp4", identity)
    summary = process_video(folder, tmp_path / "o.mkv", identity, options=EncodeOptions(pix_fmt="yuv444p"))
    assert summary.frames_out == 3 and vc.read_clip(tmp_path / "o.mkv")["size"] == (21, 15)
    assert leftovers(tmp_path) == []


@pytest.mark.parametrize("flag, size", [("--pad", (22, 16)), ("--crop", (20, 14))])
def test_pad_or_crop_odd_frames_to_even(tmp_path, capsys, flag, size):
    folder = tmp_path / "odd"
    folder.mkdir()
    frames = [vc.frame_image(i, 15, 21) for i in range(3)]
    for i, f in enumerate(frames):
        cv2.imwrite(str(folder / f"{i}.png"), f[..., ::-1])
    dst = tmp_path / "o.mp4"
    assert main(["video", str(folder), "-o", str(dst), "--method", "wavelet", "--sigma", "1", "-q", flag]) == 0
    assert f"{'padded' if flag == '--pad' else 'cropped'}" in capsys.readouterr().err
    got = vc.read_clip(dst)
    assert got["size"] == size and got["pix_fmt"] == "yuv420p"
    assert psnr(frames[1][:14, :20], got["frames"][1][:14, :20]) > 30
    if flag == "--pad":  # the new column and row repeat the last ones
        assert np.abs(got["frames"][1][:, 21].astype(int) - got["frames"][1][:, 20]).mean() < 4


def test_ten_bit_sources_keep_their_depth_or_are_refused(tmp_path, capsys):
    """No silent cut to 8 bits: VP9 here is 8-bit only, so .webm gets AV1 10-bit; naming VP9 is refused."""
    src = vc.make_clip(tmp_path / "deep.mkv", frames=3, pix_fmt="yuv420p10le", audio=False, width=128, height=64)
    dst = tmp_path / "o.webm"
    assert main(["video", str(src), "-o", str(dst), "--method", "wavelet", "--sigma", "1", "-q"]) == 0
    got = vc.read_clip(dst)
    assert got["streams"][0][0] == "video" and got["pix_fmt"] == "yuv420p10le"

    def luma_levels(path):
        with av.open(str(path)) as c:
            return len(np.unique(next(c.decode(video=0)).to_ndarray(format="gray16le")))
    assert luma_levels(dst) > 0.8 * luma_levels(src) and luma_levels(src) > 300  # not 8 bits' worth
    assert main(["video", str(src), "-o", str(tmp_path / "v.webm"), "--method", "wavelet", "--codec",
                 "libvpx-vp9"]) == 1
    assert "takes only 8-bit formats" in capsys.readouterr().err
    assert main(["video", str(src), "-o", str(tmp_path / "v.webm"), "--method", "wavelet", "--codec",
                 "libvpx-vp9", "--pix-fmt", "yuv420p", "-q"]) == 0  # 8 bits, asked for
    assert vc.read_clip(tmp_path / "v.webm")["pix_fmt"] == "yuv420p"
    assert leftovers(tmp_path) == []


def test_codec_same_as_input(clips, tmp_path, capsys):
    hevc = vc.make_clip(tmp_path / "h.mkv", frames=3, codec="libx265", audio=False,
                        options={"x265-params": "log-level=error"})
    process_video(hevc, tmp_path / "o.mkv", identity, options=EncodeOptions(codec="same", quiet=True))
    assert vc.read_clip(tmp_path / "o.mkv")["streams"][0] == ("video", "hevc")
    process_video(clips["mp4"], tmp_path / "o.mp4", identity, options=EncodeOptions(codec="same"))
    assert vc.read_clip(tmp_path / "o.mp4")["streams"][0] == ("video", "h264")
    folder = tmp_path / "frames"
    folder.mkdir()
    cv2.imwrite(str(folder / "1.png"), vc.frame_image(0, 16, 16))
    assert main(["video", str(folder), "-o", str(tmp_path / "f.mp4"), "--method", "wavelet", "--codec", "same"]) == 1
    assert "codec='same' needs a video file" in capsys.readouterr().err


def test_quiet_silences_encoder_libraries(tmp_path, capfd):
    """x265 prints its [info] lines straight to stderr, past FFmpeg's logging."""
    src = vc.make_clip(tmp_path / "s.mp4", frames=2, audio=False)
    args = ["video", str(src), "-o", str(tmp_path / "o.mkv"), "--method", "wavelet", "--codec", "libx265"]
    capfd.readouterr()
    assert main(args) == 0
    assert "x265 [info]" in capfd.readouterr().err  # the premise
    assert main(args + ["-q"]) == 0
    err = capfd.readouterr().err
    assert "[info]" not in err and "frames out 2" in err


@pytest.mark.parametrize("avx512", [True, False])
def test_x264_is_held_to_avx2_where_the_cpu_has_avx512(clips, tmp_path, monkeypatch, avx512):
    """asm=AVX2 goes before the caller's own x264 parameters (theirs win), and only where the CPU
    has the AVX-512 kernels it would use."""
    from imgen.video import encoding
    from imgen.video.source import VideoFileSource

    monkeypatch.setattr(encoding, "cpu_has_avx512", lambda: avx512)
    source = VideoFileSource(clips["mp4"], copy_streams=False)
    source.close()
    options = EncodeOptions(codec="libx264", extra={"x264-params": "keyint=5"})
    with av.open(str(tmp_path / "o.mp4"), "w") as container:
        codec = encoding.pick_codec(av, options, container, source.info)
        stream, _ = encoding.add_video_stream(av, container, codec, options, source.info, pix_fmt="yuv420p")
        params = stream.codec_context.options["x264-params"]
    assert params == ("asm=AVX2:keyint=5" if avx512 else "keyint=5")


def test_x264_bytes_do_not_depend_on_what_the_heap_held(clips, tmp_path):
    """The same frames encode to the same bytes whatever was in the memory the encoder was given:
    x264's AVX-512 kernels let garbage in reused heap into the bitstream (one frame of a Ray run
    differed from the local run), which MALLOC_PERTURB_ (glibc: fill new allocations) shows in
    every run on a CPU that has them.  Elsewhere they are not used and this passes either way."""
    code = ("import sys\n"
            "from imgen.video import process_video\n"
            "process_video(sys.argv[1], sys.argv[2], lambda frames: frames, part_seconds=None)\n")
    outputs = []
    for perturb in ("", "85", "170"):
        out = tmp_path / f"perturb{perturb or 0}.mp4"
        env = dict(os.environ, MALLOC_PERTURB_=perturb,
                   PYTHONPATH=os.pathsep.join([str(Path(imgen.__file__).resolve().parent.parent),
                                               os.environ.get("PYTHONPATH", "")]))
        res = subprocess.run([sys.executable, "-c", code, str(clips["mp4"]), str(out)], capture_output=True,
                             text=True, env=env, timeout=120)
        assert res.returncode == 0, res.stderr
        outputs.append(out.read_bytes())
    assert outputs[1] == outputs[0] and outputs[2] == outputs[0]
