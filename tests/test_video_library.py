"""imgen.video.library: a folder of videos (`imgen video FOLDER -o OUTFOLDER`) -- planning the jobs,
telling a library from a frame folder, the one-after-another loop and its LibrarySummary."""
from __future__ import annotations

import importlib.util
import os

import cv2
import pytest

from imgen.cli import main
from imgen.imageio import Job
from imgen.interrupts import Terminated
from imgen.video import VideoError, VideoInterrupted, VideoSummary
from imgen.video.library import VIDEO_EXTENSIONS, LibrarySummary, is_video_library, plan_videos, run_library

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


# -- planning, without PyAV ---------------------------------------------------------------------

@pytest.fixture
def library(tmp_path):
    """lib/a.mp4, lib/sub/b.MKV and files that are not videos (the planner goes by extension)."""
    lib = tmp_path / "lib"
    (lib / "sub").mkdir(parents=True)
    for name in ("a.mp4", "sub/b.MKV", "notes.txt", "poster.png"):
        (lib / name).write_bytes(b"x")
    return lib


def test_plan_videos_keeps_relative_paths_under_the_output(library, tmp_path):
    out = tmp_path / "out"
    jobs, problems = plan_videos([library], out)
    assert problems == []
    assert jobs == [Job(library / "a.mp4", out / "a.mp4"), Job(library / "sub" / "b.MKV", out / "sub" / "b.MKV")]
    a = library / "a.mp4"
    assert plan_videos([a], tmp_path / "x.mkv") == ([Job(a, tmp_path / "x.mkv")], [])  # a file to a file
    assert plan_videos([a], out) == ([Job(a, out / "a.mp4")], [])  # a file into a folder
    assert plan_videos([a, library / "sub" / "b.MKV"], tmp_path / "x.mkv")[0] == [
        Job(a, tmp_path / "x.mkv" / "a.mp4"), Job(library / "sub" / "b.MKV", tmp_path / "x.mkv" / "b.MKV")]


def test_plan_videos_never_reads_its_own_output(library):
    out = library / "out"
    (out / "sub").mkdir(parents=True)
    (out / "a.mp4").write_bytes(b"an earlier run's output")
    (library / "out.partial").mkdir()
    (library / "out.partial" / "c.mp4").write_bytes(b"x")
    jobs, problems = plan_videos([library], out)
    assert problems == [] and [j.source.relative_to(library).as_posix() for j in jobs] == ["a.mp4", "sub/b.MKV"]
    # a video written into the folder, and its partial file, are not inputs either
    jobs, _ = plan_videos([library / "sub"], library / "sub" / "joined.mp4")
    (library / "sub" / "joined.mp4").write_bytes(b"x")
    (library / "sub" / "joined.partial.mp4").write_bytes(b"x")
    assert plan_videos([library / "sub"], library / "sub" / "joined.mp4")[0] == jobs


def test_plan_videos_reports_what_it_cannot_plan(library, tmp_path):
    other = tmp_path / "other"
    other.mkdir()
    (other / "a.mp4").write_bytes(b"x")
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "frame.png").write_bytes(b"x")
    jobs, problems = plan_videos([library, other, tmp_path / "empty", tmp_path / "gone.mp4"], tmp_path / "out")
    assert [j.source for j in jobs] == [library / "a.mp4", library / "sub" / "b.MKV"]
    assert problems[0] == f"{tmp_path / 'empty'}: folder contains no videos ({', '.join(VIDEO_EXTENSIONS)})"
    assert problems[1] == f"{tmp_path / 'gone.mp4'}: no such file or folder"
    assert problems[2] == f"{other / 'a.mp4'}: output {tmp_path / 'out' / 'a.mp4'} is also the output of {library / 'a.mp4'}"
    _, problems = plan_videos([library], library)
    assert problems == [f"{library / 'a.mp4'}: output {library / 'a.mp4'} would overwrite an input; choose another "
                        f"output folder", f"{library / 'sub' / 'b.MKV'}: output {library / 'sub' / 'b.MKV'} would "
                        f"overwrite an input; choose another output folder"]


def test_a_library_is_a_folder_with_videos_other_than_the_output(library, tmp_path):
    assert is_video_library(library) and is_video_library(library / "sub")
    assert not is_video_library(library / "a.mp4") and not is_video_library(tmp_path / "gone")
    frames = tmp_path / "frames"
    frames.mkdir()
    (frames / "0001.png").write_bytes(b"x")
    assert not is_video_library(frames)
    (frames / "clip.mp4").write_bytes(b"x")
    (frames / "clip.partial.mp4").write_bytes(b"x")
    assert is_video_library(frames) and not is_video_library(frames, frames / "clip.mp4")


# -- run_library and LibrarySummary ------------------------------------------------------------

def _video(source, bad=(), notes=()):
    return VideoSummary(source=str(source), output="out", frames_in=5, frames_out=5 - len(bad),
                        bad_frames=list(bad), complete=True, notes=list(notes))


def test_run_library_fails_one_video_and_goes_on(tmp_path):
    jobs = [Job(tmp_path / f"{n}.mp4", tmp_path / "out" / f"{n}.mp4") for n in "abcd"]
    said, done = [], []

    def process_one(job):
        done.append(job.source.name)
        if job.source.name == "b.mp4":
            raise VideoError("cannot open as a video")
        if job.source.name == "c.mp4":
            raise ValueError("batch_size must be >= 1")
        return _video(job.source, bad=["frame 3 (skipped)"] if job.source.name == "d.mp4" else (),
                      notes=[f"note from {job.source.name}"])

    summary = run_library(jobs, process_one, announce=said.append)
    assert isinstance(summary, LibrarySummary) and done == ["a.mp4", "b.mp4", "c.mp4", "d.mp4"]
    assert said == [f"[{k}/4] {job.source}" for k, job in enumerate(jobs, 1)]
    assert summary.done == 2 and list(summary.videos) == [str(jobs[0].source), str(jobs[3].source)]
    assert summary.failures == [(str(jobs[1].source), "cannot open as a video"),
                                (str(jobs[2].source), "batch_size must be >= 1")]
    assert summary.problems == [f"{jobs[3].source}: bad frame: frame 3 (skipped)"]
    assert summary.notes == {"note from a.mp4", "note from d.mp4"}
    lines, code = summary.report()
    assert code == 1 and "imgen: wrote 2 of 4 video(s)" in lines and "imgen: 3 problem(s):" in lines
    assert run_library([], process_one).report() == (["imgen: wrote 0 of 0 video(s)"], 0)


@pytest.mark.parametrize("cause, reason, code", [(None, "Ctrl+C", 130), (Terminated, "SIGTERM", 143)])
def test_run_library_stops_at_an_interrupt_and_names_the_partial_file(tmp_path, cause, reason, code):
    jobs = [Job(tmp_path / f"{n}.mp4", tmp_path / "out" / f"{n}.mp4") for n in "abcd"]
    done = []

    def process_one(job):
        done.append(job.source.name)
        if job.source.name == "b.mp4":
            partial = _video(job.source)
            partial.output, partial.complete = str(tmp_path / "out" / "b.partial.mp4"), False
            raise VideoInterrupted(partial) from (cause() if cause else None)
        return _video(job.source)

    summary = run_library(jobs, process_one)
    assert done == ["a.mp4", "b.mp4"] and summary.stopped == reason
    assert summary.done == 1 and summary.not_done == 3 and summary.failures == []
    assert summary.notes == {f"{jobs[1].source}: the frames done before the stop are in "
                             f"{tmp_path / 'out' / 'b.partial.mp4'}"}
    assert summary.report()[1] == code

    def interrupted_before_any_frame(job):
        raise KeyboardInterrupt

    summary = run_library(jobs, interrupted_before_any_frame)
    assert (summary.done, summary.not_done, summary.notes, summary.stopped) == (0, 4, set(), "Ctrl+C")
