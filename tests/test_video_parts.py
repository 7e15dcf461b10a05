"""imgen.video.parts (with journal and join): long videos written as closed parts, so that a run
killed in any way resumes where its last part ended -- the resumed run decodes and processes only
the rest -- and the joined output is the same video (timestamps, audio, subtitles, tags) as a run
in one piece.  Clips are made with PyAV; kill -9 is a real SIGKILL of a CLI subprocess."""
from __future__ import annotations

import json

import numpy as np
import pytest

av = pytest.importorskip("av")

from imgen.cli import main  # noqa: E402
from imgen.metrics import psnr  # noqa: E402
from imgen.video import process_video  # noqa: E402
from imgen.video.journal import work_dir  # noqa: E402

import video_clips as vc  # noqa: E402
from video_runs import identity, kill_after, leftovers  # noqa: E402


@pytest.fixture(scope="module")
def long_clip(tmp_path_factory):
    """3 s at 25 fps, AAC, SRT subtitles, chapters and titles, rotated 90 degrees (Matroska)."""
    return vc.make_clip(tmp_path_factory.mktemp("long") / "in.mkv", frames=75, subtitles=True, tags=True,
                        rotation=90)


@pytest.mark.parametrize("suffix", [".mkv", ".mp4"])
def test_parts_join_into_the_same_video(long_clip, tmp_path, suffix):
    whole = process_video(long_clip, tmp_path / f"whole{suffix}", identity, part_seconds=0)
    parted = process_video(long_clip, tmp_path / f"parted{suffix}", identity, part_seconds=0.5)
    a, b = vc.read_clip(tmp_path / f"whole{suffix}"), vc.read_clip(tmp_path / f"parted{suffix}")
    assert parted.frames_out == whole.frames_out == 75 and parted.complete
    assert b["times"] == a["times"] == vc.read_clip(long_clip)["times"]
    assert b["packets"] == a["packets"] and b["streams"] == a["streams"]
    src = vc.read_clip(long_clip)["frames"]  # each encoding as close to the source as the other
    assert min(psnr(x, y) for x, y in zip(src, b["frames"])) > min(psnr(x, y) for x, y in zip(src, a["frames"])) - 1
    assert parted.copied_streams == whole.copied_streams and sorted(parted.notes) == sorted(whole.notes)
    with av.open(str(tmp_path / f"parted{suffix}")) as c:
        assert c.metadata["title"] == "A test clip" and len(c.chapters()) == 2
        assert next(c.decode(video=0)).rotation == 90
    assert leftovers(tmp_path) == []  # parts, journal and temporary files all gone


def test_kill_9_then_resume_processes_only_the_rest(long_clip, tmp_path, capsys):
    out = tmp_path / "out.mkv"
    args = ["video", str(long_clip), "-o", str(out), "--method", "wavelet", "--sigma", "2", "--batch-size", "2",
            "--part-seconds", "0.4"]
    done = kill_after(args + ["-q"], 40, tmp_path / "progress")
    assert not out.exists() and work_dir(out).is_dir()
    journal = json.loads((work_dir(out) / "journal.json").read_text())
    kept = sum(p["frames"] for p in journal["parts"])
    assert 0 < kept <= done < 75  # closed parts: frames the killed run finished

    assert main(args + ["--resume", "-q"]) == 0
    err = capsys.readouterr().err
    assert f"resumed: {kept} frame(s) in {len(journal['parts'])} part(s)" in err
    assert f"frames in {75 - kept}, frames out {75 - kept}, bad 0" in err  # only the rest decoded
    got, src = vc.read_clip(out), vc.read_clip(long_clip)
    assert got["times"] == src["times"] and got["packets"] == src["packets"]
    assert min(psnr(x, y) for x, y in zip(src["frames"], got["frames"])) > 30
    assert leftovers(tmp_path) == []


def test_sigterm_partial_then_resume_and_clean_up(long_clip, tmp_path, capsys):
    from cli_process import sigterm_after

    out = tmp_path / "out.mp4"
    args = ["video", str(long_clip), "-o", str(out), "--method", "wavelet", "--batch-size", "2",
            "--part-seconds", "0.4", "-q"]
    status, err = sigterm_after(args, 30, tmp_path / "progress", delay=0.1)
    assert status == 143 and "rerun with --resume" in err
    partial = tmp_path / "out.partial.mp4"
    n_partial = len(vc.read_clip(partial)["frames"])
    assert 0 < n_partial < 75
    assert main(args + ["--resume"]) == 0
    err = capsys.readouterr().err
    assert f"resumed: {n_partial} frame(s)" in err and f"frames in {75 - n_partial}," in err
    assert len(vc.read_clip(out)["frames"]) == 75
    assert not partial.exists() and leftovers(tmp_path) == []


def test_a_rerun_without_resume_or_with_other_settings_starts_over(long_clip, tmp_path):
    out = tmp_path / "out.mkv"
    calls = [0]

    def failing(frames):
        calls[0] += 1
        if calls[0] > 10:
            raise ValueError("stop here")
        return identity(frames)

    with pytest.raises(Exception, match="stop here"):
        process_video(long_clip, out, failing, part_seconds=0.4, batch_size=2)
    assert work_dir(out).is_dir()  # closed parts kept for a resume
    s = process_video(long_clip, out, lambda f: [x // 2 for x in f], part_seconds=0.4, resume=True)
    assert s.frames_in == 75 and any("other settings" in n for n in s.notes)  # another processor
    assert leftovers(tmp_path) == []
    with pytest.raises(Exception, match="stop here"):
        calls[0] = 0
        process_video(long_clip, tmp_path / "b.mkv", failing, part_seconds=0.4, batch_size=2)
    s = process_video(long_clip, tmp_path / "b.mkv", identity, part_seconds=0.4)
    assert s.frames_in == 75 and any("--resume was not given" in n for n in s.notes)
    assert leftovers(tmp_path) == []


def test_short_videos_are_one_file(clips, tmp_path):
    s = process_video(clips["mp4"], tmp_path / "o.mp4", identity, part_seconds=0.5)  # 0.8 s < 2 x 0.5 s
    assert s.complete and leftovers(tmp_path) == [] and not any("part" in n for n in s.notes)
    np.testing.assert_allclose(vc.read_clip(tmp_path / "o.mp4")["times"], vc.read_clip(clips["mp4"])["times"])


def test_an_unreadable_journal_or_stray_files_are_dealt_with(long_clip, tmp_path):
    out = tmp_path / "out.mkv"
    folder = work_dir(out)
    (folder / "junk").mkdir(parents=True)
    (folder / "journal.json").write_text("{not json")
    s = process_video(long_clip, out, identity, part_seconds=0.4, resume=True)
    assert s.complete and s.frames_in == 75 and any("journal is unreadable" in n for n in s.notes)
    assert leftovers(tmp_path) == []
