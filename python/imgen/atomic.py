"""Atomic file writing: the one place imgen makes temporary files and renames them into place.

Every file imgen writes goes to a hidden temporary file beside its target, named
``.NAME.TAG.tmp`` (or ``.STEM.TAG.tmp.EXT`` with ``keep_suffix``, for writers that pick the format
from the extension; TAG is 8 hex digits), created with the umask's permissions like a plain
``open()`` (``tempfile.mkstemp`` would make it 0600).  It is fsynced and renamed over the target
when complete, and removed when anything fails -- Ctrl+C included -- so a target is either its
old self or complete.  A run killed outright leaves the temporary file; :func:`remove_stale_temps`
recognises and deletes those (``--resume``).

:func:`atomic_write` covers writers that finish within one ``with`` block; writers whose
temporary file lives across calls (a video being encoded) use :func:`create_temp_beside`,
:func:`commit` and :func:`discard`.
"""
from __future__ import annotations

import contextlib
import logging
import os
import re
import secrets
from pathlib import Path
from typing import IO, Iterable, Iterator

__all__ = ["TempFileError", "atomic_write", "commit", "create_temp_beside", "discard", "is_temp_file",
           "remove_stale_temps"]

log = logging.getLogger("imgen")

# .NAME.TAG.tmp, or .STEM.TAG.tmp.EXT (keep_suffix): TAG is 8 hex digits
_TEMP_NAME = re.compile(r"\.(?P<base>.+)\.[0-9a-f]{8}\.tmp(?P<ext>\.[^.]+)?")


class TempFileError(OSError):
    """No temporary file could be created beside a target; the message names the target."""


def _temp_name(path: Path, tag: str, keep_suffix: bool) -> str:
    return f".{path.stem}.{tag}.tmp{path.suffix}" if keep_suffix else f".{path.name}.{tag}.tmp"


def is_temp_file(path: str | os.PathLike) -> bool:
    """Whether the name is one of :func:`create_temp_beside`'s temporary files."""
    return _TEMP_NAME.fullmatch(Path(path).name) is not None


def create_temp_beside(path: str | os.PathLike, *, keep_suffix: bool = False) -> tuple[int, Path]:
    """Open a new, empty, hidden temporary file in the target's folder, with the umask's
    permissions.  keep_suffix: end the name in the target's extension.  Returns (fd, temp path);
    raises TempFileError when the folder is not writable."""
    path = Path(path)
    for _ in range(100):
        tmp = path.with_name(_temp_name(path, secrets.token_hex(4), keep_suffix))
        try:
            return os.open(tmp, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o666), tmp
        except FileExistsError:
            continue
        except OSError as e:
            raise TempFileError(f"{path}: cannot create a file in {path.parent} ({e.strerror or e})") from e
    raise TempFileError(f"{path}: cannot find a free temporary name in {path.parent}")


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def commit(tmp: str | os.PathLike, target: str | os.PathLike) -> None:
    """Flush a complete temporary file to disk and rename it over ``target`` (closed first by the
    caller).  OSError when that fails; the temporary file is then still there (see :func:`discard`)."""
    _fsync(Path(tmp))
    os.replace(tmp, target)


def discard(tmp: str | os.PathLike) -> None:
    """Delete a temporary file (after a failure); nothing happens when it is already gone."""
    Path(tmp).unlink(missing_ok=True)


@contextlib.contextmanager
def atomic_write(path: str | os.PathLike, *, keep_suffix: bool = False,
                 mode: str | None = "wb") -> Iterator[IO | Path]:
    """Write ``path`` atomically: yields a temporary file beside it -- open in ``mode`` ("wb", "w"
    (UTF-8)), or with ``mode=None`` its Path, for writers that open files by name -- then fsyncs it
    and renames it over ``path`` when the block ends normally.  When the block raises (Ctrl+C
    included) or the rename fails, the temporary file is removed and ``path`` is left as it was.
    The parent folder is created.  Raises TempFileError (no temporary file) or the OSError of the
    write."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = create_temp_beside(path, keep_suffix=keep_suffix)
    try:
        if mode is None:
            os.close(fd)
            yield tmp
        else:
            with os.fdopen(fd, mode, encoding=None if "b" in mode else "utf-8") as f:
                yield f
        commit(tmp, path)
    except BaseException:
        discard(tmp)
        raise


def remove_stale_temps(targets: Iterable[str | os.PathLike]) -> list[Path]:
    """Delete the temporary files :func:`create_temp_beside` made for these targets and a killed
    run left behind (``.NAME.TAG.tmp``, ``.STEM.TAG.tmp.EXT``); nothing else is touched.  Returns
    the files deleted."""
    by_folder: dict[Path, set[str]] = {}
    for target in map(Path, targets):
        by_folder.setdefault(target.parent, set()).add(target.name)
    removed = []
    for folder, names in by_folder.items():
        try:
            with os.scandir(folder) as entries:
                candidates = [e.name for e in entries if e.name.startswith(".") and ".tmp" in e.name]
        except OSError:
            continue  # no such folder yet: nothing to clean
        for name in candidates:
            m = _TEMP_NAME.fullmatch(name)
            if m and (m["base"] if m["ext"] is None else m["base"] + m["ext"]) in names:
                try:
                    (folder / name).unlink()
                    removed.append(folder / name)
                except FileNotFoundError:
                    pass
    if removed:
        log.info("removed %d temporary file(s) left by an interrupted run", len(removed))
    return removed
