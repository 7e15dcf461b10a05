"""The Open Inference Protocol (KServe v2, Triton's HTTP API) beside imgen's own, so stock clients
(``tritonclient.http``, KServe's) work unmodified.

GET  /v2/health/live, /v2/health/ready, /v2, /v2/models/{name}, /v2/models/{name}/ready
POST /v2/models/{name}/infer   one input tensor:
     UINT8 / UINT16 / FP32 (FP32 in [0, 1]), shape [H, W], [H, W, C] or [1, H, W(, C)], RGB unless the
     request's parameters say color_order "bgr": the output tensor has the input's shape and type;
     or BYTES, shape [1] or [1, 1]: one encoded image file (base64 in JSON data), the output is the
     encoded result (format: the input's, or the parameter ``format``).
     Request parameters: sigma (0-255 scale), tile, color_order, format; JSON data or Triton's binary
     tensor extension (``Inference-Header-Content-Length``, ``binary_data_size``) both ways.

Every request goes through the same limits, admission, batching and timeout as /v1.
"""
from __future__ import annotations

import base64
import binascii
import json
import struct
from dataclasses import dataclass, field

import numpy as np

from .payload import OPTIONS, HttpError, pixel_limit

DTYPES: dict[str, np.dtype] = {"UINT8": np.dtype(np.uint8), "UINT16": np.dtype(np.uint16), "FP32": np.dtype(np.float32)}
NAMES = {v: k for k, v in DTYPES.items()}
HEADER_LENGTH = "inference-header-content-length"


@dataclass
class Infer:
    """One parsed infer request: the image (array) or encoded bytes, its options and how to answer."""

    data: np.ndarray | bytes
    fields: dict[str, str]
    id: str | None = None
    input_name: str = "image"
    output_name: str = "image"
    batched: bool = False
    binary: bool = False
    extra: dict = field(default_factory=dict)


def parse_infer(body: bytes, header_length: str | None, max_pixels: int | None) -> Infer:
    """The request's one input; 400 for anything else, 413 over the pixel limit before building it."""
    binary = b""
    if header_length is not None:
        if not header_length.isascii() or not header_length.isdigit() or int(header_length) > len(body):
            raise HttpError(400, "bad_body", f"Inference-Header-Content-Length {header_length!r} does not fit the body")
        body, binary = body[:int(header_length)], body[int(header_length):]
    try:
        doc = json.loads(body)
    except (ValueError, UnicodeDecodeError) as e:
        raise HttpError(400, "bad_body", f"not a readable inference request ({e})") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("inputs"), list) or len(doc["inputs"]) != 1:
        raise HttpError(400, "bad_body", 'an inference request is {"inputs": [one tensor], ...}')
    tensor = doc["inputs"][0]
    if not isinstance(tensor, dict):
        raise HttpError(400, "bad_body", "inputs[0] must be an object")
    params = doc.get("parameters") or {}
    fields = {k: str(v) for k, v in params.items() if k in OPTIONS and v is not None}
    outputs = doc.get("outputs") or []
    out_params = (outputs[0].get("parameters") or {}) if outputs and isinstance(outputs[0], dict) else {}
    wants_binary = bool(out_params.get("binary_data", params.get("binary_data_output", False)))
    infer = Infer(b"", fields, id=doc.get("id"), input_name=str(tensor.get("name", "image")),
                  output_name=str(outputs[0].get("name", "image")) if outputs and isinstance(outputs[0], dict)
                  else "image", binary=wants_binary)
    datatype, shape = tensor.get("datatype"), tensor.get("shape")
    if not isinstance(shape, list) or not all(isinstance(d, int) and d > 0 for d in shape):
        raise HttpError(400, "bad_body", f"inputs[0].shape must be a list of positive whole numbers, got {shape!r}")
    size = (tensor.get("parameters") or {}).get("binary_data_size")
    raw = binary[:size] if isinstance(size, int) and 0 <= size <= len(binary) else None
    if size is not None and raw is None:
        raise HttpError(400, "bad_body", f"binary_data_size {size!r} does not fit the body")
    if datatype == "BYTES":
        if shape not in ([1], [1, 1]):
            raise HttpError(400, "bad_body", f"a BYTES input holds one encoded image: shape [1], got {shape}")
        infer.data = _one_bytes(tensor.get("data"), raw)
        infer.extra["bytes"] = shape
        return infer
    if datatype not in DTYPES:
        raise HttpError(400, "bad_body", f"inputs[0].datatype must be UINT8, UINT16, FP32 or BYTES, got {datatype!r}")
    if len(shape) == 4 or (len(shape) == 3 and shape[0] == 1 and shape[2] not in (1, 3, 4)):
        if shape[0] != 1:
            raise HttpError(400, "bad_body", f"one image per request: a batch of {shape[0]} was sent")
        infer.batched, shape = True, shape[1:]
    if len(shape) not in (2, 3) or (len(shape) == 3 and shape[2] not in (1, 3, 4)):
        raise HttpError(400, "bad_body", f"expected an image tensor [H, W], [H, W, 1/3/4] or [1, H, W, C], got "
                                         f"{tensor.get('shape')}")
    limit = pixel_limit(max_pixels)
    if shape[0] * shape[1] > limit:
        raise HttpError(413, "too_many_pixels", f"inputs[0]: {shape[1]}x{shape[0]} = {shape[0] * shape[1]:,} pixels "
                                                f"is over the limit of {limit:,} pixels (max_pixels; command line: --max-pixels)")
    dtype, count = DTYPES[datatype], int(np.prod(shape))
    try:
        if raw is not None:
            if len(raw) != count * dtype.itemsize:
                raise ValueError(f"{len(raw)} bytes for {count} {datatype} values")
            arr = np.frombuffer(raw, dtype.newbyteorder("<")).astype(dtype)
        else:
            arr = np.asarray(tensor.get("data"), dtype=dtype).reshape(-1)
            if arr.size != count:
                raise ValueError(f"{arr.size} values for shape {tensor.get('shape')}")
    except (ValueError, TypeError, OverflowError) as e:
        raise HttpError(400, "bad_body", f"inputs[0].data does not match its shape and datatype ({e})") from None
    infer.data = np.ascontiguousarray(arr.reshape(shape))
    return infer


def _one_bytes(data, raw: bytes | None) -> bytes:
    if raw is not None:  # binary extension: a 4-byte little-endian length, then the bytes
        if len(raw) < 4 or struct.unpack("<I", raw[:4])[0] != len(raw) - 4:
            raise HttpError(400, "bad_body", "a BYTES binary input is a 4-byte length and that many bytes")
        return raw[4:]
    if isinstance(data, list) and len(data) == 1 and isinstance(data[0], list):
        data = data[0]
    if not (isinstance(data, list) and len(data) == 1 and isinstance(data[0], str)):
        raise HttpError(400, "bad_body", "a BYTES input in JSON is [\"<base64 image file>\"]")
    try:
        return base64.b64decode(data[0], validate=True)
    except (binascii.Error, ValueError) as e:
        raise HttpError(400, "bad_body", f"inputs[0].data: not base64 ({e})") from None


def infer_response(infer: Infer, model: str, out: np.ndarray | bytes) -> tuple[bytes, str, dict]:
    """(body, media type, headers) of the answer: JSON, or JSON then raw bytes (binary extension)."""
    if isinstance(out, bytes):
        datatype, shape = "BYTES", infer.extra["bytes"]
        raw = struct.pack("<I", len(out)) + out
        data = [base64.b64encode(out).decode()]
    else:
        if out.dtype not in NAMES:
            out = out.astype(np.float32)
        datatype, shape = NAMES[out.dtype], ([1] if infer.batched else []) + list(out.shape)
        raw = out.astype(out.dtype.newbyteorder("<"), copy=False).tobytes()
        data = None
    tensor = {"name": infer.output_name, "datatype": datatype, "shape": shape}
    doc = {"model_name": model, "model_version": "1", "outputs": [tensor]}
    if infer.id is not None:
        doc["id"] = infer.id
    if infer.binary:
        tensor["parameters"] = {"binary_data_size": len(raw)}
        head = json.dumps(doc).encode()
        return head + raw, "application/octet-stream", {"Inference-Header-Content-Length": str(len(head))}
    tensor["data"] = data if data is not None else np.asarray(out).reshape(-1).tolist()
    return json.dumps(doc).encode(), "application/json", {}


def model_metadata(name: str) -> dict:
    """GET /v2/models/{name}: one image in, one image out, any size (-1)."""
    tensor = {"name": "image", "datatype": "UINT8", "shape": [-1, -1, -1]}
    return {"name": name, "versions": ["1"], "platform": "imgen", "inputs": [tensor], "outputs": [tensor],
            "parameters": {"datatypes": "UINT8, UINT16, FP32 (0-1) or BYTES (an encoded image)",
                           "options": ", ".join(OPTIONS)}}
