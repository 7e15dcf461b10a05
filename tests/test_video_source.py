"""imgen.video.source: decoding video files and reading frame folders -- truncated and corrupt
inputs, demuxer errors, bad frames skipped or stopping the run, 10-bit sources as uint16, frame
files over the pixel limit.  Clips are made with PyAV (tests/video_clips.py)."""
from __future__ import annotations

import cv2
import numpy as np
import pytest

av = pytest.importorskip("av")

from imgen.cli import main  # noqa: E402
from imgen.metrics import psnr  # noqa: E402
from imgen.video import EncodeOptions, VideoError, process_video  # noqa: E402

import video_clips as vc  # noqa: E402
from video_runs import identity, leftovers  # noqa: E402


def test_a_resumed_source_is_not_taken_for_a_truncated_file(tmp_path):
    # #33 item 5: every resume of an mp4 (exact frame count in its header) noted "the video stream
    # ends after N of the M frames its header announces (truncated file?)", N the frames after the start
    from imgen.video.source import VideoFileSource

    clip = vc.make_clip(tmp_path / "in.mp4", frames=30)
    with av.open(str(clip)) as c:
        pts = [f.pts for f in c.decode(video=0)]
    src = VideoFileSource(clip)
    assert src.info.frames_exact and src.info.frames == 30
    src.start_at(pts[20])
    assert len(list(src.frames())) == 10
    assert not any("ends" in n for n in src.notes), src.notes

    cut = VideoFileSource(clip)  # a resumed run of a stream that does end early is still noted
    cut.start_at(pts[20])
    for i, _ in enumerate(cut.frames()):
        if i == 3:
            break
    cut._end = (pts[23] - pts[0]) * cut.info.time_base
    cut._account(0)
    assert any("ends at" in n and "truncated file?" in n for n in cut.notes), cut.notes


def test_truncated_and_corrupt_files(clips, tmp_path, capsys):
    data = clips["long"].read_bytes()
    cut = tmp_path / "cut.mp4"  # mp4 keeps its index at the end: nothing to read
    cut.write_bytes(data[: len(data) * 6 // 10])
    assert main(["video", str(cut), "-o", str(tmp_path / "a.mp4"), "--method", "wavelet", "-q"]) == 1
    assert "cannot open as a video" in capsys.readouterr().err
    assert not (tmp_path / "a.mp4").exists() and leftovers(tmp_path) == []

    mkv = tmp_path / "long.mkv"  # Matroska streams: a truncated file still plays up to the cut
    process_video(clips["long"], mkv, identity, options=EncodeOptions(preset="ultrafast"))
    data = mkv.read_bytes()
    (tmp_path / "cut.mkv").write_bytes(data[: len(data) * 6 // 10])
    # no decode error: what was there is processed (exit 0), the short stream noted
    assert main(["video", str(tmp_path / "cut.mkv"), "-o", str(tmp_path / "b.mkv"), "--method", "wavelet", "-q"]) == 0
    err = capsys.readouterr().err
    assert "note: the video stream ends at" in err and "s its header announces (truncated file?)" in err
    n_in = int(err.split("frames in ")[1].split(",")[0])
    assert 5 < n_in < 30 and f"frames out {n_in}," in err
    assert len(vc.read_clip(tmp_path / "b.mkv")["frames"]) == n_in

    fast = tmp_path / "fast.mp4"  # mp4 with its index first ("faststart"): opens, ends early
    with av.open(str(clips["long"])) as inp, av.open(str(fast), "w", options={"movflags": "faststart"}) as out:
        streams = {s.index: out.add_stream_from_template(s) for s in inp.streams}
        for p in inp.demux():
            if p.size:
                p.stream = streams[p.stream_index]
                out.mux(p)
    data = fast.read_bytes()
    (tmp_path / "fast_cut.mp4").write_bytes(data[: len(data) * 6 // 10])
    summary = process_video(tmp_path / "fast_cut.mp4", tmp_path / "f.mp4", identity)
    assert any("ends after" in n and "of the 30 frames its header announces" in n for n in summary.notes)
    assert 5 < summary.frames_in < 30 and summary.frames_out >= summary.frames_in - 1

    bad = bytearray(clips["long"].read_bytes())  # garbage over the middle of the stream
    mid = len(bad) // 2
    bad[mid:mid + 3000] = np.random.default_rng(0).integers(0, 256, 3000, dtype=np.uint8).tobytes()
    (tmp_path / "bad.mp4").write_bytes(bytes(bad))
    summary = process_video(tmp_path / "bad.mp4", tmp_path / "c.mp4", identity)
    assert summary.bad_frames and summary.complete
    assert summary.frames_in == 30 and summary.frames_out < 30  # every frame accounted for
    assert len(vc.read_clip(tmp_path / "c.mp4")["frames"]) == summary.frames_out
    with pytest.raises(VideoError, match="stopped at a bad frame") as info:
        process_video(tmp_path / "bad.mp4", tmp_path / "d.mp4", identity, on_bad_frame="stop")
    kept = info.value.summary.output
    assert kept == str(tmp_path / "d.partial.mp4") and not (tmp_path / "d.mp4").exists()
    assert 0 < len(vc.read_clip(kept)["frames"]) < 30

    (tmp_path / "junk.mp4").write_bytes(b"not a video at all" * 100)
    with pytest.raises(VideoError, match="cannot open as a video"):
        process_video(tmp_path / "junk.mp4", tmp_path / "e.mp4", identity)
    assert leftovers(tmp_path) == []


@pytest.mark.parametrize("vfr", [False, True])
def test_audio_outlasting_video_and_variable_rates_are_complete(tmp_path, capsys, vfr):
    """Issue #21: the frame estimate comes from the video stream (Matroska's per-stream DURATION),
    not the container's duration (here the audio's), and VFR streams are checked in time, not
    frames -- so these valid files are complete, exit 0, and count as done for --resume."""
    src = vc.make_clip(tmp_path / "in.mkv", frames=75, vfr=vfr, audio_seconds=6.0)
    with av.open(str(src)) as c:  # the premise: the container lasts longer than the video
        assert c.duration / 1e6 > 5.9 and c.streams.video[0].frames == 0
    out = tmp_path / "out" / "in.mkv"
    args = ["video", str(src), "-o", str(out), "--method", "wavelet", "-q", "--on-bad-frame", "stop"]
    assert main(args) == 0
    err = capsys.readouterr().err
    assert "frames in 75, frames out 75, bad 0" in err and "ends" not in err and "truncated" not in err
    assert out.exists() and not (tmp_path / "out" / "in.partial.mkv").exists()
    assert main(args + ["--resume"]) == 0
    assert "1 already done, skipped" in capsys.readouterr().err


def test_read_errors_are_reported_and_reading_resumes(clips, monkeypatch):
    """A demuxer error mid-file (rare with real files, so simulated): reported once, then reading
    goes on from where the demuxer stands; frames read are all accounted for."""
    from imgen.video.source import VideoFileSource

    source = VideoFileSource(clips["long"])
    real_demux = source._container.demux
    calls = [0]

    def flaky_demux(streams):
        calls[0] += 1
        for k, packet in enumerate(real_demux(streams)):
            if calls[0] == 1 and k == 10:
                raise av.error.InvalidDataError(1094995529, "Invalid data found when processing input")
            yield packet

    class Container:  # PyAV's container, with the flaky demux
        demux = staticmethod(flaky_demux)
        close = source._container.close

    monkeypatch.setattr(source, "_container", Container())
    frames = list(source.frames())
    assert len(source.bad_frames) == 1 and "unreadable data" in source.bad_frames[0]
    assert len(frames) == source.frames_in and 20 < len(frames) <= 30


def test_ten_bit_sources_come_as_uint16(tmp_path):
    src = vc.make_clip(tmp_path / "deep.mkv", frames=4, pix_fmt="yuv420p10le", audio=False)
    dtypes = []

    def record(frames):
        dtypes.extend(f.dtype for f in frames)
        return frames

    process_video(src, tmp_path / "o.mkv", record)
    assert set(dtypes) == {np.dtype(np.uint16)}
    got = vc.read_clip(tmp_path / "o.mkv")
    assert got["pix_fmt"] == "yuv420p10le"
    before = vc.read_clip(src)["frames"]
    assert min(psnr(a, b) for a, b in zip(before, got["frames"])) > 33
    shift = np.mean([b.astype(float) - a for a, b in zip(before, got["frames"])]) / 257
    assert abs(shift) < 0.5, shift  # in 8-bit levels


def test_a_decompression_bomb_among_frames_is_a_bad_frame(tmp_path, capsys):
    from image_files import bomb_png

    folder = tmp_path / "frames"
    folder.mkdir()
    for i in range(4):
        cv2.imwrite(str(folder / f"{i}.png"), vc.frame_image(i, 16, 16))
    bomb_png(folder / "2b.png")
    out = tmp_path / "out"
    assert main(["video", str(folder), "-o", str(out), "--method", "wavelet", "-q"]) == 1
    err = capsys.readouterr().err
    assert "2b.png: 60000x60000" in err and "over the limit" in err
    assert len(list(out.glob("*.png"))) == 4
    assert main(["video", str(folder), "-o", str(tmp_path / "o2"), "--method", "wavelet", "-q",
                 "--max-pixels", "200"]) == 1  # 16x16 = 256 pixels each: every frame refused
    assert "none of the 5 frame files" in capsys.readouterr().err
