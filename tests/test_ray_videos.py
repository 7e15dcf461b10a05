"""imgen video --ray / imgen.distributed.run_videos, and keyframe segmenting (distributed/segments.py).

Short clips (64x48, 10 fps, 2 s, a keyframe every 5 frames, AAC audio) on a local 2-CPU Ray
instance: the distributed outputs must equal the local ones byte for byte, a broken video is
reported while the rest complete, a killed worker is retried, and a video cut into segments
comes back with the same frames, timestamps and audio.
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from imgen.cli import main

import onnx_models as om


@pytest.fixture(autouse=True)
def _ray_logs_in_tmp_path(tmp_path, monkeypatch):
    """--ray runs of the CLI leave Ray's log file in $TMPDIR: here, the test's own folder."""
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))

av = pytest.importorskip("av")


def make_clip(path: Path, *, seed: int, seconds: int = 2, fps: int = 10, gop: int = 5) -> Path:
    """A smooth moving picture with a keyframe every ``gop`` frames, and a sine tone."""
    rng = np.random.default_rng(seed)
    path.parent.mkdir(parents=True, exist_ok=True)
    with av.open(str(path), "w") as c:
        v = c.add_stream("libx264", rate=fps)
        v.width, v.height, v.pix_fmt = 64, 48, "yuv420p"
        v.codec_context.gop_size = gop
        v.codec_context.options = {"x264-params": f"keyint={gop}:min-keyint={gop}:scenecut=0"}
        a = c.add_stream("aac", rate=8000)
        a.layout = "mono"
        yy, xx = np.mgrid[0:48, 0:64]
        colour = rng.uniform(60, 200, 3)
        for i in range(seconds * fps):
            wave = 40 * np.sin((xx + 3 * i) / 7.0) + 30 * np.cos((yy - 2 * i) / 5.0)
            img = np.clip(colour[None, None] + wave[..., None], 0, 255).astype(np.uint8)
            frame = av.VideoFrame.from_ndarray(img, format="rgb24")
            frame.pts = i
            for p in v.encode(frame):
                c.mux(p)
        for p in v.encode(None):
            c.mux(p)
        for k in range(seconds * 8000 // 1024):
            t = (np.arange(1024) + 1024 * k) / 8000
            frame = av.AudioFrame.from_ndarray((0.3 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)[None],
                                               format="fltp", layout="mono")
            frame.sample_rate, frame.pts = 8000, 1024 * k
            for p in a.encode(frame):
                c.mux(p)
        for p in a.encode(None):
            c.mux(p)
    return path


def packets(path, kind: str) -> list[tuple]:
    with av.open(str(path)) as c:
        stream = getattr(c.streams, kind)[0]
        return [(p.pts, p.dts, bytes(p)) for p in c.demux(stream) if p.size]


def frames(path) -> list[tuple[int, np.ndarray]]:
    with av.open(str(path)) as c:
        return [(f.pts, f.to_ndarray(format="rgb24")) for f in c.decode(video=0)]


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
    return float(10 * np.log10(255.0 ** 2 / max(mse, 1e-12)))


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    path, _, _ = om.conv3x3(tmp_path_factory.mktemp("model") / "conv.onnx", 3,
                            om.meta(task="restore", channels=3, name="conv"), seed=3)
    return path


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    return make_clip(tmp_path_factory.mktemp("clip") / "clip.mp4", seed=0)


def test_cut_on_keyframes_and_join_is_lossless(clip, tmp_path):
    """Cutting and joining the unprocessed segments gives back the source's packets exactly."""
    from imgen.distributed.segments import join_segments, split_on_keyframes

    segments = split_on_keyframes(clip, tmp_path / "work", 0.5)
    assert [float(s.start) for s in segments] == [0.0, 0.5, 1.0, 1.5]
    joined = tmp_path / "joined.mp4"
    copied = join_segments([s.path for s in segments], segments, clip, joined)
    assert copied == ["audio #1 (aac)"]
    assert packets(joined, "video") == packets(clip, "video")
    assert packets(joined, "audio") == packets(clip, "audio")
    assert not [p for p in tmp_path.rglob("*") if ".tmp" in p.name]


@pytest.fixture
def library(tmp_path, clip):
    root = tmp_path / "lib"
    (root / "sub").mkdir(parents=True)
    os.link(clip, root / "a.mp4")
    make_clip(root / "sub" / "b.mkv", seed=1)
    (root / "broken.mp4").write_bytes(b"\x00\x00\x00\x18ftypmp42 this is not a video")
    return root


def _report(err: str) -> list[str]:
    """imgen's report lines without the per-video timing lines."""
    return [line for line in err.splitlines()
            if line.startswith(("imgen:", "note:", "  ")) and "frames/s" not in line and "s/frame" not in line]


def test_distributed_videos_match_local(ray_cluster, model, library, tmp_path, capsys):
    local, dist = tmp_path / "local", tmp_path / "ray"
    assert main(["video", str(library), "-o", str(local), "--model", model, "-q"]) == 1
    local_report = _report(capsys.readouterr().err)
    assert main(["video", str(library), "-o", str(dist), "--model", model, "-q", "--ray", "--workers", "2"]) == 1
    ray_report = _report(capsys.readouterr().err)

    assert ray_report == local_report
    assert "imgen: wrote 2 of 3 video(s)" in ray_report
    assert any("broken.mp4" in line for line in ray_report)
    names = sorted(str(p.relative_to(local)) for p in local.rglob("*") if p.is_file())
    assert names == ["a.mp4", "sub/b.mkv"]
    # The same bytes: x264 is held to AVX2 where its AVX-512 kernels would let garbage in reused
    # heap into the bitstream (imgen.video.encoding.X264_ASM; one frame differed now and then).
    assert (dist / "a.mp4").read_bytes() == (local / "a.mp4").read_bytes()
    # Matroska files carry a random segment UID: compare what they hold.
    for kind in ("video", "audio"):
        assert packets(dist / "sub/b.mkv", kind) == packets(local / "sub/b.mkv", kind)
    assert packets(dist / "a.mp4", "audio") == packets(library / "a.mp4", "audio")  # audio copied
    assert not [p for p in dist.rglob("*") if p.name.startswith(".")]

    assert main(["video", str(library), "-o", str(dist), "--model", model, "-q", "--ray", "--resume"]) == 1
    assert "imgen: wrote 0 of 1 video(s); 2 already done, skipped (--resume)" in capsys.readouterr().err


def test_long_video_in_segments(ray_cluster, model, clip, tmp_path):
    from imgen.processors import ProcessorOptions
    from imgen.video import EncodeOptions, make_processor, process_video

    from imgen.video.library import plan_videos
    from imgen.distributed.videos import run_videos

    encode = EncodeOptions(threads=1)
    whole = process_video(clip, tmp_path / "whole.mp4", make_processor(model=model), options=encode)
    jobs, problems = plan_videos([clip], tmp_path / "cut.mp4")
    summary = run_videos(jobs, ProcessorOptions(model=model), encode=encode, segment_seconds=0.5)
    assert not problems and not summary.failures and summary.done == 1
    video = summary.videos[str(clip)]
    assert video.frames_in == video.frames_out == whole.frames_out == 20
    assert any("4 segments" in n for n in video.notes)
    assert video.copied_streams == ["audio #1 (aac)"]

    cut, ref = frames(tmp_path / "cut.mp4"), frames(tmp_path / "whole.mp4")
    assert [t for t, _ in cut] == [t for t, _ in ref]
    # Re-encoded in four pieces, so not the same bits; the same pictures within coding noise.
    assert min(psnr(a, b) for (_, a), (_, b) in zip(cut, ref)) > 35
    assert packets(tmp_path / "cut.mp4", "audio") == packets(clip, "audio")
    assert not (tmp_path / ".cut.mp4.segments").exists()


class CrashOnce:
    """A frame processor whose worker process dies (os._exit) on its first call of the run."""

    def __init__(self, model: str, marker: str):
        self.model, self.marker = model, marker
        self._inner = None

    def __call__(self, images):
        if not os.path.exists(self.marker):
            Path(self.marker).touch()
            os._exit(1)
        if self._inner is None:
            from imgen.video import make_processor

            self._inner = make_processor(model=self.model, threads=1)
        return self._inner(images)

    def __getstate__(self):
        return {"model": self.model, "marker": self.marker, "_inner": None}


def test_killed_video_worker_is_retried(ray_cluster, model, clip, tmp_path):
    from imgen.video.library import plan_videos
    from imgen.distributed import ClusterOptions, run_videos

    marker = tmp_path / "crashed"
    jobs, _ = plan_videos([clip], tmp_path / "out.mp4")
    summary = run_videos(jobs, CrashOnce(model, str(marker)), segment_seconds=None,
                         cluster=ClusterOptions(max_retries=2))
    assert marker.exists(), "the worker never crashed: the test proves nothing"
    assert summary.failures == [] and summary.done == 1
    assert len(frames(tmp_path / "out.mp4")) == 20
