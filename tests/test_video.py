"""imgen.video and `imgen video`: frames through a processor, decoded and encoded with PyAV.

Clips are made here with PyAV (tests/video_clips.py): tiny, short, with an AAC track.
"""
from __future__ import annotations

import os
import pickle
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import cv2
import numpy as np
import pytest

av = pytest.importorskip("av")

import imgen  # noqa: E402
from imgen.cli import main  # noqa: E402
from imgen.metrics import psnr  # noqa: E402
from imgen.video import (  # noqa: E402
    EncodeOptions,
    VideoError,
    VideoInterrupted,
    make_processor,
    process_frames,
    process_video,
)

import onnx_models as om  # noqa: E402
import video_clips as vc  # noqa: E402

def identity(frames):
    return [f.copy() for f in frames]


def leftovers(folder: Path) -> list[str]:
    """Temporary files a run left behind (they start with a dot)."""
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("."))


@pytest.fixture(scope="module")
def clips(tmp_path_factory):
    root = tmp_path_factory.mktemp("clips")
    return {
        "mp4": vc.make_clip(root / "cfr.mp4", frames=20),
        "vfr": vc.make_clip(root / "vfr.mkv", frames=18, vfr=True, subtitles=True),
        "long": vc.make_clip(root / "long.mp4", frames=30, width=128, height=96),
    }


# -- process_frames ---------------------------------------------------------------------------

def test_process_frames_keeps_order_and_batches(rng):
    frames = [rng.integers(0, 256, (8, 6, 3), dtype=np.uint8) for _ in range(11)]
    sizes = []

    def double(batch):
        sizes.append(len(batch))
        return [f // 2 for f in batch]

    out = list(process_frames(iter(frames), double, batch_size=4, queue_size=2))
    assert len(out) == 11
    for a, b in zip(frames, out):
        np.testing.assert_array_equal(a // 2, b)
    assert sizes == [4, 4, 3]


def test_process_frames_reads_ahead_only_so_far():
    read = []

    def source():
        for i in range(1000):
            read.append(i)
            yield np.full((2, 2), i % 256, np.uint8)

    it = process_frames(source(), identity, batch_size=2, queue_size=3)
    first = [next(it) for _ in range(5)]
    time.sleep(0.3)  # give the threads every chance to run ahead
    assert [int(f[0, 0]) for f in first] == [0, 1, 2, 3, 4]
    assert len(read) <= 5 + 3 + 2 + 3 + 2  # consumed + outbox + batch + inbox + in hand
    it.close()
    time.sleep(0.2)
    assert not [t for t in threading.enumerate() if t.name.startswith("imgen-frames")]


def test_process_frames_raises_errors_from_either_side():
    def failing(batch):
        raise ValueError("model says no")

    with pytest.raises(ValueError, match="model says no"):
        list(process_frames([np.zeros((2, 2), np.uint8)] * 3, failing))

    def broken_source():
        yield np.zeros((2, 2), np.uint8)
        raise OSError("camera unplugged")

    with pytest.raises(OSError, match="camera unplugged"):
        list(process_frames(broken_source(), identity))
    with pytest.raises(ValueError, match="returned 1 results for a batch of 2"):
        list(process_frames([np.zeros((2, 2), np.uint8)] * 2, lambda b: b[:1], batch_size=2))
    with pytest.raises(ValueError, match="batch_size"):
        process_frames([], identity, batch_size=0)


# -- processors -------------------------------------------------------------------------------

def test_make_processor_pickles_and_matches_the_model(tmp_path, rng):
    path, weight, bias = om.conv3x3(tmp_path / "c.onnx", 3, om.meta(task="restore", channels=3))
    proc = make_processor(model=path)
    frames = [rng.integers(0, 256, (12, 10, 3), dtype=np.uint8) for _ in range(3)]
    clone = pickle.loads(pickle.dumps(proc))
    direct = imgen.load(path)(frames, color_order="rgb")
    for a, b, c in zip(proc(frames), clone(frames), direct):
        np.testing.assert_array_equal(a, c)
        np.testing.assert_array_equal(b, c)
    wavelet = make_processor(method="wavelet", sigma=20)
    assert pickle.loads(pickle.dumps(wavelet))(frames)[0].shape == (12, 10, 3)
    with pytest.raises(imgen.ImgenError, match="either a model or a method"):
        make_processor()
    with pytest.raises(imgen.ImgenError, match="no noise-level input"):
        make_processor(model=path, sigma=10)


@pytest.mark.parametrize("options, match", [
    ({"method": "wavelet", "wavelet": "db99"}, r"wavelet must be one of haar, db1, .*rbio6\.8, got 'db99'"),
    ({"method": "wavelet", "threshold": "otsu"}, "threshold must be"),
    ({"method": "wavelet", "mode": "medium"}, "mode must be"),
    ({"method": "wavelet", "shifts": 0}, "shifts must be"),
    ({"method": "wavelet", "levels": 0}, "levels must be"),
    ({"method": "bm3d", "stage": "wiener"}, "stage must be"),
    ({"method": "bm3d", "sigma": float("inf")}, "sigma must be"),
    ({"method": "bm3d", "tile": -1}, "tile must be"),
    ({"method": "bm3d", "overlap": -1}, "overlap must be"),
    ({"method": "bm3d", "threads": -1}, "threads must be"),
])
def test_make_processor_checks_every_option_when_built(options, match):
    with pytest.raises(imgen.ImgenError, match=match):
        make_processor(**options)


def test_gray_model_runs_on_y_cb_cr_and_keeps_colour(tmp_path, rng):
    path = om.minus_noise(tmp_path / "n.onnx", 1, kind="scalar")
    frame = rng.integers(20, 236, (9, 7, 3), dtype=np.uint8)
    proc = make_processor(model=path, sigma=0)
    np.testing.assert_array_equal(proc([frame])[0], frame)  # the colour transform round-trips
    out = make_processor(model=path, sigma=10)([frame])[0]
    # BT.601 full-range YCbCr, each plane minus its own share of the noise (sigma * row norm)
    m = np.array([[0.299, 0.587, 0.114], [-0.168736, -0.331264, 0.5], [0.5, -0.418688, -0.081312]])
    ycc = frame / 255.0 @ m.T - 10 / 255.0 * np.linalg.norm(m, axis=1)
    expected = np.clip(np.rint(ycc @ np.linalg.inv(m).T * 255), 0, 255).astype(np.uint8)
    assert out.shape == frame.shape and out.dtype == frame.dtype
    np.testing.assert_array_equal(out, expected)
    assert any("Y, Cb and Cr" in n for n in proc.notes)


# -- process_video ----------------------------------------------------------------------------

def test_identity_keeps_frames_timestamps_colour_and_audio(clips, tmp_path):
    src = vc.read_clip(clips["mp4"])
    dst = tmp_path / "out.mp4"
    summary = process_video(clips["mp4"], dst, identity)
    got = vc.read_clip(dst)
    assert (summary.frames_in, summary.frames_out, summary.bad_frames, summary.complete) == (20, 20, [], True)
    assert summary.output == str(dst) and summary.copied_streams == ["audio #1 (aac)"]
    assert len(got["frames"]) == 20 and got["size"] == (64, 48)
    np.testing.assert_allclose(got["times"], src["times"], atol=1e-3)
    assert got["packets"]["audio"] == src["packets"]["audio"]  # copied byte for byte
    assert got["colour"] == src["colour"] == (1, 1, 1, 1)  # BT.709, limited range
    # RGB processing re-subsamples the 4:2:0 chroma: ~36 dB on this busy 64x48 pattern at CRF 18;
    # a BT.601/709 mix-up or swscale's inexact default conversion shows as a colour shift
    assert min(psnr(a, b) for a, b in zip(src["frames"], got["frames"])) > 33
    shift = np.mean([b.astype(float) - a for a, b in zip(src["frames"], got["frames"])], axis=(0, 1, 2))
    assert np.abs(shift).max() < 0.5, shift
    assert leftovers(tmp_path) == []


def test_variable_frame_rate_and_subtitles_survive(clips, tmp_path):
    src = vc.read_clip(clips["vfr"])
    dst = tmp_path / "out.mkv"
    summary = process_video(clips["vfr"], dst, identity, batch_size=3)
    got = vc.read_clip(dst)
    assert summary.frames_out == 18
    assert len(set(np.round(np.diff(src["times"]), 3))) == 2  # really variable
    np.testing.assert_allclose(got["times"], src["times"], atol=1e-3)
    assert got["packets"]["subtitle"] == src["packets"]["subtitle"]
    assert got["packets"]["audio"] == src["packets"]["audio"]
    # mp4 cannot hold SRT: said so, the rest still written
    s2 = process_video(clips["vfr"], tmp_path / "out.mp4", identity)
    assert any("subtitle" in n and "not copied" in n for n in s2.notes)


def test_wavelet_denoises_video(clips, tmp_path):
    rng = np.random.default_rng(3)
    noisy_dir = tmp_path / "noisy"
    noisy_dir.mkdir()
    clean = [vc.frame_image(i, 96, 128) for i in range(6)]
    for i, img in enumerate(clean):
        noisy = np.clip(img + rng.normal(0, 20, img.shape), 0, 255).astype(np.uint8)
        cv2.imwrite(str(noisy_dir / f"{i + 1:03d}.png"), noisy[..., ::-1])
    out = tmp_path / "den"
    assert main(["video", str(noisy_dir), "-o", f"{out}/%03d.png", "--method", "wavelet", "--sigma", "20",
                 "--shifts", "4", "-q"]) == 0
    for i, img in enumerate(clean):
        noisy = cv2.imread(str(noisy_dir / f"{i + 1:03d}.png"))[..., ::-1]
        den = cv2.imread(str(out / f"{i + 1:03d}.png"))[..., ::-1]
        assert psnr(img, den) > psnr(img, noisy) + 3


def test_2x_model_doubles_the_size(clips, tmp_path, capsys):
    model = om.upsample(tmp_path / "up.onnx", 3, 2, om.meta(task="restore", channels=3, scale=2))
    dst = tmp_path / "up.mkv"
    assert main(["video", str(clips["mp4"]), "-o", str(dst), "--model", model, "-q"]) == 0
    err = capsys.readouterr().err
    assert "frames in 20, frames out 20, bad 0" in err
    got = vc.read_clip(dst)
    assert got["size"] == (128, 96) and len(got["frames"]) == 20
    src = vc.read_clip(clips["mp4"])
    assert got["packets"]["audio"] == src["packets"]["audio"]
    assert psnr(src["frames"][5], cv2.resize(got["frames"][5], (64, 48), interpolation=cv2.INTER_AREA)) > 30


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
    assert main(["video", str(tmp_path / "cut.mkv"), "-o", str(tmp_path / "b.mkv"), "--method", "wavelet", "-q"]) == 1
    err = capsys.readouterr().err
    assert "the input ends after" in err and "truncated" in err
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
    assert any("the input ends after" in b for b in summary.bad_frames)
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


def _sigint_after(n_frames: int):
    """A processor that sends this process SIGINT (Ctrl+C) once it has seen n frames."""
    seen, sent = [0], [False]

    def process(frames):
        seen[0] += len(frames)
        if seen[0] >= n_frames and not sent[0]:
            sent[0] = True
            os.kill(os.getpid(), signal.SIGINT)  # once: a second Ctrl+C would abort the clean-up
        if sent[0]:
            time.sleep(0.2)  # keep the run going until the main thread has taken the signal
        return identity(frames)

    return process


def test_ctrl_c_leaves_a_playable_partial_file(clips, tmp_path):
    dst = tmp_path / "out.mp4"
    with pytest.raises(VideoInterrupted) as info:
        process_video(clips["long"], dst, _sigint_after(8), batch_size=2, queue_size=2)
    summary = info.value.summary
    assert not summary.complete and summary.output == str(tmp_path / "out.partial.mp4")
    assert not dst.exists() and leftovers(tmp_path) == []
    got = vc.read_clip(summary.output)
    assert 0 < len(got["frames"]) == summary.frames_out < 30
    assert got["packets"]["audio"]  # the audio read so far came along

    def interrupting(frames):  # a KeyboardInterrupt raised by the processor itself
        raise KeyboardInterrupt

    with pytest.raises(VideoInterrupted) as info:
        process_video(clips["long"], tmp_path / "x.mp4", interrupting)
    assert info.value.summary.output is None and leftovers(tmp_path) == []


def test_cli_ctrl_c_exit_status(clips, tmp_path, monkeypatch, capsys):
    from imgen import processors

    hook = _sigint_after(8)
    monkeypatch.setattr(processors.FrameProcessor, "__call__", lambda self, frames: hook(frames))
    dst = tmp_path / "o.mkv"
    assert main(["video", str(clips["long"]), "-o", str(dst), "--method", "wavelet", "-q", "--batch-size", "4"]) == 130
    err = capsys.readouterr().err
    assert "interrupted" in err and "o.partial.mkv" in err and not dst.exists()
    assert (tmp_path / "o.partial.mkv").exists()


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


def test_a_processor_that_changes_size_midway_is_an_error(clips, tmp_path):
    calls = [0]

    def shrinking(frames):
        calls[0] += 1
        return [f[:-2] if calls[0] > 1 else f for f in frames]

    with pytest.raises(VideoError, match="every frame must have one size"):
        process_video(clips["mp4"], tmp_path / "o.mp4", shrinking, batch_size=2)
    assert leftovers(tmp_path) == [] and not (tmp_path / "o.mp4").exists()


def test_without_pyav_imgen_imports_and_video_says_how_to_install(tmp_path, clips):
    code = ("import sys; sys.modules['av'] = None\n"
            "import imgen, imgen.video\n"
            "from imgen.cli import main\n"
            f"sys.exit(main(['video', {str(clips['mp4'])!r}, '-o', {str(tmp_path / 'o.mp4')!r}, '--method', 'wavelet']))\n")
    # the imgen this process imports (the source tree or an installed wheel), not REPO/python
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(Path(imgen.__file__).resolve().parent.parent),
                                                       os.environ.get("PYTHONPATH", "")]))
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert res.returncode == 1, res.stderr
    assert "pip install 'imgen[video]'" in res.stderr


# -- hardening: bombs among frames, output inside the input, SIGTERM, stale temp files -----------

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


def test_a_library_output_inside_the_library_is_never_read(clips, tmp_path, capsys):
    lib = tmp_path / "lib"
    lib.mkdir()
    os.link(clips["mp4"], lib / "a.mp4")
    for _ in range(2):
        assert main(["video", str(lib), "-o", str(lib / "out"), "--method", "wavelet", "-q"]) == 0
        assert "wrote 1 of 1 video(s)" in capsys.readouterr().err
    assert sorted(p.relative_to(lib).as_posix() for p in lib.rglob("*")) == ["a.mp4", "out", "out/a.mp4"]


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


def test_sigterm_leaves_a_playable_partial_file(clips, tmp_path):
    from cli_process import sigterm_after

    dst = tmp_path / "out" / "o.mkv"
    code, err = sigterm_after(["video", str(clips["long"]), "-o", str(dst), "--method", "wavelet", "-q",
                               "--batch-size", "2", "--queue-size", "2"], 8, tmp_path / "progress", delay=0.15)
    assert code == 143, err
    partial = tmp_path / "out" / "o.partial.mkv"
    assert "terminated" in err and str(partial) in err and "Traceback" not in err
    assert not dst.exists() and leftovers(tmp_path / "out") == []
    got = vc.read_clip(partial)
    assert 0 < len(got["frames"]) < 30
