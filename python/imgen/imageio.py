"""Image files: reading, writing (atomically, through imgen.atomic), and finding images under folders.

Arrays are HWC in OpenCV's channel order (BGR / BGRA), uint8, uint16 or float32, as
``cv2.imdecode(..., IMREAD_UNCHANGED)`` gives them, turned upright by the file's EXIF orientation.

Reading checks the size the file's header announces against a pixel limit before anything is
decoded (a decompression-bomb guard: ``max_pixels``, else ``$IMGEN_MAX_PIXELS``, else
DEFAULT_MAX_PIXELS).  Headers are read with Pillow's format plugins, and here for TIFF (float
ones too), PFM and Radiance HDR; a file no reader knows is bounded by OpenCV's own limit
(OPENCV_IO_MAX_IMAGE_PIXELS) while decoding and checked after.  ICC profiles are read, and
written back into PNG, JPEG, TIFF and WebP files.
"""
from __future__ import annotations

import logging
import os
import struct
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

from .atomic import TempFileError, atomic_write, is_temp_file
from .icc import with_icc
from .image_headers import _MAX_PAGES as _MAX_TIFF_PAGES
from .image_headers import UPRIGHT, FileBytes, neutral_tiff_orientation, read_header

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp", ".webp")
_EIGHT_BIT_ONLY = (".jpg", ".jpeg", ".bmp", ".webp")

#: Images with more pixels than this are refused unless the caller or $IMGEN_MAX_PIXELS allows more.
DEFAULT_MAX_PIXELS = 500_000_000
MAX_PIXELS_VARIABLE = "IMGEN_MAX_PIXELS"
_OPENCV_VARIABLE = "OPENCV_IO_MAX_IMAGE_PIXELS"  # OpenCV's own limit, read once when cv2 loads
_OPENCV_DEFAULT = 1 << 30

log = logging.getLogger("imgen")


def _env_pixels(name: str) -> int | None:
    """A pixel count from the environment; None when unset; ValueError when not a positive number."""
    text = os.environ.get(name, "").strip()
    if not text:
        return None
    try:
        value = float(text)
    except ValueError:
        value = 0.0
    if not (value >= 1 and value == int(value)):
        raise ValueError(f"{name} must be a whole number of pixels > 0, got {text!r}")
    return int(value)


def _raise_opencv_limit() -> None:
    """Before cv2 loads: a $IMGEN_MAX_PIXELS above OpenCV's default limit raises that one too."""
    if "cv2" in sys.modules or _OPENCV_VARIABLE in os.environ:
        return
    try:
        wanted = _env_pixels(MAX_PIXELS_VARIABLE)
    except ValueError:
        return  # reported when an image is read
    if wanted is not None and wanted > _OPENCV_DEFAULT:
        os.environ[_OPENCV_VARIABLE] = str(wanted)


_raise_opencv_limit()

import cv2  # noqa: E402
import numpy as np  # noqa: E402


class ImageFileError(Exception):
    """An image file could not be read or written; the message names the file."""


class PixelLimitError(ImageFileError):
    """An image is larger than the pixel limit (refused from its header before decoding)."""


class ImageMemoryError(ImageFileError, MemoryError):
    """Decoding needed more memory than the process may have (e.g. under ``ulimit -v``): the
    file may be fine; a server answers 503 (retry later), a batch reports the file and goes on."""


def pixel_limit(max_pixels: int | None = None) -> int:
    """The pixel limit reads use: ``max_pixels`` if given, else $IMGEN_MAX_PIXELS, else
    DEFAULT_MAX_PIXELS.  ValueError when either is not a positive whole number."""
    if max_pixels is not None:
        if not max_pixels >= 1:
            raise ValueError(f"max_pixels must be > 0, got {max_pixels}")
        return int(max_pixels)
    from_env = _env_pixels(MAX_PIXELS_VARIABLE)
    return DEFAULT_MAX_PIXELS if from_env is None else from_env


def read_image(path: str | os.PathLike, *, max_pixels: int | None = None) -> np.ndarray:
    """Read an image file: gray (H, W), BGR or BGRA; 8/16-bit or float32; turned upright by
    its EXIF orientation.

    max_pixels: refuse images with more pixels (width x height, read from the header before
    decoding); default $IMGEN_MAX_PIXELS or DEFAULT_MAX_PIXELS.
    Raises ImageFileError naming the file when it is missing, unreadable, too large or not an
    image; ValueError when $IMGEN_MAX_PIXELS is set to something that is not a pixel count.
    """
    return read_image_and_profile(path, max_pixels=max_pixels)[0]


def read_image_and_profile(path: str | os.PathLike, *,
                           max_pixels: int | None = None) -> tuple[np.ndarray, bytes | None]:
    """As :func:`read_image`, and the file's ICC profile (None when it has none)."""
    path = Path(path)
    limit = pixel_limit(max_pixels)
    size = None
    try:
        with open(path, "rb") as f:
            # The header is read from the stream and checked (pixels, and the file's size against
            # what those pixels can take) before the file is read whole: a small PNG padded to
            # 3 GB took the process to 3.25 GB before the guard saw it.
            size = os.fstat(f.fileno()).st_size
            header = read_header(FileBytes(f, size)) if size else None
            if header is not None:
                _check_pixels(path, header.width, header.height, limit)
                _check_file_size(path, size, header)
            f.seek(0)
            data = f.read()
    except OSError as e:
        raise ImageFileError(f"{path}: cannot read ({e.strerror or e})") from e
    except MemoryError as e:
        raise ImageMemoryError(f"{path}: not enough memory to read this {size:,}-byte file" if size is not None
                               else f"{path}: not enough memory to open it") from e
    return decode_image(data, name=str(path), max_pixels=limit)


def decode_image(data: bytes, *, name: str = "image", max_pixels: int | None = None) -> tuple[np.ndarray, bytes | None]:
    """Decode image bytes as :func:`read_image_and_profile` reads a file (the same pixel guard from
    the header before decoding, EXIF orientation, ICC profile); ``name`` stands for the path in
    messages.  PixelLimitError when over the limit, ImageFileError when not a readable image."""
    path = name
    limit = pixel_limit(max_pixels)
    if not data:
        raise ImageFileError(f"{path}: file is empty")
    header = read_header(data)
    if header is not None:
        _check_pixels(path, header.width, header.height, limit)
        _check_file_size(path, len(data), header)
        _check_tiff_layout(path, header)
        if header.tiff_orientation_at is not None and header.orientation != 1:
            data = neutral_tiff_orientation(data, header.tiff_orientation_at)
    try:
        img = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
    except cv2.error as e:
        raise ImageFileError(_opencv_read_error(path, e)) from e
    except MemoryError as e:
        size = f" {header.width}x{header.height}" if header else ""
        raise ImageMemoryError(f"{path}: not enough memory to decode this{size} image") from e
    if img is None:
        raise ImageFileError(f"{path}: not a readable image (corrupt or unsupported format)")
    if header is None:  # a format whose header imgen does not read: OpenCV's own limit held while decoding
        _check_pixels(path, img.shape[1], img.shape[0], limit)
    if img.dtype not in (np.uint8, np.uint16, np.float32):
        raise ImageFileError(f"{path}: unsupported sample type {img.dtype} (expected 8/16-bit or float32)")
    if img.ndim == 3 and img.shape[2] == 2:  # gray + alpha -> BGRA
        img = np.dstack([img[..., 0]] * 3 + [img[..., 1]])
    if header is not None and header.orientation in UPRIGHT:
        img = np.ascontiguousarray(UPRIGHT[header.orientation](img))
    return img, header.icc_profile if header is not None else None


#: The most bytes a pixel can take in a file imgen reads (float32 RGBA = 16; twice that for
#: formats' own overheads), and the room beyond the pixels for metadata (ICC profiles, EXIF, text).
MAX_FILE_BYTES_PER_PIXEL = 32
FILE_METADATA_ALLOWANCE = 64 * 2**20


def _check_file_size(path: Path | str, size: int, header) -> None:
    """ImageFileError for a file far larger than the pixels its header declares could need (a
    small image padded to gigabytes), naming both sizes."""
    pixels = header.width * header.height * max(1, header.pages)
    most = pixels * MAX_FILE_BYTES_PER_PIXEL + FILE_METADATA_ALLOWANCE
    if size > most:
        raise ImageFileError(
            f"{path}: the file is {size:,} bytes, but the {header.width}x{header.height} image its header "
            f"declares needs at most {most:,} bytes ({MAX_FILE_BYTES_PER_PIXEL} per pixel and "
            f"{FILE_METADATA_ALLOWANCE // 2**20} MiB of metadata): refused as a padded or damaged file")


def _check_tiff_layout(path: Path | str, header) -> None:
    """What OpenCV would silently drop from a TIFF: a 2-sample TIFF is refused (OpenCV keeps the
    first sample only), a multi-page one is read as its first page with a warning."""
    if header.samples == 2:
        raise ImageFileError(
            f"{path}: a TIFF with 2 samples per pixel (gray and a second channel, often alpha); OpenCV keeps "
            f"only the first, so imgen refuses it rather than drop the second: convert it to 1, 3 or 4 samples "
            f"(e.g. a gray+alpha PNG)")
    if header.pages > 1:
        more = "+" if header.pages >= _MAX_TIFF_PAGES else ""
        log.warning("%s: a multi-page TIFF (%d%s pages); only page 1 is read, the other pages are ignored "
                    "(split it into one file per page to process them all)", path, header.pages, more)


def _check_pixels(path: Path | str, width: int, height: int, limit: int) -> None:
    if width * height > limit:
        raise PixelLimitError(
            f"{path}: {width}x{height} = {width * height:,} pixels is over the limit of {limit:,} (a guard "
            f"against decompression bombs; raise it with max_pixels= or ${MAX_PIXELS_VARIABLE})")


def _opencv_read_error(path: Path | str, e: cv2.error) -> str:
    text = str(e)
    if "CV_IO_MAX_IMAGE_PIXELS" in text:
        limit = os.environ.get(_OPENCV_VARIABLE, str(_OPENCV_DEFAULT))
        return (f"{path}: OpenCV refuses images over its own limit of {limit} pixels; start imgen with "
                f"{_OPENCV_VARIABLE} (or {MAX_PIXELS_VARIABLE}) set to the size you need in the environment")
    return f"{path}: OpenCV cannot decode it ({_opencv_reason(text)})"


def _opencv_reason(text: str) -> str:
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    last = lines[-1] if lines else "unknown error"
    return last.split(" error: ", 1)[-1]


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


# -- writing ------------------------------------------------------------------------------------

def write_image(path: str | os.PathLike, img: np.ndarray, *, icc_profile: bytes | None = None) -> None:
    """Write an image atomically: encode, write a temp file beside the target, rename over it.

    icc_profile: embedded in PNG, JPEG, TIFF and WebP files (check first with :func:`icc_problem`;
    ImageFileError for other formats).  The target is never left half-written.  Raises
    ImageFileError naming the file.
    """
    path = Path(path)
    ext = path.suffix.lower()
    if ext not in IMAGE_EXTENSIONS:
        raise ImageFileError(f"{path}: unknown image extension {ext!r} (use one of {', '.join(IMAGE_EXTENSIONS)})")
    try:
        if icc_profile:
            data = encode_image(img, ext, icc_profile=icc_profile, name=str(path))
            with atomic_write(path) as f:
                f.write(data)
        else:
            # OpenCV writes the file itself: encoding to memory first held the encoded file two or
            # three times over (its growing buffer, the array, the bytes) -- 250 MB on an 8000^2
            # colour output, gigabytes on a 20000^2 one.
            with atomic_write(path, keep_suffix=True, mode=None) as tmp:
                _imwrite(tmp, img, ext, str(path))
    except TempFileError as e:
        raise ImageFileError(str(e)) from e
    except OSError as e:
        raise ImageFileError(f"{path}: cannot write ({e.strerror or e})") from e


def _imwrite(tmp: Path, img: np.ndarray, ext: str, name: str) -> None:
    """cv2.imwrite (the same encoder and parameters as cv2.imencode) to ``tmp``, whose suffix is ``ext``."""
    what = f"a {img.dtype} {img.shape} image as {ext}"
    try:
        ok = cv2.imwrite(str(tmp), img)
    except cv2.error as e:
        raise ImageFileError(f"{name}: OpenCV could not encode {what} ({_opencv_reason(str(e))})") from e
    if not ok:
        raise ImageFileError(f"{name}: OpenCV could not encode {what}")


def encode_image(img: np.ndarray, ext: str, *, icc_profile: bytes | None = None, name: str = "image") -> bytes:
    """An image (HWC BGR(A) or (H, W); already fitted with :func:`fit_to_format`) encoded as the
    format of ``ext`` (".png", ...), ICC profile embedded if given.  ImageFileError naming ``name``."""
    what = f"a {img.dtype} {img.shape} image as {ext}"
    try:
        ok, buf = cv2.imencode(ext, img)
    except cv2.error as e:
        raise ImageFileError(f"{name}: OpenCV could not encode {what} ({_opencv_reason(str(e))})") from e
    if not ok:
        raise ImageFileError(f"{name}: OpenCV could not encode {what}")
    data = buf.tobytes()
    if icc_profile:
        try:
            data = with_icc(data, ext, icc_profile, img)
        except (ValueError, struct.error, IndexError) as e:
            raise ImageFileError(f"{name}: cannot add the ICC profile ({e})") from e
    return data


# -- finding inputs ------------------------------------------------------------------------------

@dataclass(frozen=True)
class Job:
    """One input file and where its output goes."""

    source: Path
    target: Path


def walk_files(folder: str | os.PathLike, extensions: Iterable[str], problems: list[str], *,
               skip: Iterable[str | os.PathLike] = (), recursive: bool = True) -> list[Path]:
    """Files under ``folder`` (recursively, sorted) whose extension (any case) is in ``extensions``.

    The one folder walker of imgen: commands' inputs, frame folders, benchmark and training
    images.  Not followed: symlinked folders; not returned: imgen's own temporary files.
    ``skip``: folders (and files) below ``folder`` to leave out -- an output folder inside the
    input folder is never read as input.  ``recursive=False``: only the files directly in
    ``folder``.  A folder that cannot be read is a line in ``problems``, like an unreadable file.
    """
    extensions = {e.lower() for e in extensions}
    skipped = {Path(p).resolve() for p in skip}
    found: list[Path] = []
    pending = [(Path(folder), Path(folder).resolve())]
    while pending:
        current, real = pending.pop()
        try:
            with os.scandir(current) as it:
                entries = list(it)
        except OSError as e:
            problems.append(f"{current}: cannot read the folder ({e.strerror or e})")
            continue
        for entry in entries:
            path, real_path = current / entry.name, real / entry.name
            try:
                if entry.is_dir(follow_symlinks=False):
                    if recursive and real_path not in skipped:
                        pending.append((path, real_path))
                elif (entry.is_file() and path.suffix.lower() in extensions and real_path not in skipped
                      and not is_temp_file(path)):
                    found.append(path)
            except OSError as e:
                problems.append(f"{path}: cannot read ({e.strerror or e})")
    return sorted(found)


def images_in(folder: str | os.PathLike) -> list[Path]:
    """The image files directly in ``folder`` (not recursive), sorted by path.  ValueError naming
    the folder when it is not a folder, cannot be read or holds no images."""
    folder = Path(folder)
    if not folder.is_dir():
        raise ValueError(f"{folder} is not a folder")
    problems: list[str] = []
    files = walk_files(folder, IMAGE_EXTENSIONS, problems, recursive=False)
    if problems:
        raise ValueError(problems[0])
    if not files:
        raise ValueError(f"{folder} contains no images ({', '.join(IMAGE_EXTENSIONS)})")
    return files


def find_images(inputs: Iterable[str | os.PathLike], *,
                skip: Iterable[str | os.PathLike] = ()) -> tuple[list[tuple[Path, Path]], list[str]]:
    """Image files among ``inputs`` (files, and folders searched recursively, sorted): a list of
    (path, path relative to the input folder, or the file name), and problem messages for inputs
    that are missing, folders without images and folders that cannot be read.  ``skip``: folders
    inside the inputs to leave out (see :func:`walk_files`)."""
    found: list[tuple[Path, Path]] = []
    problems: list[str] = []
    for src in map(Path, inputs):
        if src.is_dir():
            before = len(problems)
            files = walk_files(src, IMAGE_EXTENSIONS, problems, skip=skip)
            if not files and len(problems) == before:
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
    ``ext`` (".png", ...) replaces the extension.  An output folder inside an input folder is
    not searched.  Returns (jobs, problems): problems are messages for inputs that cannot be
    processed (missing, no images, unreadable folders, would overwrite an input, two inputs to
    one output).
    """
    out = Path(out)
    inputs = [Path(p) for p in inputs]
    single_file_target = (
        len(inputs) == 1 and inputs[0].is_file() and out.suffix.lower() in IMAGE_EXTENSIONS and not out.is_dir()
    )
    found, problems = find_images(inputs, skip=[out])
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
