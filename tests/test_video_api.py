"""imgen.video.api: process_video end to end (and `imgen video` on one input) -- frames, timestamps,
colour and audio through an identity processor, a denoiser and an upscaler; Ctrl+C and SIGTERM
leave a playable partial file; without PyAV imgen still imports and says how to install it.
Clips are made with PyAV (tests/video_clips.py)."""
from __future__ import annotations

import os
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
from imgen.video import VideoInterrupted, process_video  # noqa: E402

import onnx_models as om  # noqa: E402
import video_clips as vc  # noqa: E402
from video_runs import identity, leftovers  # noqa: E402


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


def _sigint_after(n_frames: int):
    """A processor that sends this process SIGINT (Ctrl+C) once it has seen n frames."""
    seen, sent = [0], [False]

    def process(frames):
        seen[0] += len(frames)
        if seen[0] >= n_frames and not sent[0]:
            sent[0] = True
            # once (a second Ctrl+C would abort the clean-up), to the main thread as a terminal's
            # Ctrl+C usually lands: a process-wide signal may be taken by any thread that does not
            # block it, and after torch has started its pools there are many
            signal.pthread_kill(threading.main_thread().ident, signal.SIGINT)
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


def test_a_complete_run_clears_what_a_stopped_or_killed_run_left(clips, tmp_path):
    """kill -9 leaves a hidden temporary file, Ctrl+C an OUTPUT.partial.EXT: a complete run of the
    same output deletes both (even without --resume)."""
    from video_runs import identity, leftovers

    stale = tmp_path / ".o.0123abcd.tmp.mp4"
    stale.write_bytes(b"half a video")
    (tmp_path / "o.partial.mp4").write_bytes(b"an earlier partial")
    other = tmp_path / ".unrelated.tmp"
    other.write_bytes(b"not ours")
    process_video(clips["mp4"], tmp_path / "o.mp4", identity)
    assert not stale.exists() and not (tmp_path / "o.partial.mp4").exists()
    assert leftovers(tmp_path) == [".unrelated.tmp"]


def test_progress_shows_the_finalising_step(clips, tmp_path, capsys):
    """#33 item 12: after the last frame the bar says the file is being finalised, not a silent 100 %."""
    summary = process_video(clips["mp4"], tmp_path / "out.mp4", identity, progress=True)
    assert summary.complete
    assert "finalising the file" in capsys.readouterr().err
