"""The file loop shared by commands that turn images into images (run, denoise, ...).

Reads are prefetched and writes done on a small I/O thread pool while the main thread
computes; a bad file is reported and the rest carry on; outputs are written atomically.
"""
from __future__ import annotations

import sys
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
from tqdm import tqdm

from ..imageio import ImageFileError, Job, fit_to_format, read_image, write_image

Process = Callable[[list[np.ndarray]], list[np.ndarray]]


@dataclass
class Summary:
    done: int = 0
    failures: list[tuple[str, str]] = field(default_factory=list)
    notes: set[str] = field(default_factory=set)

    def report(self, problems: Sequence[str] = ()) -> int:
        """Print the outcome to stderr; the exit code (0 all done, 1 something failed)."""
        for note in sorted(self.notes):
            print(f"note: {note}", file=sys.stderr)
        failed = list(problems) + [f"{src}: {msg}" for src, msg in self.failures]
        total = self.done + len(self.failures)
        print(f"imgen: wrote {self.done} of {total} image(s)", file=sys.stderr)
        if failed:
            print(f"imgen: {len(failed)} problem(s):", file=sys.stderr)
            for line in failed:
                print(f"  {line}", file=sys.stderr)
            return 1
        return 0


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
            job, err, notes = writes.pop(0).result()
            summary.notes.update(notes)
            if err:
                summary.failures.append((str(job.source), err))
            else:
                summary.done += 1

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
                if isinstance(img, Exception):
                    summary.failures.append((str(job.source), str(img).split(": ", 1)[-1]))
                else:
                    loaded.append((job, img))
            for job, out in _process_chunk(process, loaded, summary):
                writes.append(io.submit(_write, job, out))
            settle(keep=chunk)  # bound the images waiting to be written
            bar.update(len(current))
        settle(keep=0)
    return summary
