"""Image files: reading, atomic writing, and finding images under folders.

Arrays are HWC in OpenCV's channel order (BGR / BGRA), uint8, uint16 or float32, as
``cv2.imread(..., IMREAD_UNCHANGED)`` gives them.
"""
from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

import cv2
import numpy as np

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp", ".webp")
_EIGHT_BIT_ONLY = (".jpg", ".jpeg", ".bmp", ".webp")


class ImageFileError(Exception):
    """An image file could not be read or written; the message names the file."""


def read_image(path: str | os.PathLike) -> np.ndarray:
    """Read an image file as stored: gray (H, W), BGR or BGRA; 8/16-bit or float32.

    Raises ImageFileError naming the file when it is missing, unreadable or not an image.
    """
    path = Path(path)
    try:
        data = np.fromfile(path, dtype=np.uint8)
    except OSError as e:
        raise ImageFileError(f"{path}: cannot read ({e.strerror or e})") from e
    if data.size == 0:
        raise ImageFileError(f"{path}: file is empty")
    img = cv2.imdecode(data, cv2.IMREAD_UNCHANGED)
    if img is None:
        raise ImageFileError(f"{path}: not a readable image (corrupt or unsupported format)")
    if img.dtype not in (np.uint8, np.uint16, np.float32):
        raise ImageFileError(f"{path}: unsupported sample type {img.dtype} (expected 8/16-bit or float32)")
    if img.ndim == 3 and img.shape[2] == 2:  # gray + alpha -> BGRA
        img = np.dstack([img[..., 0]] * 3 + [img[..., 1]])
    return img


@dataclass
class WriteNote:
    """What had to change to fit the output format (reported by the CLI)."""

    dropped_alpha: bool = False
    reduced_depth: bool = False


def fit_to_format(img: np.ndarray, path: str | os.PathLike) -> tuple[np.ndarray, WriteNote]:
    """Convert an image to what the file format can hold: 8-bit and no alpha for JPEG etc."""
    note = WriteNote()
    ext = Path(path).suffix.lower()
    if ext in _EIGHT_BIT_ONLY:
        if img.dtype == np.uint16:
            img = np.rint(img / 257.0).astype(np.uint8)
            note.reduced_depth = True
        elif img.dtype == np.float32:
            img = np.clip(np.rint(img * 255.0), 0, 255).astype(np.uint8)
            note.reduced_depth = True
        if ext in (".jpg", ".jpeg") and img.ndim == 3 and img.shape[2] == 4:
            img = np.ascontiguousarray(img[..., :3])
            note.dropped_alpha = True
    elif ext == ".png" and img.dtype == np.float32:
        img = np.clip(np.rint(img * 65535.0), 0, 65535).astype(np.uint16)
        note.reduced_depth = True
    return img, note


def create_temp_beside(path: Path, *, keep_suffix: bool = False) -> tuple[int, Path]:
    """Open a new hidden temp file in the target's folder, with the umask's permissions (like a
    plain open(); tempfile.mkstemp would make it 0600).  keep_suffix: end the name in the
    target's extension (for writers that pick the format from it).  Returns (fd, temp path);
    raises ImageFileError when the folder is not writable."""
    for _ in range(100):
        tag = secrets.token_hex(4)
        tmp = path.with_name(f".{path.stem}.{tag}.tmp{path.suffix}" if keep_suffix else f".{path.name}.{tag}.tmp")
        try:
            return os.open(tmp, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o666), tmp
        except FileExistsError:
            continue
        except OSError as e:
            raise ImageFileError(f"{path}: cannot create a file in {path.parent} ({e.strerror or e})") from e
    raise ImageFileError(f"{path}: cannot find a free temporary name in {path.parent}")


def write_image(path: str | os.PathLike, img: np.ndarray) -> None:
    """Write an image atomically: encode, write a temp file beside the target, rename over it.

    The target is never left half-written.  Raises ImageFileError naming the file.
    """
    path = Path(path)
    ext = path.suffix.lower()
    if ext not in IMAGE_EXTENSIONS:
        raise ImageFileError(f"{path}: unknown image extension {ext!r} (use one of {', '.join(IMAGE_EXTENSIONS)})")
    ok, buf = cv2.imencode(ext, img)
    if not ok:
        raise ImageFileError(f"{path}: OpenCV could not encode a {img.dtype} {img.shape} image as {ext}")
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = create_temp_beside(path)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(buf.tobytes())
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException as e:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        if isinstance(e, OSError):
            raise ImageFileError(f"{path}: cannot write ({e.strerror or e})") from e
        raise


@dataclass(frozen=True)
class Job:
    """One input file and where its output goes."""

    source: Path
    target: Path


def find_images(inputs: Iterable[str | os.PathLike]) -> tuple[list[tuple[Path, Path]], list[str]]:
    """Image files among ``inputs`` (files, and folders searched recursively, sorted): a list of
    (path, path relative to the input folder, or the file name), and problem messages for inputs
    that are missing or folders without images."""
    found: list[tuple[Path, Path]] = []
    problems: list[str] = []
    for src in map(Path, inputs):
        if src.is_dir():
            files = sorted(p for p in src.rglob("*") if p.is_file() and p.suffix.lower() in IMAGE_EXTENSIONS)
            if not files:
                problems.append(f"{src}: folder contains no images ({', '.join(IMAGE_EXTENSIONS)})")
            found.extend((p, p.relative_to(src)) for p in files)
        elif src.is_file():
            found.append((src, Path(src.name)))
        else:
            problems.append(f"{src}: no such file or folder")
    return found, problems


def plan_outputs(inputs: Iterable[str | os.PathLike], out: str | os.PathLike, ext: str | None = None) -> tuple[list[Job], list[str]]:
    """Map input files and folders to output paths.

    Folders are searched recursively for images and keep their relative paths under ``out``;
    files go to ``out/<name>``; a single file with ``out`` naming an image file goes there.
    ``ext`` (".png", ...) replaces the extension.  Returns (jobs, problems): problems are
    messages for inputs that cannot be processed (missing, no images, would overwrite an input,
    two inputs to one output).
    """
    out = Path(out)
    inputs = [Path(p) for p in inputs]
    single_file_target = (
        len(inputs) == 1 and inputs[0].is_file() and out.suffix.lower() in IMAGE_EXTENSIONS and not out.is_dir()
    )
    found, problems = find_images(inputs)
    pairs = [(src, out if single_file_target else out / rel) for src, rel in found]
    if ext:
        suffix = ext if ext.startswith(".") else "." + ext
        pairs = [(src, dst.with_suffix(suffix)) for src, dst in pairs]
    return jobs_for(pairs, problems), problems


def jobs_for(pairs: Iterable[tuple[Path, Path]], problems: list[str]) -> list[Job]:
    """Jobs for (source, target) pairs; a target that is one of the sources or another pair's
    target is refused with a line appended to ``problems``."""
    pairs = list(pairs)
    sources = {p.resolve() for p, _ in pairs}
    jobs: list[Job] = []
    seen: dict[Path, Path] = {}
    for src, dst in pairs:
        key = dst.resolve()
        if key in sources:
            problems.append(f"{src}: output {dst} would overwrite an input; choose another output folder")
        elif key in seen:
            problems.append(f"{src}: output {dst} is also the output of {seen[key]}")
        else:
            seen[key] = src
            jobs.append(Job(src, dst))
    return jobs
