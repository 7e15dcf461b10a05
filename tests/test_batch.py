"""imgen.batch: the file loop (run_files, run_chunk), skip_done for --resume, and the Summary every
batch reports in -- through the API, with a plain function or a tiny ONNX model as the process."""
from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

import imgen
from imgen.batch import Summary, run_chunk, run_files, skip_done
from imgen.imageio import Job, plan_outputs
from imgen.interrupts import Terminated
from imgen.processors import FrameProcessor, ProcessorOptions

import onnx_models as om


def invert(images):
    """The process of most tests here: every sample s becomes max - s."""
    return [np.iinfo(img.dtype).max - img for img in images]


def written(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture
def folder(tmp_path, rng):
    """Six small images (8-bit colour, gray, 16-bit, RGBA, one nested) named by size, and a corrupt
    file; the rows of each image give it away in a process (a1: 11 rows ... f: 16 rows)."""
    root = tmp_path / "in"
    (root / "sub").mkdir(parents=True)
    shapes = {"a1.png": (11, 9, 3), "b2.png": (12, 9), "c3.png": (13, 9, 3), "sub/d4.png": (14, 9, 3),
              "e5.png": (15, 9, 4), "f6.png": (16, 9, 3)}
    for name, shape in shapes.items():
        dtype = np.uint16 if name == "c3.png" else np.uint8
        assert cv2.imwrite(str(root / name), rng.integers(0, np.iinfo(dtype).max, shape, dtype=dtype))
    (root / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n not really")
    return root


def plan(folder: Path, out: Path, ext: str | None = None) -> list[Job]:
    jobs, problems = plan_outputs([folder], out, ext)
    assert problems == []
    return jobs


# -- Summary ------------------------------------------------------------------------------------

def test_report_of_a_complete_run():
    assert Summary(done=3).report() == (["imgen: wrote 3 of 3 image(s)"], 0)
    assert Summary().report() == (["imgen: wrote 0 of 0 image(s)"], 0)
    lines, code = Summary(done=2, notes={"b later", "a first"}, skipped=4, unit="video").report()
    assert lines == ["note: a first", "note: b later",
                     "imgen: wrote 2 of 2 video(s); 4 already done, skipped (--resume)"]
    assert code == 0


def test_report_lists_problems_then_failures_and_exits_1():
    summary = Summary(done=2, failures=[("x.png", "cannot read"), ("y.png", "too big")],
                      problems=["lib/: cannot read the folder"])
    lines, code = summary.report(["gone.png: no such file or folder"])
    assert lines == ["imgen: wrote 2 of 4 image(s)", "imgen: 4 problem(s):",
                     "  gone.png: no such file or folder", "  lib/: cannot read the folder",
                     "  x.png: cannot read", "  y.png: too big"]
    assert code == 1
    assert Summary(done=1).report(["gone.png: no such file or folder"])[1] == 1  # planning problems alone


@pytest.mark.parametrize("reason, words, code", [("Ctrl+C", "interrupted (Ctrl+C)", 130),
                                                  ("SIGTERM", "terminated (SIGTERM)", 143)])
def test_report_of_a_stopped_run(reason, words, code):
    summary = Summary(done=1, failures=[("x.png", "cannot read")], stopped=reason, not_done=3)
    lines, got = summary.report()
    assert got == code  # the stop decides the exit status, failures or not
    assert lines[0] == "imgen: wrote 1 of 5 image(s)"
    assert lines[-1] == (f"imgen: {words}: 3 image(s) not done; the outputs written are complete "
                         f"(run again with --resume to finish)")


def test_merge_adds_everything_up():
    total = Summary(done=1, failures=[("a", "x")], notes={"n1"}, problems=["p1"])
    total.merge(Summary(done=2, failures=[("b", "y")], notes={"n2"}, skipped=3, problems=["p2"],
                        stopped="SIGTERM", not_done=4))
    assert (total.done, total.skipped, total.not_done, total.stopped) == (3, 3, 4, "SIGTERM")
    assert total.failures == [("a", "x"), ("b", "y")] and total.notes == {"n1", "n2"}
    assert total.problems == ["p1", "p2"]
    total.merge(Summary(stopped="Ctrl+C"))
    assert total.stopped == "SIGTERM"  # the first reason stays


# -- run_files / run_chunk ----------------------------------------------------------------------

@pytest.mark.parametrize("chunk", [1, 4])
def test_every_good_file_is_written_and_a_bad_one_reported(folder, tmp_path, chunk):
    out = tmp_path / "out"
    jobs = plan(folder, out)
    summary = run_files(jobs, invert, chunk=chunk, quiet=True)
    assert summary.done == 6 and summary.notes == set() and summary.stopped is None
    assert [src for src, _ in summary.failures] == [str(folder / "broken.png")]
    assert "broken.png" not in summary.failures[0][1]  # the file is named once, in the report line
    for job in jobs:
        if job.source.name != "broken.png":
            src = cv2.imread(str(job.source), cv2.IMREAD_UNCHANGED)
            got = cv2.imread(str(job.target), cv2.IMREAD_UNCHANGED)
            assert got.dtype == src.dtype, job.source
            np.testing.assert_array_equal(got, invert([src])[0])
    assert sorted(written(out)) == ["a1.png", "b2.png", "c3.png", "e5.png", "f6.png", "sub/d4.png"]
    assert summary.report()[1] == 1


def test_run_chunk_writes_what_run_files_writes(folder, tmp_path):
    jobs = plan(folder, tmp_path / "a")
    local = run_files(jobs, invert, chunk=3, quiet=True)
    chunked = Summary()
    for k in range(0, len(jobs), 3):
        chunked.merge(run_chunk([Job(j.source, tmp_path / "b" / j.target.relative_to(tmp_path / "a"))
                                 for j in jobs[k:k + 3]], invert))
    assert (chunked.done, chunked.failures, chunked.notes) == (local.done, local.failures, local.notes)
    assert written(tmp_path / "b") == written(tmp_path / "a")


@pytest.mark.parametrize("error", [ValueError, TypeError])
@pytest.mark.parametrize("loop", ["run_files", "run_chunk"])
def test_a_chunk_that_fails_is_redone_one_by_one(folder, tmp_path, error, loop):
    (folder / "broken.png").unlink()
    calls = []

    def picky(images):
        calls.append([img.shape[0] for img in images])
        if any(img.shape[0] == 13 for img in images):
            raise error("13 rows: unlucky")
        return invert(images)

    jobs = plan(folder, tmp_path / "out")
    if loop == "run_files":
        summary = run_files(jobs, picky, chunk=4, quiet=True)
    else:
        summary = run_chunk(jobs[:4], picky)
        summary.merge(run_chunk(jobs[4:], picky))
    assert summary.failures == [(str(folder / "c3.png"), "13 rows: unlucky")]
    assert summary.done == 5
    # the whole chunk once, then each of its images alone; the other chunk as it came
    assert calls == [[11, 12, 13, 15], [11], [12], [13], [15], [16, 14]]
    assert sorted(written(tmp_path / "out")) == ["a1.png", "b2.png", "e5.png", "f6.png", "sub/d4.png"]


def test_a_one_image_chunk_that_fails_is_tried_once(folder, tmp_path):
    calls = []

    def failing(images):
        calls.append(len(images))
        raise ValueError("no")

    summary = run_files(plan(folder, tmp_path / "out"), failing, chunk=1, quiet=True)
    assert summary.done == 0 and len(summary.failures) == 7 and calls == [1] * 6
    assert not (tmp_path / "out").exists()


def test_the_pixel_limit_makes_large_files_failures(folder, tmp_path, monkeypatch):
    summary = run_files(plan(folder, tmp_path / "out"), invert, quiet=True, max_pixels=13 * 9)
    failed = sorted(Path(src).name for src, _ in summary.failures)
    assert failed == ["broken.png", "d4.png", "e5.png", "f6.png"] and summary.done == 3
    assert all("over the limit" in msg for src, msg in summary.failures if "broken" not in src)
    monkeypatch.setenv("IMGEN_MAX_PIXELS", "plenty")
    with pytest.raises(imgen.ImgenError, match="IMGEN_MAX_PIXELS"):  # one error, not one per file
        run_files(plan(folder, tmp_path / "o2"), invert, quiet=True)


def test_what_a_format_cannot_hold_is_a_note(folder, tmp_path):
    (folder / "broken.png").unlink()
    summary = run_files(plan(folder, tmp_path / "out", ext=".jpg"), invert, quiet=True)
    assert summary.done == 6 and summary.failures == []
    assert summary.notes == {"alpha dropped: .jpg files cannot store it",
                             "samples reduced to what .jpg files store (8-bit, or 16-bit PNG for float)"}


def test_a_model_processor_over_files_is_the_model_on_each_file(folder, tmp_path):
    (folder / "broken.png").unlink()
    path, _, _ = om.conv3x3(tmp_path / "c.onnx", 3, om.meta(task="restore", channels=3))
    process = FrameProcessor(ProcessorOptions(model=path, color_order="bgr"))
    jobs = plan(folder, tmp_path / "out")
    summary = run_files(jobs, process, chunk=4, quiet=True)
    assert summary.done == 6 and summary.failures == []
    model = imgen.load(path)
    for job in jobs:
        src = cv2.imread(str(job.source), cv2.IMREAD_UNCHANGED)
        if src.ndim == 3:  # (gray files come back from a colour model as colour: see test_processors)
            want = model(src, color_order="bgr")
            np.testing.assert_array_equal(cv2.imread(str(job.target), cv2.IMREAD_UNCHANGED), want)
    assert process.notes == {"1-channel images converted to the model's 3 channel(s)",
                             "alpha channels passed through untouched"}


def test_an_output_folder_that_cannot_be_made_fails_its_files_only(folder, tmp_path):
    """A file where an output sub-folder should go fails that folder's files, not the run."""
    out = tmp_path / "out"
    out.mkdir()
    (out / "sub").write_text("a file where the sub folder's outputs should go")
    summary = run_files(plan(folder, out), invert, quiet=True)
    assert summary.done == 5
    assert sorted(Path(src).name for src, _ in summary.failures) == ["broken.png", "d4.png"]


# -- stopping ---------------------------------------------------------------------------------

@pytest.mark.parametrize("signal, reason", [(KeyboardInterrupt, "Ctrl+C"), (Terminated, "SIGTERM")])
def test_a_stop_between_chunks_keeps_the_outputs_done(folder, tmp_path, signal, reason):
    calls = []

    def stopping(images):
        calls.append(len(images))
        if len(calls) == 2:
            raise signal()
        return invert(images)

    jobs = plan(folder, tmp_path / "out")  # chunks of 3: a1 b2 broken | c3 e5 f6 | sub/d4
    summary = run_files(jobs, stopping, chunk=3, quiet=True)
    assert calls == [2, 3] and summary.stopped == reason
    assert summary.done == 2 and len(summary.failures) == 1 and summary.not_done == 4
    assert sorted(written(tmp_path / "out")) == ["a1.png", "b2.png"]
    assert not [p for p in (tmp_path / "out").rglob(".*")]  # no temporary files left
    assert summary.report()[1] == (130 if reason == "Ctrl+C" else 143)


# -- skip_done ----------------------------------------------------------------------------------

def test_skip_done_skips_finished_outputs_and_removes_stale_temp_files_only(folder, tmp_path):
    out = tmp_path / "out"
    jobs = plan(folder, out)
    out.mkdir()
    (out / "a1.png").write_bytes(b"finished earlier")
    (out / "sub").mkdir()
    (out / "sub" / "d4.png").write_bytes(b"finished earlier")
    stale = [out / ".b2.png.0123abcd.tmp", out / ".c3.0123abcd.tmp.png", out / "sub" / ".d4.png.89abcdef.tmp"]
    kept = [out / ".b2.png.backup", out / ".b2.png.0123abcd.tmp.keep", out / ".notajob.png.0123abcd.tmp",
            out / "b2.png.0123abcd.tmp"]
    for p in stale + kept:
        p.write_bytes(b"x")
    todo, skipped = skip_done(jobs)
    assert skipped == 2 and todo == [j for j in jobs if j.target.name not in ("a1.png", "d4.png")]
    assert not any(p.exists() for p in stale) and all(p.exists() for p in kept)
    assert skip_done([]) == ([], 0)
    assert skip_done([Job(folder / "a1.png", tmp_path / "nowhere" / "a1.png")]) == (
        [Job(folder / "a1.png", tmp_path / "nowhere" / "a1.png")], 0)


def test_any_error_of_the_process_is_that_files_failure(folder, tmp_path):
    """Not only ValueError/TypeError: whatever the process raises on one image fails that image
    (as on a Ray worker), and the others are written."""
    def picky(images):
        if any(img.shape[0] == 13 for img in images):  # c3
            raise RuntimeError("the model's runtime failed on this one")
        return invert(images)

    jobs = plan(folder, tmp_path / "out")
    summary = run_files(jobs, picky, chunk=3, quiet=True)
    failed = dict((Path(src).name, msg) for src, msg in summary.failures)
    assert "RuntimeError: the model's runtime failed on this one" in failed.values()
    assert summary.done + len(summary.failures) == len(jobs) and summary.done >= 4
