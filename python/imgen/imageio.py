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

import io
import logging
import os
import re
import struct
import sys
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

from .atomic import TempFileError, atomic_write, is_temp_file

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
    try:
        data = path.read_bytes()
    except OSError as e:
        raise ImageFileError(f"{path}: cannot read ({e.strerror or e})") from e
    if not data:
        raise ImageFileError(f"{path}: file is empty")
    header = _read_header(data)
    if header is not None:
        _check_pixels(path, header.width, header.height, limit)
        if header.tiff_orientation_at is not None and header.orientation != 1:
            data = _neutral_tiff_orientation(data, header.tiff_orientation_at)
    try:
        img = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
    except cv2.error as e:
        raise ImageFileError(_opencv_read_error(path, e)) from e
    except MemoryError as e:
        size = f" {header.width}x{header.height}" if header else ""
        raise ImageFileError(f"{path}: not enough memory to decode this{size} image") from e
    if img is None:
        raise ImageFileError(f"{path}: not a readable image (corrupt or unsupported format)")
    if header is None:  # a format whose header imgen does not read: OpenCV's own limit held while decoding
        _check_pixels(path, img.shape[1], img.shape[0], limit)
    if img.dtype not in (np.uint8, np.uint16, np.float32):
        raise ImageFileError(f"{path}: unsupported sample type {img.dtype} (expected 8/16-bit or float32)")
    if img.ndim == 3 and img.shape[2] == 2:  # gray + alpha -> BGRA
        img = np.dstack([img[..., 0]] * 3 + [img[..., 1]])
    if header is not None and header.orientation in _UPRIGHT:
        img = np.ascontiguousarray(_UPRIGHT[header.orientation](img))
    return img, header.icc_profile if header is not None else None


def _check_pixels(path: Path, width: int, height: int, limit: int) -> None:
    if width * height > limit:
        raise ImageFileError(
            f"{path}: {width}x{height} = {width * height:,} pixels is over the limit of {limit:,} (a guard "
            f"against decompression bombs; raise it with max_pixels, ${MAX_PIXELS_VARIABLE} or --max-pixels)")


def _opencv_read_error(path: Path, e: cv2.error) -> str:
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


# -- headers: the size, EXIF orientation and ICC profile, before decoding ----------------------------

@dataclass(frozen=True)
class _Header:
    width: int
    height: int
    orientation: int = 1
    icc_profile: bytes | None = None
    tiff_orientation_at: int | None = None  # where a TIFF's Orientation value is (OpenCV may apply it)


# EXIF orientation -> the stored pixels turned upright (as Pillow's ImageOps.exif_transpose)
_UPRIGHT = {
    2: lambda a: a[:, ::-1],
    3: lambda a: a[::-1, ::-1],
    4: lambda a: a[::-1],
    5: lambda a: a.swapaxes(0, 1),
    6: lambda a: a.swapaxes(0, 1)[:, ::-1],
    7: lambda a: a.swapaxes(0, 1)[::-1, ::-1],
    8: lambda a: a.swapaxes(0, 1)[::-1],
}

# Formats OpenCV decodes whose header Pillow reads without decoding (TIFF, PFM and Radiance HDR are
# read here: Pillow cannot open float TIFFs, and does not know the other two).
_PILLOW_FORMATS = ("PNG", "JPEG", "WEBP", "BMP", "DIB", "PPM", "GIF", "SUN", "JPEG2000", "AVIF")


def _read_header(data: bytes) -> _Header | None:
    """The header of an image file in memory; None when no reader here knows the format."""
    if data[:4] in (b"II*\0", b"MM\0*", b"II+\0", b"MM\0+"):
        return _tiff_header(data)
    if data[:2] in (b"PF", b"Pf"):
        return _pfm_header(data)
    if data[:2] == b"#?":
        return _radiance_header(data)
    return _pillow_header(data)


def _pillow_header(data: bytes) -> _Header | None:
    """Through Pillow's format plugins directly: Image.open would apply Pillow's own, lower,
    decompression-bomb limit."""
    from PIL import Image

    Image.init()
    prefix = data[:16]
    for name in _PILLOW_FORMATS:
        factory, accept = Image.OPEN.get(name, (None, None))
        if factory is None:
            continue
        try:
            accepted = accept(prefix) if accept is not None else True
            if not accepted or isinstance(accepted, str):  # a str: "this format, but unsupported"
                continue
            im = factory(io.BytesIO(data), "")
            width, height = im.size
            exif = Image.Image.getexif(im)  # not PNG's override, which would decode to find a late eXIf
            orientation = exif.get(0x0112, 1)
            icc = im.info.get("icc_profile") or None
        except Exception as e:  # noqa: BLE001 - any failure means: this plugin cannot read the header
            log.debug("Pillow's %s reader: %s", name, e)
            continue
        return _Header(int(width), int(height), orientation if orientation in range(1, 9) else 1, icc)
    return None


def _pfm_header(data: bytes) -> _Header | None:
    fields = data[:256].split(maxsplit=3)
    try:
        return _Header(int(fields[1]), int(fields[2]))
    except (IndexError, ValueError):
        return None


def _radiance_header(data: bytes) -> _Header | None:
    head = data[:65536]
    end = head.find(b"\n\n")
    m = re.match(rb"\s*([-+])([XY])\s+(\d+)\s+([-+])([XY])\s+(\d+)", head[end + 2:]) if end >= 0 else None
    if not m:
        return None
    sizes = {m.group(2): int(m.group(3)), m.group(5): int(m.group(6))}
    return _Header(sizes.get(b"X", 0), sizes.get(b"Y", 0)) if len(sizes) == 2 else None


# -- TIFF: the first image file directory (classic and BigTIFF) ----------------------------------

_TIFF_SIZES = {1: 1, 2: 1, 3: 2, 4: 4, 6: 1, 7: 1, 8: 2, 9: 4, 11: 4, 12: 8, 13: 4, 16: 8, 17: 8, 18: 8}
_TIFF_WIDTH, _TIFF_HEIGHT, _TIFF_ORIENTATION, _TIFF_ICC = 256, 257, 274, 34675


@dataclass(frozen=True)
class _TiffEntry:
    tag: int
    type: int
    count: int
    at: int  # where the entry's value (or the offset of its value) starts


def _tiff_ifd0(data: bytes) -> tuple[str, bool, int, list[_TiffEntry]]:
    """(byte order, BigTIFF?, IFD0 offset, its entries); struct.error/IndexError when truncated."""
    order = "<" if data[:2] == b"II" else ">"
    big = struct.unpack(order + "H", data[2:4])[0] == 43
    if big:
        offset = struct.unpack(order + "Q", data[8:16])[0]
        count = struct.unpack(order + "Q", data[offset:offset + 8])[0]
        first, size, fmt = offset + 8, 20, "HHQ"
    else:
        offset = struct.unpack(order + "I", data[4:8])[0]
        count = struct.unpack(order + "H", data[offset:offset + 2])[0]
        first, size, fmt = offset + 2, 12, "HHI"
    entries = []
    for k in range(count):
        at = first + k * size
        tag, kind, n = struct.unpack(order + fmt, data[at:at + size - (8 if big else 4)])
        entries.append(_TiffEntry(tag, kind, n, at + size - (8 if big else 4)))
    return order, big, offset, entries


def _tiff_value(data: bytes, order: str, big: bool, entry: _TiffEntry) -> bytes:
    """An entry's value bytes (inline or at its offset)."""
    length = _TIFF_SIZES.get(entry.type, 1) * entry.count
    if length <= (8 if big else 4):
        return data[entry.at:entry.at + length]
    offset = struct.unpack(order + ("Q" if big else "I"), data[entry.at:entry.at + (8 if big else 4)])[0]
    value = data[offset:offset + length]
    if len(value) != length:
        raise struct.error("value past the end of the file")
    return value


def _tiff_int(data: bytes, order: str, big: bool, entry: _TiffEntry) -> int:
    code = {1: "B", 3: "H", 4: "I", 16: "Q"}.get(entry.type)
    if code is None or entry.count < 1:
        raise struct.error(f"tag {entry.tag} is not an integer")
    return struct.unpack(order + code, _tiff_value(data, order, big, entry)[:struct.calcsize(code)])[0]


def _tiff_header(data: bytes) -> _Header | None:
    try:
        order, big, _, entries = _tiff_ifd0(data)
        tags = {e.tag: e for e in entries}
        width = _tiff_int(data, order, big, tags[_TIFF_WIDTH])
        height = _tiff_int(data, order, big, tags[_TIFF_HEIGHT])
        orientation, at = 1, None
        if _TIFF_ORIENTATION in tags and tags[_TIFF_ORIENTATION].type == 3:
            orientation, at = _tiff_int(data, order, big, tags[_TIFF_ORIENTATION]), tags[_TIFF_ORIENTATION].at
        icc = _tiff_value(data, order, big, tags[_TIFF_ICC]) if _TIFF_ICC in tags else None
    except (struct.error, KeyError, IndexError) as e:
        log.debug("TIFF header: %s", e)
        return None
    if orientation not in range(1, 9):
        orientation = 1
    return _Header(width, height, orientation, icc or None, at)


def _neutral_tiff_orientation(data: bytes, at: int) -> bytes:
    """The file with its Orientation set to 1: some OpenCV builds apply it while decoding and some
    do not, so the stored pixels are decoded and turned here."""
    order = "<" if data[:2] == b"II" else ">"
    return data[:at] + struct.pack(order + "H", 1) + data[at + 2:]


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


# -- ICC profiles into encoded files ------------------------------------------------------------

_ICC_FORMATS = (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".webp")


def icc_problem(profile: bytes, img: np.ndarray, path: str | os.PathLike) -> str | None:
    """Why ``profile`` cannot go with ``img`` into the file ``path`` (None: it can): the format holds
    none (BMP), it is not an ICC profile, or its colour space is not the image's (a gray profile
    on a colour image after a conversion, a CMYK profile on decoded RGB)."""
    ext = Path(path).suffix.lower()
    if ext not in _ICC_FORMATS:
        return f"{ext} files cannot hold one"
    if len(profile) < 128 or profile[36:40] != b"acsp":
        return "not an ICC profile"
    space = profile[16:20]
    want = b"GRAY" if img.ndim == 2 or img.shape[2] == 1 else b"RGB "
    if space != want:
        return (f"its colour space ({space.decode('latin-1').strip()}) is not the image's "
                f"({want.decode().strip()})")
    return None


def _with_icc(data: bytes, ext: str, profile: bytes, img: np.ndarray) -> bytes:
    """OpenCV's encoded file with the ICC profile added in the format's own place."""
    if ext == ".png":
        return _png_with_icc(data, profile)
    if ext in (".jpg", ".jpeg"):
        return _jpeg_with_icc(data, profile)
    if ext in (".tif", ".tiff"):
        return _tiff_with_icc(data, profile)
    if ext == ".webp":
        return _webp_with_icc(data, profile, img)
    raise ValueError(f"{ext} files cannot hold an ICC profile")


def _png_with_icc(data: bytes, profile: bytes) -> bytes:
    body = b"iCCP" + b"ICC profile\0\0" + zlib.compress(profile)
    chunk = struct.pack(">I", len(body) - 4) + body + struct.pack(">I", zlib.crc32(body))
    ihdr_end = 8 + 8 + struct.unpack(">I", data[8:12])[0] + 4  # signature, IHDR chunk
    rest, pos, kept = data[ihdr_end:], 0, []
    while pos < len(rest):  # drop colour chunks the profile replaces (iCCP, sRGB)
        length = struct.unpack(">I", rest[pos:pos + 4])[0]
        end = pos + 12 + length
        if rest[pos + 4:pos + 8] not in (b"iCCP", b"sRGB"):
            kept.append(rest[pos:end])
        pos = end
    return data[:ihdr_end] + chunk + b"".join(kept)


def _jpeg_with_icc(data: bytes, profile: bytes) -> bytes:
    step = 65519  # an APP2 segment's 65533 bytes less "ICC_PROFILE\0", sequence number and count
    parts = [profile[k:k + step] for k in range(0, len(profile), step)]
    if len(parts) > 255:
        raise ValueError("ICC profile too large for JPEG (over 255 APP2 segments)")
    segments = b"".join(b"\xff\xe2" + struct.pack(">H", 2 + 14 + len(part)) + b"ICC_PROFILE\0"
                        + bytes([k + 1, len(parts)]) + part for k, part in enumerate(parts))
    pos = 2  # after SOI, and after the JFIF/EXIF segments that must come first
    while data[pos:pos + 2] in (b"\xff\xe0", b"\xff\xe1"):
        pos += 2 + struct.unpack(">H", data[pos + 2:pos + 4])[0]
    return data[:pos] + segments + data[pos:]


def _tiff_with_icc(data: bytes, profile: bytes) -> bytes:
    """A new first directory with the InterColorProfile tag, written at the end of the file (the
    old one is left unused: every other value keeps its offset)."""
    order, big, _, entries = _tiff_ifd0(data)
    if big:
        raise ValueError("ICC profiles are not added to BigTIFF files")
    raw = [(e.tag, data[e.at - 8:e.at + 4]) for e in entries if e.tag != _TIFF_ICC]
    out = bytearray(data)
    out += b"\0" * (len(out) % 2)
    icc_at = len(out)
    out += profile + b"\0" * (len(profile) % 2)
    raw.append((_TIFF_ICC, struct.pack(order + "HHII", _TIFF_ICC, 7, len(profile), icc_at)))
    raw.sort()
    ifd_at = len(out)
    next_ifd = data[entries[-1].at + 4:entries[-1].at + 8] if entries else b"\0\0\0\0"
    out += struct.pack(order + "H", len(raw)) + b"".join(r for _, r in raw) + next_ifd
    out[4:8] = struct.pack(order + "I", ifd_at)
    if len(out) >= 1 << 32:
        raise ValueError("the file would be too large for a classic TIFF")
    return bytes(out)


def _webp_with_icc(data: bytes, profile: bytes, img: np.ndarray) -> bytes:
    """The extended WebP layout: a VP8X chunk with the ICC flag, then ICCP, then the image."""
    chunks, pos = [], 12
    while pos + 8 <= len(data):
        kind, size = data[pos:pos + 4], struct.unpack("<I", data[pos + 4:pos + 8])[0]
        chunks.append((kind, data[pos + 8:pos + 8 + size]))
        pos += 8 + size + (size & 1)
    chunks = [(k, c) for k, c in chunks if k != b"ICCP"]
    if chunks and chunks[0][0] == b"VP8X":
        vp8x = bytearray(chunks.pop(0)[1])
    else:
        height, width = img.shape[:2]
        alpha = img.ndim == 3 and img.shape[2] == 4
        vp8x = bytearray(struct.pack("<I", 0x10 if alpha else 0) + (width - 1).to_bytes(3, "little")
                         + (height - 1).to_bytes(3, "little"))
    vp8x[0] |= 0x20
    chunks[:0] = [(b"VP8X", bytes(vp8x)), (b"ICCP", profile)]
    body = b"WEBP" + b"".join(k + struct.pack("<I", len(c)) + c + b"\0" * (len(c) & 1) for k, c in chunks)
    return b"RIFF" + struct.pack("<I", len(body)) + body


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
    what = f"a {img.dtype} {img.shape} image as {ext}"
    try:
        ok, buf = cv2.imencode(ext, img)
    except cv2.error as e:
        raise ImageFileError(f"{path}: OpenCV could not encode {what} ({_opencv_reason(str(e))})") from e
    if not ok:
        raise ImageFileError(f"{path}: OpenCV could not encode {what}")
    data = buf.tobytes()
    if icc_profile:
        try:
            data = _with_icc(data, ext, icc_profile, img)
        except (ValueError, struct.error, IndexError) as e:
            raise ImageFileError(f"{path}: cannot add the ICC profile ({e})") from e
    try:
        with atomic_write(path) as f:
            f.write(data)
    except TempFileError as e:
        raise ImageFileError(str(e)) from e
    except OSError as e:
        raise ImageFileError(f"{path}: cannot write ({e.strerror or e})") from e


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
