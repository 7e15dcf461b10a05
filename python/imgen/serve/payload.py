"""Request and reply bodies of `imgen serve`: reading a body within its limits, finding the image in
it (raw bytes, multipart/form-data, JSON with base64), its size from the header before decoding,
decoding and encoding.  Reading runs on the event loop; parsing, decoding and encoding are plain
functions the app runs on its bounded I/O pool.  Refusals are :class:`HttpError` with the status.
"""
from __future__ import annotations

import asyncio
import base64
import binascii
import io
import json
import re
from dataclasses import dataclass

import numpy as np
from starlette.requests import ClientDisconnect, Request

from ..image_headers import read_header
from ..imageio import ImageFileError, ImageMemoryError, PixelLimitError, decode_image, encode_image, fit_to_format, pixel_limit

FORMATS = {"png": ".png", "jpg": ".jpg", "jpeg": ".jpg", "tif": ".tiff", "tiff": ".tiff", "webp": ".webp",
           "bmp": ".bmp", "npy": ".npy"}
MEDIA = {".png": "image/png", ".jpg": "image/jpeg", ".tiff": "image/tiff", ".webp": "image/webp",
         ".bmp": "image/bmp", ".npy": "application/x-npy"}
OPTIONS = ("sigma", "tile", "format", "color_order")
NPY_DTYPES = (np.uint8, np.uint16, np.float32)
_WHOLE = re.compile(r"[0-9]{1,9}")  # ASCII only: str.isdigit() takes '²' and '١'


class HttpError(Exception):
    def __init__(self, status: int, kind: str, message: str, headers: dict | None = None):
        super().__init__(message)
        self.status, self.kind, self.headers = status, kind, headers or {}


class ClientGone(Exception):
    """The client closed the connection before its request was read or answered."""


# -- reading ---------------------------------------------------------------------------------------

async def read_body(request: Request, limit: int, deadline: float) -> bytes:
    """The body, refused with 413 as soon as it passes ``limit`` bytes and with 408 when it has not
    all come within ``deadline`` seconds; ClientGone when the client hangs up half-way."""
    declared = request.headers.get("content-length")
    if declared is not None and _WHOLE.fullmatch(declared) and int(declared) > limit:
        raise HttpError(413, "body_too_large", f"body of {int(declared):,} bytes is over the limit of {limit:,}",
                        {"Connection": "close"})
    chunks: list[bytes] = []
    size = 0

    async def read() -> None:
        nonlocal size
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise HttpError(413, "body_too_large", f"body is over the limit of {limit:,} bytes",
                                {"Connection": "close"})
            chunks.append(chunk)

    try:  # wait_for, not asyncio.timeout: that is Python 3.11+ and imgen supports 3.10
        await asyncio.wait_for(read(), deadline)
    except (TimeoutError, asyncio.TimeoutError):
        raise HttpError(408, "body_timeout", f"the request body did not arrive within {deadline:g} s "
                                             f"({size:,} bytes came); send it faster or a smaller image",
                        {"Connection": "close"}) from None
    except ClientDisconnect:
        raise ClientGone() from None
    return b"".join(chunks)


@dataclass
class Upload:
    """The image bytes of a request (an image file or an .npy array) and the options that came in
    the body (form fields, JSON members) as strings."""

    data: bytes
    fields: dict[str, str]


def parse_body(body: bytes, content_type: str) -> Upload:
    """Raw image bytes; multipart/form-data (the field ``image``, or the only file, as
    ``curl -F file=@x.png``; other fields are options); or JSON ``{"image": base64, "sigma": 25, ...}``."""
    kind = content_type.split(";")[0].strip().lower()
    if kind == "multipart/form-data":
        return _multipart(body, content_type)
    if kind == "application/json":
        return _json(body)
    return Upload(body, {})


def _multipart(body: bytes, content_type: str) -> Upload:
    from email import policy
    from email.parser import BytesParser
    from email.utils import collapse_rfc2231_value

    if "boundary=" not in content_type:
        raise HttpError(400, "bad_body", "multipart/form-data without a boundary")
    head = f"Content-Type: {content_type}\r\nMIME-Version: 1.0\r\n\r\n".encode("latin-1", "replace")
    message = BytesParser(policy=policy.HTTP).parsebytes(head + body)
    if not message.is_multipart():
        raise HttpError(400, "bad_body", "not a readable multipart/form-data body")
    files: dict[str, bytes] = {}
    fields: dict[str, str] = {}
    for part in message.iter_parts():
        param = part.get_param("name", header="content-disposition")
        name = None if param is None else collapse_rfc2231_value(param)  # name*=UTF-8''...: a (charset, lang, text) tuple
        payload = part.get_payload(decode=True)
        data = payload if isinstance(payload, bytes) else b""
        if part.get_filename() is not None or name == "image":
            files[name or f"file{len(files)}"] = data
        elif name in OPTIONS:
            fields[name] = data.decode("utf-8", "replace")
        elif name is not None:
            raise HttpError(400, "bad_option", f"unknown form field {name!r}; fields: image (or one file), "
                                               f"{', '.join(OPTIONS)}")
    if "image" in files:
        return Upload(files["image"], fields)
    if len(files) == 1:
        return Upload(next(iter(files.values())), fields)
    raise HttpError(400, "bad_body", f"multipart/form-data needs the field 'image' or exactly one file, got "
                                     f"{len(files)} files")


def _json(body: bytes) -> Upload:
    try:
        doc = json.loads(body)
    except (ValueError, UnicodeDecodeError) as e:
        raise HttpError(400, "bad_body", f"not readable JSON ({e})") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("image"), str):
        raise HttpError(400, "bad_body", 'JSON bodies are {"image": "<base64 image bytes>", "sigma": 25, ...}')
    unknown = sorted(set(doc) - {"image", *OPTIONS})
    if unknown:
        raise HttpError(400, "bad_option", f"unknown member(s) {', '.join(unknown)}; members: image, "
                                           f"{', '.join(OPTIONS)}")
    try:
        data = base64.b64decode(doc["image"], validate=True)
    except (binascii.Error, ValueError) as e:
        raise HttpError(400, "bad_body", f"image: not base64 ({e})") from None
    return Upload(data, {k: str(v) for k, v in doc.items() if k != "image" and v is not None})


def parse_options(values) -> dict:
    """sigma (0-255 -> fraction), tile (>= 0), format, color_order from strings; 400 naming the bad one."""
    unknown = sorted(set(values) - set(OPTIONS))
    if unknown:
        raise HttpError(400, "bad_option", f"unknown option(s) {', '.join(unknown)}; options: {', '.join(OPTIONS)}")
    out = {"sigma": None, "tile": None, "format": None, "color_order": values.get("color_order", "rgb")}
    if "sigma" in values:
        try:
            sigma = float(values["sigma"])
        except ValueError:
            sigma = float("nan")
        if not 0 <= sigma <= 255:
            raise HttpError(400, "bad_option", f"sigma must be a number from 0 to 255 (the 0-255 scale, whatever "
                                               f"the image's bit depth), got {values['sigma']!r}")
        out["sigma"] = sigma / 255
    if "tile" in values:
        if not _WHOLE.fullmatch(values["tile"]):
            raise HttpError(400, "bad_option", f"tile must be a whole number >= 0 (0: no tiling), got "
                                               f"{values['tile']!r}")
        out["tile"] = int(values["tile"])
    if "format" in values:
        if values["format"].lower() not in FORMATS:
            raise HttpError(400, "bad_option", f"format must be one of {', '.join(FORMATS)}, got {values['format']!r}")
        out["format"] = FORMATS[values["format"].lower()]
    if out["color_order"] not in ("rgb", "bgr"):
        raise HttpError(400, "bad_option", f"color_order must be rgb or bgr, got {out['color_order']!r}")
    return out


# -- the image's size before decoding ------------------------------------------------------------------

@dataclass(frozen=True)
class Size:
    """What the header says: height, width, channels and bytes per sample; where an image file's
    header does not say (``exact`` False), the least they can be (1 channel of 1 byte), so an image is
    never refused on a guess: the app reserves the exact figure once decoded.  None sides: no header."""

    height: int | None
    width: int | None
    channels: int = 1
    itemsize: int = 1
    exact: bool = False


def peek(data: bytes, max_pixels: int | None) -> Size:
    """The image's size from its header, refused 413 over the pixel limit (before any decoding or
    allocation) and 400 for an .npy array the server does not take."""
    limit = pixel_limit(max_pixels)
    if data.startswith(b"\x93NUMPY"):
        shape, dtype = _npy_header(data)
        h, w = shape[:2]
        if h * w > limit:
            raise HttpError(413, "too_many_pixels", f"request body: {w}x{h} = {h * w:,} pixels is over the limit of "
                                                    f"{limit:,} pixels (max_pixels; command line: --max-pixels)")
        return Size(h, w, shape[2] if len(shape) == 3 else 1, dtype.itemsize, True)
    if not data:
        raise HttpError(400, "bad_image", "request body: file is empty")
    header = read_header(data)
    if header is None:
        return Size(None, None)
    if header.width * header.height > limit:
        raise HttpError(413, "too_many_pixels",
                        f"request body: {header.width}x{header.height} = {header.width * header.height:,} pixels is "
                        f"over the limit of {limit:,} pixels (max_pixels; command line: --max-pixels)")
    return Size(header.height, header.width)


def _npy_header(data: bytes) -> tuple[tuple[int, ...], np.dtype]:
    f = io.BytesIO(data)
    try:
        version = np.lib.format.read_magic(f)
        read = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
        shape, _, dtype = read(f)
    except Exception as e:  # noqa: BLE001 - any malformed header is the client's 400
        raise HttpError(400, "bad_image", f"request body: not a readable .npy array ({e})") from None
    if dtype.hasobject:
        raise HttpError(400, "bad_image", "request body: not a readable .npy array (object arrays are refused)")
    if len(shape) not in (2, 3) or (len(shape) == 3 and shape[2] not in (1, 3, 4)) or 0 in shape:
        raise HttpError(400, "bad_image", f"request body: expected an (H, W) or (H, W, 1/3/4) image, got {shape}")
    if dtype not in NPY_DTYPES:
        raise HttpError(400, "bad_image", f"request body: expected uint8, uint16 or float32, got {dtype}")
    return shape, dtype


# -- decoding and encoding (on the I/O pool) ---------------------------------------------------------

def decode(data: bytes, max_pixels: int | None) -> tuple[np.ndarray, str, str]:
    """(HWC image, the format's extension, colour order) from image or .npy bytes already peeked."""
    if data.startswith(b"\x93NUMPY"):
        try:
            arr = np.load(io.BytesIO(data), allow_pickle=False)
        except MemoryError:
            raise  # the caller's 503
        except Exception as e:  # noqa: BLE001
            raise HttpError(400, "bad_image", f"request body: not a readable .npy array ({e})") from None
        return np.ascontiguousarray(arr), ".npy", "rgb"
    try:
        image, _ = decode_image(data, name="request body", max_pixels=max_pixels)
    except PixelLimitError as e:
        raise HttpError(413, "too_many_pixels", str(e)) from None
    except ImageMemoryError:
        raise  # the caller's 503: the server's memory, not the client's image
    except (ImageFileError, ValueError) as e:
        raise HttpError(400, "bad_image", str(e)) from None
    return image, _sniff_ext(data), "bgr"


def _sniff_ext(body: bytes) -> str:
    if body.startswith(b"\x89PNG"):
        return ".png"
    if body.startswith(b"\xff\xd8"):
        return ".jpg"
    if body[:4] in (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+"):
        return ".tiff"
    if body[:4] == b"RIFF" and body[8:12] == b"WEBP":
        return ".webp"
    if body.startswith(b"BM"):
        return ".bmp"
    return ".png"


def encode_reply(image: np.ndarray, ext: str) -> bytes:
    """The reply body: .npy as is, else the image fitted to the format and encoded."""
    if ext == ".npy":
        buf = io.BytesIO()
        np.save(buf, image, allow_pickle=False)
        return buf.getvalue()
    fitted, _ = fit_to_format(image, "x" + ext)
    try:
        return encode_image(fitted, ext, name="reply")
    except ImageFileError as e:
        raise HttpError(400, "bad_format", str(e)) from None
