"""ICC colour profiles written into encoded image files (PNG iCCP, JPEG APP2 segments, TIFF tag
34675, WebP's VP8X + ICCP chunks), and whether a profile fits an image and a format."""
from __future__ import annotations

import os
import struct
import zlib
from pathlib import Path

import numpy as np

from .image_headers import TIFF_ICC, tiff_ifd0


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


def with_icc(data: bytes, ext: str, profile: bytes, img: np.ndarray) -> bytes:
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
    order, big, _, entries = tiff_ifd0(data)
    if big:
        raise ValueError("ICC profiles are not added to BigTIFF files")
    raw = [(e.tag, data[e.at - 8:e.at + 4]) for e in entries if e.tag != TIFF_ICC]
    out = bytearray(data)
    out += b"\0" * (len(out) % 2)
    icc_at = len(out)
    out += profile + b"\0" * (len(profile) % 2)
    raw.append((TIFF_ICC, struct.pack(order + "HHII", TIFF_ICC, 7, len(profile), icc_at)))
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
