"""The file loop that turns image files into image files (imgen run, denoise, restore, translate,
inpaint, reconstruct, the Ray workers), and the Summary every batch of files or videos reports in.

:func:`run_images` is the whole folder run on this machine (plan outputs, skip finished ones,
run, notes, summary), the local twin of ``imgen.distributed.run_images``; both take a
:class:`imgen.jobs.Job`.

Reads are prefetched and writes done on a small I/O thread pool while the main thread
computes; a bad file is reported and the rest carry on; outputs are written atomically, upright
(EXIF orientation applied on reading) and with the input's ICC profile where the format holds
one.  Ctrl+C or SIGTERM stops the loop between files: the outputs already handed to the writers
are finished, the summary says how many were not done, and the exit status is 130 or 143.
"""
from __future__ import annotations

import os
import sys
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Callable, Sequence, Union

import numpy as np
from tqdm import tqdm

from .atomic import remove_stale_temps
from .errors import ImgenError, error_reason
from .icc import icc_problem
from .imageio import (ImageFileError, Job, fit_to_format, pixel_limit, plan_outputs, read_image_and_profile,
                       write_image)
from .interrupts import exit_status, stop_reason, stopped_words
from .jobs import Job as Work
from .jobs import Processor
from .processors import ProcessorOptions

Process = Callable[[list[np.ndarray]], list[np.ndarray]]
#: What ``run_images`` takes: a Job (imgen.jobs), or a model file / shipped model name (run as ``imgen run`` runs it).
JobLike = Union[Work, str, "os.PathLike[str]"]


@dataclass
class Summary:
    """The outcome of a batch: outputs written, (source, message) failures, notes, resumed skips,
    problems (inputs that could not be planned, reported with the failures), and, for a run
    stopped early, why ("Ctrl+C" or "SIGTERM") and how many inputs were not done."""

    done: int = 0
    failures: list[tuple[str, str]] = field(default_factory=list)
    notes: set[str] = field(default_factory=set)
    skipped: int = 0
    problems: list[str] = field(default_factory=list)
    unit: str = "image"
    stopped: str | None = None
    not_done: int = 0

    def merge(self, other: "Summary") -> None:
        """Add another summary's counts, failures and notes to this one."""
        self.done += other.done
        self.failures.extend(other.failures)
        self.notes.update(other.notes)
        self.skipped += other.skipped
        self.problems.extend(other.problems)
        self.stopped = self.stopped or other.stopped
        self.not_done += other.not_done

    def report(self, problems: Sequence[str] = ()) -> tuple[list[str], int]:
        """(the lines that tell the outcome, the exit code: 0 all done, 1 something failed,
        130/143 stopped by Ctrl+C/SIGTERM).  ``problems``: inputs that could not be planned."""
        lines = [f"note: {note}" for note in sorted(self.notes)]
        failed = list(problems) + self.problems + [f"{src}: {msg}" for src, msg in self.failures]
        total = self.done + len(self.failures) + self.not_done
        line = f"imgen: wrote {self.done} of {total} {self.unit}(s)"
        if self.skipped:
            line += f"; {self.skipped} already done, skipped (--resume)"
        lines.append(line)
        if failed:
            lines.append(f"imgen: {len(failed)} problem(s):")
            lines += [f"  {line}" for line in failed]
        if self.stopped:
            lines.append(f"imgen: {stopped_words(self.stopped)}: {self.not_done} {self.unit}(s) not done; the "
                         f"outputs written are complete (run again with --resume to finish)")
            return lines, exit_status(self.stopped)
        return lines, 1 if failed else 0


def skip_done(jobs: Sequence[Job]) -> tuple[list[Job], int]:
    """(jobs whose output does not exist yet, how many were skipped) for ``--resume``.

    Outputs are written to a temporary file and renamed into place, so an existing output is a
    complete one from an earlier run.  The temporary files such a run left beside these outputs
    when it was killed (``kill -9``) are deleted (imgen's own names only).
    """
    remove_stale_temps(job.target for job in jobs)
    todo = [job for job in jobs if not job.target.exists()]
    return todo, len(jobs) - len(todo)


def _read(job: Job, max_pixels: int | None):
    """(pixels, ICC profile), or the error that names the file."""
    try:
        return read_image_and_profile(job.source, max_pixels=max_pixels)
    except ImageFileError as e:
        return e
    except Exception as e:  # noqa: BLE001 - whatever goes wrong reading one file is that file's error
        return ImageFileError(f"{job.source}: cannot read ({error_reason(e)})")


def _write(job: Job, image: np.ndarray, profile: bytes | None) -> tuple[Job, str | None, list[str]]:
    notes = []
    try:
        fitted, note = fit_to_format(image, job.target)
        if note.dropped_alpha:
            notes.append(f"alpha dropped: {job.target.suffix} files cannot store it")
        if note.reduced_depth:
            notes.append(f"samples reduced to what {job.target.suffix} files store (8-bit, or 16-bit PNG for float)")
        if profile is not None:
            why = icc_problem(profile, fitted, job.target)
            if why:
                notes.append(f"ICC profile not kept: {why}")
                profile = None
        write_image(job.target, fitted, icc_profile=profile)
        return job, None, notes
    except ImageFileError as e:
        return job, str(e), notes
    except Exception as e:  # noqa: BLE001 - whatever goes wrong writing one file is that file's error
        return job, f"{job.target}: cannot write ({error_reason(e)})", notes


Loaded = tuple[Job, np.ndarray, "bytes | None"]  # a job, its pixels and ICC profile


def _process_chunk(process: Process, loaded: list[Loaded], summary: Summary) -> list[Loaded]:
    """Run a chunk at once; if that fails, one by one so that only the culprit fails."""
    if not loaded:
        return []
    try:
        outs = process([img for _, img, _ in loaded])
        return [(job, out, icc) for (job, _, icc), out in zip(loaded, outs)]
    except Exception as e:  # noqa: BLE001 - whatever fails on one image is that image's failure
        if len(loaded) == 1:
            summary.failures.append((str(loaded[0][0].source), _message(e)))
            return []
    done = []
    for job, img, icc in loaded:
        try:
            done.append((job, process([img])[0], icc))
        except Exception as e:  # noqa: BLE001 - reported against the file; the batch goes on
            summary.failures.append((str(job.source), _message(e)))
    return done


def _message(e: Exception) -> str:
    """The error as the report gives it: our own errors (ValueError, TypeError, ImgenError) by
    their message, anything else with its type."""
    return str(e) if isinstance(e, (ValueError, TypeError, ImgenError)) else error_reason(e)


def _record_read(job: Job, read, summary: Summary, loaded: list[Loaded]) -> None:
    if isinstance(read, Exception):
        summary.failures.append((str(job.source), str(read).split(": ", 1)[-1]))
    else:
        loaded.append((job, *read))


def _record_write(result: tuple[Job, str | None, list[str]], summary: Summary) -> None:
    job, err, notes = result
    summary.notes.update(notes)
    if err:
        summary.failures.append((str(job.source), err))
    else:
        summary.done += 1


def run_chunk(jobs: Sequence[Job], process: Process, *, max_pixels: int | None = None) -> Summary:
    """Read, process and write one chunk of jobs in this thread, exactly as ``run_files`` does.

    What a distributed worker runs per batch: the same reading, one-by-one fallback on a bad
    image, format fitting and atomic writes, without the prefetching threads.
    """
    summary = Summary()
    loaded: list[Loaded] = []
    for job in jobs:
        _record_read(job, _read(job, max_pixels), summary, loaded)
    for job, out, icc in _process_chunk(process, loaded, summary):
        _record_write(_write(job, out, icc), summary)
    return summary


def run_files(jobs: Sequence[Job], process: Process, *, chunk: int = 8, desc: str = "images",
              quiet: bool = False, max_pixels: int | None = None) -> Summary:
    """Read every job's source, process it in chunks, and write the result to its target.

    max_pixels: images over this many pixels are refused (see imageio.read_image).  A
    KeyboardInterrupt (Ctrl+C, or SIGTERM through the CLI) stops the loop between chunks: the
    outputs already computed are written, and the summary records why it stopped and how many
    jobs were not done.
    """
    try:
        max_pixels = pixel_limit(max_pixels)  # a bad $IMGEN_MAX_PIXELS is one error, not one per file
    except ValueError as e:
        raise ImgenError(str(e)) from e
    summary = Summary()
    chunks = [list(jobs[i:i + chunk]) for i in range(0, len(jobs), chunk)]
    if not chunks:
        return summary
    writes: list[Future] = []

    def settle(keep: int) -> None:
        while len(writes) > keep:
            result = writes[0].result()
            writes.pop(0)
            _record_write(result, summary)

    with ThreadPoolExecutor(max_workers=2, thread_name_prefix="imgen-io") as io, \
            tqdm(total=len(jobs), unit="img", desc=desc, disable=True if quiet else None,
                 file=sys.stderr) as bar:
        reads = [io.submit(_read, job, max_pixels) for job in chunks[0]]
        try:
            for k, current in enumerate(chunks):
                images = [f.result() for f in reads]
                if k + 1 < len(chunks):
                    reads = [io.submit(_read, job, max_pixels) for job in chunks[k + 1]]
                loaded: list[Loaded] = []
                for job, img in zip(current, images):
                    _record_read(job, img, summary, loaded)
                for job, out, icc in _process_chunk(process, loaded, summary):
                    writes.append(io.submit(_write, job, out, icc))
                settle(keep=chunk)  # bound the images waiting to be written
                bar.update(len(current))
        except KeyboardInterrupt as e:
            summary.stopped = stop_reason(e)
            for f in reads:
                f.cancel()
        settle(keep=0)  # outputs handed to the writers are finished (each is written atomically)
    if summary.stopped:
        summary.not_done = len(jobs) - summary.done - len(summary.failures)
    return summary


def as_job(processor: JobLike) -> Work:
    """A :class:`imgen.jobs.Job`: itself, or for a model file / shipped name the options of
    ``imgen run`` (BGR(A) images, as files are read).  TypeError for anything else."""
    if isinstance(processor, (str, os.PathLike)):
        return ProcessorOptions(model=os.fspath(processor), color_order="bgr")
    if isinstance(processor, Work):
        return processor
    raise TypeError(f"processor must be a Job (ProcessorOptions, InpaintJob, ReconstructJob, ...) or a model, "
                    f"got {type(processor).__name__}")


def run_images(
    inputs: Sequence[str | os.PathLike],
    output: str | os.PathLike,
    processor: JobLike,
    *,
    ext: str | None = None,
    resume: bool = False,
    batch_size: int = 8,
    progress: bool = False,
    max_pixels: int | None = None,
    threads: int | None = None,
    process: Processor | None = None,
    before: Callable[[Processor, list[Job]], None] | None = None,
) -> Summary:
    """``imgen run`` / ``denoise`` / ``restore`` / ``translate`` / ``inpaint`` / ``reconstruct`` on
    this machine: the local twin of ``imgen.distributed.run_images`` (the same arguments, with
    ``threads`` where that one takes ``cluster``), the same outputs, naming, atomic writes and report.

    processor: what to do to each image, a :class:`imgen.jobs.Job` (``ProcessorOptions`` with
        color_order "bgr", as files are read; ``InpaintJob``; ``ReconstructJob``) or a model file /
        shipped model name.  It is built here (``processor(threads)``) unless ``process``, a
        :class:`imgen.jobs.Processor` already built from it (a model the caller loaded and checked), is given.
    inputs/output/ext: files and folders (recursive, relative paths kept), written under ``output``
        with ``ext`` (default: the input's).  resume: skip inputs whose output already exists.
    batch_size: files per processor call (a per-file job gets one at a time).  progress: a
        progress bar on stderr.  max_pixels: images over this many pixels are refused
        (``imageio.read_image``).  before: called with the processor and the files to do, after
        planning and before the first file (e.g. to print a cost estimate).
    Returns the Summary (``problems``: inputs that could not be planned; ``notes``: the processor's
    conversions); raises ImgenError (ModelError) when the model does not load or fit.

    Example
    -------
    >>> from imgen.batch import run_images
    >>> from imgen.processors import ProcessorOptions
    >>> summary = run_images(["photos/"], "out/", ProcessorOptions(method="wavelet", color_order="bgr"))  # doctest: +SKIP
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    job = as_job(processor)
    if process is None:
        process = job(threads)
    files, problems, skipped = plan_files(inputs, output, ext=ext, resume=resume)
    if before is not None:
        before(process, files)
    if job.per_file:
        summary = _one_file_at_a_time(files, process, job.desc, max_pixels)
    else:
        summary = run_files(files, process, chunk=batch_size, desc=job.desc, quiet=not progress,
                            max_pixels=max_pixels)
    summary.notes.update(process.notes)
    summary.problems.extend(problems)
    summary.skipped = skipped
    return summary


def plan_files(inputs: Sequence[str | os.PathLike], output: str | os.PathLike, *, ext: str | None = None,
               resume: bool = False) -> tuple[list[Job], list[str], int]:
    """(the files to do, inputs that could not be planned, how many were already done): the outputs
    of ``imageio.plan_outputs``, less those that exist with ``resume`` (:func:`skip_done`).  The
    first step of both ``run_images`` (here and on Ray)."""
    files, problems = plan_outputs(inputs, output, ext)
    skipped = 0
    if resume:
        files, skipped = skip_done(files)
    return files, problems, skipped


def _one_file_at_a_time(files: list[Job], process: Processor, desc: str, max_pixels: int | None) -> Summary:
    """A per-file job's run: the processor's ``name`` set to each file's name before its call."""
    summary = Summary()
    for k, job in enumerate(files):
        process.name = job.source.name  # type: ignore[attr-defined]
        summary.merge(run_files([job], process, desc=desc, quiet=True, max_pixels=max_pixels))
        if summary.stopped:
            summary.not_done += len(files) - k - 1
            break
    return summary
