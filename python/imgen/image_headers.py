"""Image file headers read without decoding the pixels: size, EXIF orientation, ICC profile.

Pillow's format plugins (called directly: ``Image.open`` would apply Pillow's own, lower,
decompression-bomb limit) for PNG, JPEG, WebP, BMP and the rest, and readers here for TIFF
(classic and BigTIFF, float ones too), PFM and Radiance HDR.  Hostile headers give None (the
caller then decodes under OpenCV's own limit), never an exception or a read past the data.
"""
from __future__ import annotations

import io
import logging
import re
import struct
from dataclasses import dataclass

log = logging.getLogger("imgen")


@dataclass(frozen=True)
class Header:
    width: int
    height: int
    orientation: int = 1
    icc_profile: bytes | None = None
    tiff_orientation_at: int | None = None  # where a TIFF's Orientation value is (OpenCV may apply it)
    pages: int = 1  # images in the file (a TIFF's IFD chain; counted up to _MAX_PAGES)
    samples: int | None = None  # samples per pixel where the header says (TIFF)


# EXIF orientation -> the stored pixels turned upright (as Pillow's ImageOps.exif_transpose)
UPRIGHT = {
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


class FileBytes:
    """An open binary file that slices like bytes, reading only the slices asked for: headers are
    read from the stream, so a huge (or sparse, padded) file is not read whole before the pixel
    guard has looked at it.  Only ``data[a:b]`` slices (with a, b >= 0 or omitted) are supported."""

    def __init__(self, file, size: int) -> None:
        self.file, self.size = file, size

    def __len__(self) -> int:
        return self.size

    def __getitem__(self, key: slice) -> bytes:
        if not isinstance(key, slice) or key.step not in (None, 1):
            raise TypeError("FileBytes supports data[a:b] slices only")
        start = 0 if key.start is None else max(0, key.start)
        stop = self.size if key.stop is None else min(key.stop, self.size)
        if stop <= start:
            return b""
        self.file.seek(start)
        return self.file.read(stop - start)

    def stream(self):
        """The file, at its start (for Pillow's plugins, which read what they need from it)."""
        self.file.seek(0)
        return self.file


def read_header(data: bytes | FileBytes) -> Header | None:
    """The header of an image file in memory (bytes) or in an open file (:class:`FileBytes`, only
    the header's bytes are read); None when no reader here knows the format."""
    if data[:4] in (b"II*\0", b"MM\0*", b"II+\0", b"MM\0+"):
        return _tiff_header(data)
    if data[:2] in (b"PF", b"Pf"):
        return _pfm_header(data)
    if data[:2] == b"#?":
        return _radiance_header(data)
    return _pillow_header(data)


def _pillow_header(data: "bytes | FileBytes") -> Header | None:
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
            im = factory(data.stream() if isinstance(data, FileBytes) else io.BytesIO(data), "")
            width, height = im.size
            exif = Image.Image.getexif(im)  # not PNG's override, which would decode to find a late eXIf
            orientation = exif.get(0x0112, 1)
            icc = im.info.get("icc_profile") or None
        except Exception as e:  # noqa: BLE001 - any failure means: this plugin cannot read the header
            log.debug("Pillow's %s reader: %s", name, e)
            continue
        return Header(int(width), int(height), orientation if orientation in range(1, 9) else 1, icc)
    return None


def _pfm_header(data: "bytes | FileBytes") -> Header | None:
    fields = data[:256].split(maxsplit=3)
    try:
        return Header(int(fields[1]), int(fields[2]))
    except (IndexError, ValueError):
        return None


def _radiance_header(data: "bytes | FileBytes") -> Header | None:
    head = data[:65536]
    end = head.find(b"\n\n")
    m = re.match(rb"\s*([-+])([XY])\s+(\d+)\s+([-+])([XY])\s+(\d+)", head[end + 2:]) if end >= 0 else None
    if not m:
        return None
    sizes = {m.group(2): int(m.group(3)), m.group(5): int(m.group(6))}
    return Header(sizes.get(b"X", 0), sizes.get(b"Y", 0)) if len(sizes) == 2 else None


# -- TIFF: the first image file directory (classic and BigTIFF) ----------------------------------

_TIFF_SIZES = {1: 1, 2: 1, 3: 2, 4: 4, 6: 1, 7: 1, 8: 2, 9: 4, 11: 4, 12: 8, 13: 4, 16: 8, 17: 8, 18: 8}
_TIFF_WIDTH, _TIFF_HEIGHT, _TIFF_ORIENTATION, TIFF_ICC = 256, 257, 274, 34675
_TIFF_SAMPLES = 277
_MAX_PAGES = 10_000  # pages counted at most (a hostile chain may loop or run long)


@dataclass(frozen=True)
class _TiffEntry:
    tag: int
    type: int
    count: int
    at: int  # where the entry's value (or the offset of its value) starts


def tiff_ifd0(data: "bytes | FileBytes") -> tuple[str, bool, int, list[_TiffEntry]]:
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


def _tiff_pages(data: "bytes | FileBytes", order: str, big: bool, ifd0: int, ifd0_count: int) -> int:
    """How many images (IFDs) the file's chain holds, up to _MAX_PAGES; a chain that loops or
    runs off the file ends the count there."""
    pages, seen, offset, count = 1, {ifd0}, ifd0, ifd0_count
    while pages < _MAX_PAGES:
        at = offset + (8 + count * 20 if big else 2 + count * 12)
        raw = data[at:at + (8 if big else 4)]
        if len(raw) != (8 if big else 4):
            break
        offset = struct.unpack(order + ("Q" if big else "I"), raw)[0]
        if offset == 0 or offset in seen or offset >= len(data):
            break
        seen.add(offset)
        raw = data[offset:offset + (8 if big else 2)]
        if len(raw) != (8 if big else 2):
            break
        count = struct.unpack(order + ("Q" if big else "H"), raw)[0]
        pages += 1
    return pages


def _tiff_value(data: "bytes | FileBytes", order: str, big: bool, entry: _TiffEntry) -> bytes:
    """An entry's value bytes (inline or at its offset)."""
    length = _TIFF_SIZES.get(entry.type, 1) * entry.count
    if length <= (8 if big else 4):
        return data[entry.at:entry.at + length]
    offset = struct.unpack(order + ("Q" if big else "I"), data[entry.at:entry.at + (8 if big else 4)])[0]
    value = data[offset:offset + length]
    if len(value) != length:
        raise struct.error("value past the end of the file")
    return value


def _tiff_int(data: "bytes | FileBytes", order: str, big: bool, entry: _TiffEntry) -> int:
    code = {1: "B", 3: "H", 4: "I", 16: "Q"}.get(entry.type)
    if code is None or entry.count < 1:
        raise struct.error(f"tag {entry.tag} is not an integer")
    return struct.unpack(order + code, _tiff_value(data, order, big, entry)[:struct.calcsize(code)])[0]


def _tiff_header(data: "bytes | FileBytes") -> Header | None:
    try:
        order, big, offset, entries = tiff_ifd0(data)
        tags = {e.tag: e for e in entries}
        width = _tiff_int(data, order, big, tags[_TIFF_WIDTH])
        height = _tiff_int(data, order, big, tags[_TIFF_HEIGHT])
        orientation, at = 1, None
        if _TIFF_ORIENTATION in tags and tags[_TIFF_ORIENTATION].type == 3:
            orientation, at = _tiff_int(data, order, big, tags[_TIFF_ORIENTATION]), tags[_TIFF_ORIENTATION].at
        icc = _tiff_value(data, order, big, tags[TIFF_ICC]) if TIFF_ICC in tags else None
        samples = _tiff_int(data, order, big, tags[_TIFF_SAMPLES]) if _TIFF_SAMPLES in tags else 1
        pages = _tiff_pages(data, order, big, offset, len(entries))
    except (struct.error, KeyError, IndexError) as e:
        log.debug("TIFF header: %s", e)
        return None
    if orientation not in range(1, 9):
        orientation = 1
    return Header(width, height, orientation, icc or None, at, pages, samples)


def neutral_tiff_orientation(data: bytes, at: int) -> bytes:
    """The file with its Orientation set to 1: some OpenCV builds apply it while decoding and some
    do not, so the stored pixels are decoded and turned here."""
    order = "<" if data[:2] == b"II" else ">"
    return data[:at] + struct.pack(order + "H", 1) + data[at + 2:]
