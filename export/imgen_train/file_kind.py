"""What a checkpoint file is, from its leading bytes: so a refusal names it (a Keras HDF5 file, a
text re-encode, a web page, a Git LFS pointer) instead of quoting the unpickler's opcode.

    describe(path) -> FileKind(kind, note)

``kind`` is one of zip (torch's format), pickle (legacy torch / plain pickle), safetensors, hdf5, onnx,
text-reencoded, html, lfs-pointer, text, unknown; ``note`` says what that means for ``imgen import``.
"""
from __future__ import annotations

import json
import struct
from dataclasses import dataclass
from pathlib import Path

HDF5_MAGIC = b"\x89HDF\r\n\x1a\n"
REPLACEMENT = b"\xef\xbf\xbd"  # U+FFFD in UTF-8: what a text re-encode leaves of bytes >= 0x80
KERAS_HINT = ("Keras keeps models in HDF5; convert it to ONNX with tf2onnx (pip install tf2onnx tensorflow; "
              "python -m tf2onnx.convert --keras FILE.h5 --output model.onnx) and import the .onnx "
              "(imgen import model.onnx -o imgen-model.onnx)")


@dataclass(frozen=True)
class FileKind:
    kind: str
    note: str


def leading_bytes(data: bytes, n: int = 8) -> str:
    """'EF BF BD 50 4B ...' of the first ``n`` bytes."""
    return " ".join(f"{b:02X}" for b in data[:n])


def _safetensors_header(data: bytes) -> bool:
    if len(data) < 10:
        return False
    (size,) = struct.unpack("<Q", data[:8])
    return 2 <= size < 100_000_000 and data[8:9] == b"{"


def classify(data: bytes) -> FileKind:
    """The kind of a file whose first bytes (a few hundred) are ``data``."""
    head = leading_bytes(data)
    if REPLACEMENT in data[:16]:
        return FileKind("text-reencoded", f"starts with {head} (EF BF BD is the UTF-8 replacement character): the "
                                          "file was re-encoded as text somewhere (a text-mode download, copy or "
                                          "git checkout) and its binary content is lost; fetch it again as binary")
    if data.startswith(b"PK\x03\x04"):
        return FileKind("zip", "a zip archive (torch.save's format since PyTorch 1.6)")
    if data[:1] == b"\x80" and data[1:2] in (b"\x02", b"\x03", b"\x04", b"\x05"):
        return FileKind("pickle", f"a Python pickle (protocol {data[1]}; torch.save's legacy format)")
    if data.startswith(HDF5_MAGIC):
        return FileKind("hdf5", f"an HDF5 file (starts with {head}: a Keras .h5 model or weights, or a "
                                f"MATLAB v7.3 .mat); imgen does not read Keras files. {KERAS_HINT}")
    if _safetensors_header(data):
        return FileKind("safetensors", "a safetensors file (name it .safetensors to import it)")
    stripped = data.lstrip()
    if stripped[:1] == b"<" and (b"<html" in stripped[:512].lower() or b"<!doctype" in stripped[:512].lower()):
        return FileKind("html", "an HTML page: the download saved a web page (use the file's raw or release-asset "
                                "link)")
    if stripped.startswith(b"version https://git-lfs"):
        return FileKind("lfs-pointer", "a Git LFS pointer, not the file: fetch it with git lfs pull")
    if stripped[:1] in (b"{", b"["):
        try:
            json.loads(data.decode("utf-8"))
            return FileKind("text", "a JSON text file")
        except (UnicodeDecodeError, ValueError):
            pass
    if data[:1] == b"\x08" and len(data) > 2:  # protobuf field 1 varint: ONNX ir_version
        return FileKind("onnx", "looks like an ONNX model (name it .onnx to adopt it)")
    try:
        text = data.decode("utf-8")
        if text and all(c.isprintable() or c in "\r\n\t" for c in text):
            return FileKind("text", f"a text file (starts {text[:24]!r})")
    except UnicodeDecodeError:
        pass
    return FileKind("unknown", f"starts with {head}, which is none of the formats imgen reads (torch zip, "
                               "pickle, safetensors, MatConvNet .mat, ONNX)")


def describe(path: str | Path) -> FileKind:
    with open(path, "rb") as f:
        return classify(f.read(512))
