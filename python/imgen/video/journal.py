"""The journal of a resumable run: which closed parts of the output exist, and what made them.

A long video is written as closed parts in a hidden work folder beside the target
(``.NAME.EXT.imgen-parts/``); ``journal.json`` there lists each part once it is complete (file,
frames, first and next source timestamps) with the input's identity and the run's settings.  A
rerun with resume continues after the last part when both still match; anything else in the
folder (a part a killed run was writing) is deleted.
"""
from __future__ import annotations

import json
import os
import shutil
from dataclasses import asdict, dataclass, field
from pathlib import Path

from ..atomic import atomic_write

VERSION = 1
JOURNAL = "journal.json"


def work_dir(target: Path) -> Path:
    """The hidden folder beside ``target`` that holds its parts and journal."""
    return target.with_name(f".{target.name}.imgen-parts")


@dataclass
class Part:
    """One closed part: ``file`` (in the work folder), its frame count, the source timestamps of
    its first frame and where the next part begins (``next_pts``: the next frame's, or one past
    its last frame's; the video stream's time base)."""

    file: str
    frames: int
    first_pts: int
    next_pts: int


@dataclass
class Journal:
    """The parts done so far and what made them (``key``: the input's path, size and mtime, the
    encoder and processor settings, the part length)."""

    folder: Path
    key: dict
    parts: list[Part] = field(default_factory=list)

    @property
    def frames_done(self) -> int:
        return sum(p.frames for p in self.parts)

    @property
    def resume_pts(self) -> int | None:
        """Where the next part begins, or None when nothing is done."""
        return self.parts[-1].next_pts if self.parts else None

    def add(self, part: Part) -> None:
        """Record a complete part (its file already in place), atomically."""
        self.parts.append(part)
        self.save()

    def save(self) -> None:
        data = {"version": VERSION, "key": self.key, "parts": [asdict(p) for p in self.parts]}
        with atomic_write(self.folder / JOURNAL, mode="w") as f:
            json.dump(data, f, indent=1)

    def part_path(self, k: int, suffix: str) -> Path:
        return self.folder / f"part-{k:05d}{suffix}"


def source_key(path: Path, settings: str) -> dict:
    """What must match for a resume: the input file (resolved path, size, mtime) and the settings."""
    st = path.stat()
    return {"source": str(path.resolve()), "size": st.st_size, "mtime_ns": st.st_mtime_ns, "settings": settings}


def open_journal(target: Path, key: dict, *, resume: bool) -> tuple[Journal, str | None]:
    """The journal to continue (resume=True and a matching one exists) or a fresh one in an
    emptied work folder; and a note on what became of an earlier run's parts, if any."""
    folder = work_dir(target)
    note = None
    if folder.exists():
        journal = _load(folder, key) if resume else None
        if journal is not None:
            _tidy(journal)
            if journal.parts:
                return journal, None
        else:
            note = ("an earlier run's parts were deleted: " +
                    ("they were made from another input or with other settings (or their journal is "
                     "unreadable)" if resume else "--resume was not given"))
        shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True, exist_ok=True)
    journal = Journal(folder, key)
    journal.save()
    return journal, note


def remove_work_dir(target: Path) -> None:
    """Delete the work folder (after the output is complete)."""
    shutil.rmtree(work_dir(target), ignore_errors=True)


def _load(folder: Path, key: dict) -> Journal | None:
    try:
        data = json.loads((folder / JOURNAL).read_text(encoding="utf-8"))
        if data.get("version") != VERSION or data.get("key") != key:
            return None
        parts = [Part(**p) for p in data["parts"]]
    except (OSError, ValueError, TypeError, KeyError):
        return None
    return Journal(folder, key, parts)


def _tidy(journal: Journal) -> None:
    """Keep the journal's parts up to the first missing file; delete every other file."""
    kept = []
    for part in journal.parts:
        if not (journal.folder / part.file).is_file():
            break
        kept.append(part)
    journal.parts = kept
    keep = {JOURNAL} | {p.file for p in kept}
    for entry in os.scandir(journal.folder):
        if entry.name in keep:
            continue
        if entry.is_dir(follow_symlinks=False):
            shutil.rmtree(entry.path, ignore_errors=True)
        else:
            Path(entry.path).unlink(missing_ok=True)
    journal.save()
