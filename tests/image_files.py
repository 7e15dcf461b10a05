"""Image files for the hardening tests: a decompression bomb, EXIF orientation and ICC profiles
written with Pillow, and a folder the walker cannot read."""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps


def bomb_png(path, width=60000, height=60000):
    """A 65-byte PNG whose header claims width x height RGB pixels (no pixel data)."""
    import struct
    import zlib

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    png = (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
           + chunk(b"IDAT", zlib.compress(b"")) + chunk(b"IEND", b""))
    path.write_bytes(png)
    return path


def upright(pixels: np.ndarray, orientation: int) -> np.ndarray:
    """What Pillow shows for these stored pixels with this EXIF orientation (ImageOps.exif_transpose)."""
    im = Image.fromarray(pixels)
    im.getexif()[0x0112] = orientation
    return np.asarray(ImageOps.exif_transpose(im))


def save_with_pillow(path, rgb: np.ndarray, *, orientation: int | None = None, icc: bytes | None = None):
    kw = {}
    if orientation is not None:
        exif = Image.Exif()
        exif[0x0112] = orientation
        kw["exif"] = exif.tobytes()
    if icc is not None:
        kw["icc_profile"] = icc
    if path.suffix == ".jpg":
        kw.update(quality=100, subsampling=0)
    if path.suffix == ".webp":
        kw["lossless"] = True
    Image.fromarray(rgb).save(path, **kw)
    return path


def pillow_rgb(path) -> np.ndarray:
    """The stored pixels as Pillow decodes them (no orientation applied)."""
    with Image.open(path) as im:
        return np.asarray(im.convert("RGB"))


def deny(monkeypatch, folder: Path) -> None:
    """Make ``folder`` unreadable to imgen's folder walker, as chmod 000 does for a non-root user."""
    real = os.scandir

    def scandir(path="."):
        if Path(path).resolve() == folder.resolve():
            raise PermissionError(13, "Permission denied", str(path))
        return real(path)

    monkeypatch.setattr(os, "scandir", scandir)
