"""The ASGI app (Starlette): the endpoints of `imgen serve`, their limits and error codes.

POST /v1/models/{name}    image bytes (PNG/JPEG/TIFF/WebP/BMP, or .npy HWC) -> image bytes;
                          query: sigma (0-255 scale, as the CLI's --sigma), tile, format, color_order (.npy)
GET  /v1/models, /v1/models/{name}, /healthz, /readyz, /metrics
Status codes: 400 bad image or option, 401 bad token, 404 unknown model, 413 body or pixel limit,
503 queue full (Retry-After), 504 timeout.  Nothing a client sends names a file on the server.
"""
from __future__ import annotations

import asyncio
import hmac
import io
import logging
import time
from contextlib import asynccontextmanager
from dataclasses import dataclass

import numpy as np
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from ..errors import ImgenError
from ..imageio import ImageFileError, ImageMemoryError, PixelLimitError, decode_image, encode_image, fit_to_format, pixel_limit
from .batching import Batcher, QueueFull
from .metrics import CONTENT_TYPE, Metrics
from .models import ServedModel

log = logging.getLogger("imgen")

FORMATS = {"png": ".png", "jpg": ".jpg", "jpeg": ".jpg", "tif": ".tiff", "tiff": ".tiff", "webp": ".webp",
           "bmp": ".bmp", "npy": ".npy"}
MEDIA = {".png": "image/png", ".jpg": "image/jpeg", ".tiff": "image/tiff", ".webp": "image/webp",
         ".bmp": "image/bmp", ".npy": "application/x-npy"}
QUERY = ("sigma", "tile", "format", "color_order")


@dataclass(frozen=True)
class Limits:
    """max_body: bytes; max_pixels: width x height (None: imgen's limit); timeout: seconds per request."""

    max_body: int = 64 << 20
    max_pixels: int | None = None
    timeout: float = 60.0
    retry_after: int = 1


class HttpError(Exception):
    def __init__(self, status: int, kind: str, message: str, headers: dict | None = None):
        super().__init__(message)
        self.status, self.kind, self.headers = status, kind, headers or {}


def create_app(models: dict[str, ServedModel], *, limits: Limits = Limits(), token: str | None = None,
               max_batch: int = 8, max_delay_ms: float = 5.0, max_queue: int = 64, sessions: int = 1) -> Starlette:
    """The app serving ``models``; batching per model (``max_batch`` images, ``max_delay_ms``),
    ``sessions`` concurrent runs per model, ``max_queue`` images waiting per model."""
    metrics = Metrics()
    state = {"ready": False, "batchers": {}}

    def batcher(name: str) -> Batcher:
        if name not in state["batchers"]:
            state["batchers"][name] = Batcher(max_batch=max_batch, max_delay=max_delay_ms / 1000,
                                              max_queue=max_queue, sessions=sessions,
                                              on_batch=metrics.batch_size.observe)
        return state["batchers"][name]

    def check_token(request: Request) -> None:
        if token is None:
            return
        got = request.headers.get("authorization", "")
        if not hmac.compare_digest(got.encode(), f"Bearer {token}".encode()):
            raise HttpError(401, "auth", "missing or wrong bearer token (Authorization: Bearer TOKEN)",
                            {"WWW-Authenticate": "Bearer"})

    def model_for(request: Request) -> ServedModel:
        name = request.path_params["name"]
        if name not in models:
            raise HttpError(404, "unknown_model", f"no model named {name!r}; served: {', '.join(sorted(models))}")
        return models[name]

    async def list_models(request: Request) -> Response:
        check_token(request)
        return JSONResponse({"models": sorted(models)})

    async def model_info(request: Request) -> Response:
        check_token(request)
        return JSONResponse(model_for(request).info())

    async def healthz(request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def readyz(request: Request) -> Response:
        ok = state["ready"]
        return JSONResponse({"ready": ok, "models": sorted(models)}, status_code=200 if ok else 503)

    async def metrics_endpoint(request: Request) -> Response:
        metrics.queue_depth.set(sum(b.depth for b in state["batchers"].values()))
        return Response(metrics.render(), media_type=CONTENT_TYPE)

    async def infer(request: Request) -> Response:
        start = time.perf_counter()
        name = request.path_params["name"]
        try:
            check_token(request)
            served = model_for(request)
            options = parse_query(request)
            body = await read_body(request, limits.max_body)
            t0 = time.perf_counter()
            try:
                image, ext, color_order = decode_body(body, limits.max_pixels)
                runner = served.runner(sigma=options["sigma"], tile=options["tile"],
                                       color_order=color_order if ext != ".npy" else options["color_order"])
                t1 = time.perf_counter()
                key = (runner.options, image.shape, image.dtype.str)
                out = await asyncio.wait_for(batcher(name).submit(key, runner, image), limits.timeout)
            except asyncio.TimeoutError:
                raise HttpError(504, "timeout", f"no result within {limits.timeout:g} s") from None
            except QueueFull as e:
                raise HttpError(503, "queue_full", f"server busy: {e}; retry later",
                                {"Retry-After": str(limits.retry_after)}) from None
            except (ImgenError, ValueError, TypeError) as e:
                raise HttpError(400, "bad_input", str(e)) from None
            except MemoryError as e:  # e.g. under `ulimit -v`: this request's, not the server's, failure
                raise HttpError(503, "out_of_memory", f"not enough memory for this image on the server ({e}); "
                                                      f"retry later or send a smaller image",
                                {"Retry-After": str(limits.retry_after)}) from None
            t2 = time.perf_counter()
            reply_ext = options["format"] or ext
            data = encode_reply(out, reply_ext)
            t3 = time.perf_counter()
        except HttpError as e:
            metrics.requests.labels(name, str(e.status)).inc()
            metrics.errors.labels(e.kind).inc()
            return JSONResponse({"error": str(e)}, status_code=e.status, headers=e.headers)
        except Exception as e:  # a failing request never takes the server down
            log.exception("request to %s failed", name)
            metrics.requests.labels(name, "500").inc()
            metrics.errors.labels("internal").inc()
            return JSONResponse({"error": f"internal error: {type(e).__name__}: {e}"}, status_code=500)
        metrics.requests.labels(name, "200").inc()
        metrics.latency.labels(name).observe(time.perf_counter() - start)
        timing = f"decode;dur={(t1 - t0) * 1e3:.1f}, run;dur={(t2 - t1) * 1e3:.1f}, encode;dur={(t3 - t2) * 1e3:.1f}"
        return Response(data, media_type=MEDIA[reply_ext], headers={"Server-Timing": timing})

    @asynccontextmanager
    async def lifespan(app):
        state["ready"] = True
        yield
        state["ready"] = False
        for b in state["batchers"].values():
            b.close()

    routes = [Route("/v1/models", list_models), Route("/v1/models/{name}", model_info, methods=["GET"]),
              Route("/v1/models/{name}", infer, methods=["POST"]), Route("/healthz", healthz),
              Route("/readyz", readyz), Route("/metrics", metrics_endpoint)]
    async def http_error(request: Request, e: HttpError) -> Response:
        metrics.errors.labels(e.kind).inc()
        return JSONResponse({"error": str(e)}, status_code=e.status, headers=e.headers)

    app = Starlette(routes=routes, lifespan=lifespan, exception_handlers={HttpError: http_error})
    app.state.metrics = metrics
    app.state.models = models
    return app


def parse_query(request: Request) -> dict:
    """sigma (0-255 -> fraction), tile (>= 0), format, color_order; 400 naming the bad one."""
    q = request.query_params
    unknown = sorted(set(q) - set(QUERY))
    if unknown:
        raise HttpError(400, "bad_option", f"unknown option(s) {', '.join(unknown)}; options: {', '.join(QUERY)}")
    out = {"sigma": None, "tile": None, "format": None, "color_order": q.get("color_order", "rgb")}
    if "sigma" in q:
        try:
            sigma = float(q["sigma"])
        except ValueError:
            sigma = float("nan")
        if not 0 <= sigma <= 255:
            raise HttpError(400, "bad_option", f"sigma must be a number from 0 to 255 (the 0-255 scale), "
                                               f"got {q['sigma']!r}")
        out["sigma"] = sigma / 255
    if "tile" in q:
        if not q["tile"].isdigit():
            raise HttpError(400, "bad_option", f"tile must be a whole number >= 0 (0: no tiling), got {q['tile']!r}")
        out["tile"] = int(q["tile"])
    if "format" in q:
        if q["format"].lower() not in FORMATS:
            raise HttpError(400, "bad_option", f"format must be one of {', '.join(FORMATS)}, got {q['format']!r}")
        out["format"] = FORMATS[q["format"].lower()]
    if out["color_order"] not in ("rgb", "bgr"):
        raise HttpError(400, "bad_option", f"color_order must be rgb or bgr, got {out['color_order']!r}")
    return out


async def read_body(request: Request, limit: int) -> bytes:
    """The body, refused with 413 as soon as it passes ``limit`` bytes."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise HttpError(413, "body_too_large", f"body of {int(declared):,} bytes is over the limit of {limit:,}")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise HttpError(413, "body_too_large", f"body is over the limit of {limit:,} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


def decode_body(body: bytes, max_pixels: int | None) -> tuple[np.ndarray, str, str]:
    """(HWC image, the format's extension, colour order) from the body; 400 / 413 as the CLI says."""
    if body.startswith(b"\x93NUMPY"):
        return decode_npy(body, max_pixels), ".npy", "rgb"
    try:
        image, _ = decode_image(body, name="request body", max_pixels=max_pixels)
    except PixelLimitError as e:
        raise HttpError(413, "too_many_pixels", str(e)) from None
    except ImageMemoryError:
        raise  # the caller's 503: the server's memory, not the client's image
    except (ImageFileError, ValueError) as e:
        raise HttpError(400, "bad_image", str(e)) from None
    return image, _sniff_ext(body), "bgr"


def decode_npy(body: bytes, max_pixels: int | None) -> np.ndarray:
    """An .npy body: (H, W) or (H, W, C<=4) uint8/uint16/float32, no pickles, under the pixel limit."""
    try:
        arr = np.load(io.BytesIO(body), allow_pickle=False)
    except MemoryError:
        raise  # the caller's 503
    except Exception as e:
        raise HttpError(400, "bad_image", f"request body: not a readable .npy array ({e})") from None
    if arr.ndim not in (2, 3) or (arr.ndim == 3 and arr.shape[2] not in (1, 3, 4)) or 0 in arr.shape:
        raise HttpError(400, "bad_image", f"request body: expected an (H, W) or (H, W, 1/3/4) image, got {arr.shape}")
    if arr.dtype not in (np.uint8, np.uint16, np.float32):
        raise HttpError(400, "bad_image", f"request body: expected uint8, uint16 or float32, got {arr.dtype}")
    limit = pixel_limit(max_pixels)
    if arr.shape[0] * arr.shape[1] > limit:
        raise HttpError(413, "too_many_pixels", f"request body: {arr.shape[1]}x{arr.shape[0]} is over the limit of "
                                                f"{limit:,} pixels")
    return np.ascontiguousarray(arr)


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
