"""The file loop shared by commands that turn images into images (run, denoise, ...).

Reads are prefetched and writes done on a small I/O thread pool while the main thread
computes; a bad file is reported and the rest carry on; outputs are written atomically.
"""
from __future__ import annotations

import sys
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Callable, Sequence

import numpy as np
from tqdm import tqdm

from ..imageio import ImageFileError, Job, fit_to_format, read_image, write_image

Process = Callable[[list[np.ndarray]], list[np.ndarray]]


@dataclass
class Summary:
    """The outcome of a batch: outputs written, (source, message) failures, notes, resumed skips,
    and problems (inputs that could not be planned, reported with the failures)."""

    done: int = 0
    failures: list[tuple[str, str]] = field(default_factory=list)
    notes: set[str] = field(default_factory=set)
    skipped: int = 0
    problems: list[str] = field(default_factory=list)
    unit: str = "image"

    def merge(self, other: "Summary") -> None:
        """Add another summary's counts, failures and notes to this one."""
        self.done += other.done
        self.failures.extend(other.failures)
        self.notes.update(other.notes)
        self.skipped += other.skipped
        self.problems.extend(other.problems)

    def report(self, problems: Sequence[str] = ()) -> int:
        """Print the outcome to stderr; the exit code (0 all done, 1 something failed)."""
        for note in sorted(self.notes):
            print(f"note: {note}", file=sys.stderr)
        failed = list(problems) + self.problems + [f"{src}: {msg}" for src, msg in self.failures]
        total = self.done + len(self.failures)
        line = f"imgen: wrote {self.done} of {total} {self.unit}(s)"
        if self.skipped:
            line += f"; {self.skipped} already done, skipped (--resume)"
        print(line, file=sys.stderr)
        if failed:
            print(f"imgen: {len(failed)} problem(s):", file=sys.stderr)
            for line in failed:
                print(f"  {line}", file=sys.stderr)
            return 1
        return 0


def skip_done(jobs: Sequence[Job]) -> tuple[list[Job], int]:
    """(jobs whose output does not exist yet, how many were skipped) for ``--resume``.

    Outputs are written to a temporary file and renamed into place, so an existing output is a
    complete one from an earlier run.
    """
    todo = [job for job in jobs if not job.target.exists()]
    return todo, len(jobs) - len(todo)


def _read(job: Job):
    try:
        return read_image(job.source)
    except ImageFileError as e:
        return e


def _write(job: Job, image: np.ndarray) -> tuple[Job, str | None, list[str]]:
    notes = []
    try:
        fitted, note = fit_to_format(image, job.target)
        if note.dropped_alpha:
            notes.append(f"alpha dropped: {job.target.suffix} files cannot store it")
        if note.reduced_depth:
            notes.append(f"samples reduced to what {job.target.suffix} files store (8-bit, or 16-bit PNG for float)")
        write_image(job.target, fitted)
        return job, None, notes
    except ImageFileError as e:
        return job, str(e), notes


def _process_chunk(process: Process, loaded: list[tuple[Job, np.ndarray]], summary: Summary):
    """Run a chunk at once; if that fails, one by one so that only the culprit fails."""
    if not loaded:
        return []
    try:
        return list(zip((j for j, _ in loaded), process([img for _, img in loaded])))
    except (ValueError, TypeError) as e:
        if len(loaded) == 1:
            summary.failures.append((str(loaded[0][0].source), str(e)))
            return []
    out = []
    for job, img in loaded:
        try:
            out.append((job, process([img])[0]))
        except (ValueError, TypeError) as e:
            summary.failures.append((str(job.source), str(e)))
    return out


def _record_read(job: Job, img, summary: Summary, loaded: list) -> None:
    if isinstance(img, Exception):
        summary.failures.append((str(job.source), str(img).split(": ", 1)[-1]))
    else:
        loaded.append((job, img))


def _record_write(result: tuple[Job, str | None, list[str]], summary: Summary) -> None:
    job, err, notes = result
    summary.notes.update(notes)
    if err:
        summary.failures.append((str(job.source), err))
    else:
        summary.done += 1


def run_chunk(jobs: Sequence[Job], process: Process) -> Summary:
    """Read, process and write one chunk of jobs in this thread, exactly as ``run_files`` does.

    What a distributed worker runs per batch: the same reading, one-by-one fallback on a bad
    image, format fitting and atomic writes, without the prefetching threads.
    """
    summary = Summary()
    loaded: list[tuple[Job, np.ndarray]] = []
    for job in jobs:
        _record_read(job, _read(job), summary, loaded)
    for job, out in _process_chunk(process, loaded, summary):
        _record_write(_write(job, out), summary)
    return summary


def run_files(jobs: Sequence[Job], process: Process, *, chunk: int = 8, desc: str = "images",
              quiet: bool = False) -> Summary:
    """Read every job's source, process it in chunks, and write the result to its target."""
    summary = Summary()
    chunks = [list(jobs[i:i + chunk]) for i in range(0, len(jobs), chunk)]
    if not chunks:
        return summary
    writes: list[Future] = []

    def settle(keep: int) -> None:
        while len(writes) > keep:
            _record_write(writes.pop(0).result(), summary)

    with ThreadPoolExecutor(max_workers=2, thread_name_prefix="imgen-io") as io, \
            tqdm(total=len(jobs), unit="img", desc=desc, disable=True if quiet else None,
                 file=sys.stderr) as bar:
        reads = [io.submit(_read, job) for job in chunks[0]]
        for k, current in enumerate(chunks):
            images = [f.result() for f in reads]
            if k + 1 < len(chunks):
                reads = [io.submit(_read, job) for job in chunks[k + 1]]
            loaded = []
            for job, img in zip(current, images):
                _record_read(job, img, summary, loaded)
            for job, out in _process_chunk(process, loaded, summary):
                writes.append(io.submit(_write, job, out))
            settle(keep=chunk)  # bound the images waiting to be written
            bar.update(len(current))
        settle(keep=0)
    return summary
