"""The ASGI app (Starlette): the endpoints of `imgen serve`, their limits and error codes.

POST /v1/models/{name}    image bytes (PNG/JPEG/TIFF/WebP/BMP, or .npy HWC), a multipart/form-data upload
                          (field ``image`` or the only file) or JSON ``{"image": base64, ...}`` -> image bytes;
                          options (query, form fields or JSON members): sigma (0-255 scale, as the CLI's
                          --sigma), tile, format, color_order (.npy)
GET  /v1/models, /v1/models/{name}, /healthz, /readyz, /metrics; the Open Inference Protocol under /v2
Status codes: 400 bad image or option, 401 bad token, 404 unknown model, 408 body too slow, 413 body, pixel
or memory limit, 503 busy (Retry-After), 504 timeout; 499 (logged and counted, never sent) the client went
away.  Nothing a client sends names a file on the server.

Each upload is read within ``read_timeout`` (at most ``max_uploads`` at once), then admitted
(:mod:`.admission`) before it is decoded; parsing, decoding and encoding run on a small thread pool,
the model on the batcher's, so the event loop only routes.  ``timeout`` runs from the end of the body
to the reply and covers decoding; a caller that times out or goes away cancels its image if it has
not started, and its admission holds until the work done for it has ended.
"""
from __future__ import annotations

import asyncio
import hmac
import logging
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from dataclasses import dataclass

import numpy as np
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from ..errors import ImgenError
from . import kserve, openapi
from .admission import Admission, Rejected, default_budget, estimate, trim_heap, working_for
from .batching import Batcher, QueueFull, background_priority
from .metrics import CONTENT_TYPE, Metrics
from .models import ServedModel
from .payload import (MEDIA, ClientGone, HttpError, decode, encode_reply, parse_body, parse_options, peek,
                      read_body)

log = logging.getLogger("imgen")
access_log = logging.getLogger("imgen.access")
#: Trim the heap after a burst that reserved at least this much (a burst of small images leaves
#: little behind, and a full collection costs the loop tens of ms).
TRIM_AFTER = 64 << 20


@dataclass(frozen=True)
class Limits:
    """max_body: bytes; max_pixels: width x height (None: imgen's limit); timeout: seconds from the end
    of the body to the reply; read_timeout: seconds to receive one body; max_uploads: bodies read at
    once; memory_budget: bytes for all admitted images (None: half the machine's memory); io_threads:
    threads that parse, decode and encode."""

    max_body: int = 64 << 20
    max_pixels: int | None = None
    timeout: float = 60.0
    retry_after: int = 1
    read_timeout: float = 30.0
    max_uploads: int = 16
    memory_budget: int | None = None
    io_threads: int = 2


def create_app(models: dict[str, ServedModel], *, limits: Limits = Limits(), token: str | None = None,
               max_batch: int = 8, max_delay_ms: float = 5.0, max_queue: int = 64, sessions: int = 1) -> Starlette:
    """The app serving ``models``; batching per model (``max_batch`` images, ``max_delay_ms``),
    ``sessions`` concurrent runs per model, ``max_queue`` images admitted per model."""
    metrics = Metrics()
    io_pool = ThreadPoolExecutor(max_workers=limits.io_threads, thread_name_prefix="imgen-serve-io",
                                 initializer=background_priority)

    def idle() -> None:
        """The last admitted image is done: after a second with nothing admitted, if the burst was
        large, free what it left (cyclic garbage, the heap's free pages), off the loop.  Not after
        every request: a full collection holds the GIL for tens of ms."""
        if admission.peak < TRIM_AFTER or state.get("trim") is not None:
            return

        def trim() -> None:
            state["trim"] = None
            if admission.depth() == 0:
                admission.peak = admission.reserved
                try:
                    io_pool.submit(trim_heap)
                except RuntimeError:  # shutting down
                    pass
        state["trim"] = asyncio.get_running_loop().call_later(1.0, trim)
    admission = Admission(max_queue=max_queue, budget=limits.memory_budget or default_budget(), on_idle=idle)
    state = {"ready": False, "batchers": {}, "uploads": 0, "background": set()}
    busy = {"Retry-After": str(limits.retry_after)}

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

    def served_model(name: str) -> ServedModel:
        if name not in models:
            raise HttpError(404, "unknown_model", f"no model named {name!r}; served: {', '.join(sorted(models))}")
        return models[name]

    async def list_models(request: Request) -> Response:
        check_token(request)
        return JSONResponse({"models": sorted(models)})

    async def model_info(request: Request) -> Response:
        check_token(request)
        return JSONResponse(served_model(request.path_params["name"]).info())

    async def healthz(request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def readyz(request: Request) -> Response:
        ok = state["ready"]
        return JSONResponse({"ready": ok, "models": sorted(models)}, status_code=200 if ok else 503)

    async def metrics_endpoint(request: Request) -> Response:
        metrics.queue_depth.set(admission.depth())
        metrics.memory_reserved.set(admission.reserved)
        metrics.uploads.set(state["uploads"])
        return Response(metrics.render(), media_type=CONTENT_TYPE)

    async def receive_body(request: Request) -> bytes:
        """The body, at most ``max_uploads`` read at once (503 beyond), within ``read_timeout`` (408)."""
        if state["uploads"] >= limits.max_uploads:
            raise HttpError(503, "uploads_busy", f"server busy: {state['uploads']} uploads are being received, the "
                                                 f"limit is {limits.max_uploads} (max_uploads; command line: --max-uploads); retry later",
                            {**busy, "Connection": "close"})
        state["uploads"] += 1
        try:
            return await read_body(request, limits.max_body, limits.read_timeout)
        finally:
            state["uploads"] -= 1

    async def process(name: str, served: ServedModel, body: bytes, query: dict, unpack, pack,
                      timing: dict) -> tuple[bytes, str, dict]:
        """Admit, parse, decode, run and encode one request; (reply bytes, media type, headers).
        ``unpack(body) -> (image bytes or HWC array, options, context)`` and ``pack(out, options, ext,
        context) -> (bytes, media type, headers)`` run on the I/O pool: they are what differs between
        /v1 and /v2."""
        working = working_for(name, "classical" if served.options.method is not None else "model")
        scale = 1 if served.options.method is not None else int(served.processor.model.info.scale or 1)
        try:
            ticket = admission.admit(name, len(body))
            try:
                t0 = time.perf_counter()
                data, fields, context = await in_thread(io_pool, unpack, body)
                del body
                options = parse_options({**query, **fields})
                tiled = options["tile"] != 0 and (options["tile"] is not None or served.options.tile != 0)
                if isinstance(data, bytes):
                    size = peek(data, limits.max_pixels)
                    if size.height is not None:
                        admission.resize(ticket, estimate(working, size.height, size.width, size.channels,
                                                          size.itemsize, len(data), tiled=tiled, scale=scale))
                    image, ext, color_order = await in_thread(io_pool, decode, data, limits.max_pixels)
                else:  # a tensor: already an array, in the request's colour order (default RGB)
                    image, ext, color_order = data, ".npy", options["color_order"]
                if ext == ".npy":
                    color_order = options["color_order"]
                channels = image.shape[2] if image.ndim == 3 else 1
                admission.resize(ticket, estimate(working, image.shape[0], image.shape[1], channels, image.itemsize,
                                                  len(data) if isinstance(data, bytes) else 0, tiled=tiled,
                                                  scale=scale))
                del data
                runner = served.runner(sigma=options["sigma"], tile=options["tile"], color_order=color_order)
                t1 = time.perf_counter()
                out = await batcher(name).submit((runner.options, image.shape, image.dtype.str), runner, image)
                del image
                t2 = time.perf_counter()
                reply = await in_thread(io_pool, pack, out, options, ext, context)
                t3 = time.perf_counter()
            finally:
                ticket.release()
        except Rejected as e:
            raise HttpError(e.status, e.kind, str(e), busy if e.status == 503 else None) from None
        except QueueFull as e:
            raise HttpError(503, "queue_full", f"server busy: {e}; retry later", busy) from None
        except (ImgenError, ValueError, TypeError) as e:
            raise HttpError(400, "bad_input", str(e)) from None
        except MemoryError as e:  # e.g. under `ulimit -v`: this request's, not the server's, failure
            raise HttpError(503, "out_of_memory", f"not enough memory for this image on the server ({e}); "
                                                  f"retry later or send a smaller image", busy) from None
        timing.update(decode=t1 - t0, run=t2 - t1, encode=t3 - t2)
        return reply

    async def handle(request: Request, unpack, pack, query: dict) -> Response:
        """One inference request, either protocol: limits, admission, timeout, metrics, errors."""
        start = time.perf_counter()
        name = request.path_params["name"]
        try:
            check_token(request)
            served = served_model(name)
            parse_options(query)  # a bad option is refused before the body is read
            body = await receive_body(request)
            timing: dict = {}
            work = asyncio.create_task(process(name, served, body, query, unpack, pack, timing))
            del body
            _keep(state["background"], work)
            data, media, headers = await _answer_or_give_up(request, work, limits.timeout)
        except HttpError as e:
            metrics.requests.labels(name, str(e.status)).inc()
            metrics.errors.labels(e.kind).inc()
            return JSONResponse({"error": str(e)}, status_code=e.status, headers=e.headers)
        except ClientGone:
            metrics.requests.labels(name, "499").inc()
            metrics.errors.labels("client_gone").inc()
            log.info("request to %s: the client went away before its reply", name)
            return Response(status_code=499)
        except Exception as e:  # a failing request never takes the server down
            log.exception("request to %s failed", name)
            metrics.requests.labels(name, "500").inc()
            metrics.errors.labels("internal").inc()
            return JSONResponse({"error": f"internal error: {type(e).__name__}: {e}"}, status_code=500)
        metrics.requests.labels(name, "200").inc()
        metrics.latency.labels(name).observe(time.perf_counter() - start)
        timing_header = ", ".join(f"{k};dur={v * 1e3:.1f}" for k, v in timing.items())
        return Response(data, media_type=media, headers={**headers, "Server-Timing": timing_header})

    async def infer(request: Request) -> Response:
        content_type = request.headers.get("content-type", "")

        def unpack(body: bytes):
            upload = parse_body(body, content_type)
            return upload.data, upload.fields, None

        def pack(out, options, ext, context):
            reply_ext = options["format"] or ext
            return encode_reply(out, reply_ext), MEDIA[reply_ext], {}
        return await handle(request, unpack, pack, dict(request.query_params))

    async def infer_v2(request: Request) -> Response:
        header_length = request.headers.get(kserve.HEADER_LENGTH)

        def unpack(body: bytes):
            req = kserve.parse_infer(body, header_length, limits.max_pixels)
            return req.data, req.fields, req

        def pack(out, options, ext, req):
            if isinstance(req.data, bytes):  # BYTES in, an encoded image out
                out = encode_reply(out, options["format"] or ext)
            return kserve.infer_response(req, request.path_params["name"], out)
        return await handle(request, unpack, pack, {})

    async def v2_live(request: Request) -> Response:
        return JSONResponse({"live": True})

    async def v2_ready(request: Request) -> Response:
        return JSONResponse({"ready": state["ready"]}, status_code=200 if state["ready"] else 503)

    async def v2_server(request: Request) -> Response:
        from .. import __version__

        return JSONResponse({"name": "imgen", "version": __version__, "extensions": ["binary_tensor_data"]})

    async def v2_model(request: Request) -> Response:
        check_token(request)
        name = request.path_params["name"]
        served_model(name)
        return JSONResponse(kserve.model_metadata(name))

    async def v2_model_ready(request: Request) -> Response:
        check_token(request)
        name = request.path_params["name"]
        served_model(name)
        return JSONResponse({"name": name, "ready": state["ready"]}, status_code=200 if state["ready"] else 503)

    async def _answer_or_give_up(request: Request, work: asyncio.Task, timeout: float):
        """``work``'s result; on ``timeout`` (504) or the client hanging up (ClientGone) ``work`` is
        cancelled and left to end on its own (dropping its image if not started)."""
        gone = asyncio.create_task(_disconnected(request))
        try:
            done, _ = await asyncio.wait({work, gone}, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
        except asyncio.CancelledError:  # the server cancelled this request (shutdown past --grace)
            work.cancel()
            raise
        finally:
            gone.cancel()
        if work in done:
            return work.result()
        work.cancel()
        if gone in done and not gone.cancelled() and gone.result():
            raise ClientGone()
        raise HttpError(504, "timeout", f"no result within {timeout:g} s (timeout; command line: --timeout)")

    @asynccontextmanager
    async def lifespan(app):
        # Pillow's header readers load now, not on the event loop under the first request
        peek(encode_reply(np.zeros((1, 1), np.uint8), ".png"), None)
        state["ready"] = True
        log.info("imgen serve: ready, serving %s", ", ".join(sorted(models)))
        yield
        state["ready"] = False
        log.info("imgen serve: shutting down")
        for b in state["batchers"].values():
            b.close()
        io_pool.shutdown(wait=False, cancel_futures=True)

    routes = [Route("/v1/models", list_models), Route("/v1/models/{name}", model_info, methods=["GET"]),
              Route("/v1/models/{name}", infer, methods=["POST"]), Route("/healthz", healthz),
              Route("/readyz", readyz), Route("/metrics", metrics_endpoint),
              Route("/v2/health/live", v2_live), Route("/v2/health/ready", v2_ready), Route("/v2", v2_server),
              Route("/v2/models/{name}", v2_model), Route("/v2/models/{name}/versions/1", v2_model),
              Route("/v2/models/{name}/ready", v2_model_ready),
              Route("/v2/models/{name}/versions/1/ready", v2_model_ready),
              Route("/v2/models/{name}/infer", infer_v2, methods=["POST"]),
              Route("/v2/models/{name}/versions/1/infer", infer_v2, methods=["POST"])]

    async def openapi_json(request: Request) -> Response:
        from .. import __version__

        return JSONResponse(openapi.openapi(routes, sorted(models), __version__))

    async def docs(request: Request) -> Response:
        from .. import __version__

        return HTMLResponse(openapi.page(openapi.openapi(routes, sorted(models), __version__)))

    routes += [Route("/openapi.json", openapi_json, include_in_schema=False),
               Route("/docs", docs, include_in_schema=False)]

    async def http_error(request: Request, e: HttpError) -> Response:
        metrics.errors.labels(e.kind).inc()
        return JSONResponse({"error": str(e)}, status_code=e.status, headers=e.headers)

    app = Starlette(routes=routes, lifespan=lifespan, exception_handlers={HttpError: http_error},
                    middleware=[Middleware(AccessLog)])
    app.state.metrics = metrics
    app.state.models = models
    app.state.admission = admission
    app.state.batchers = state["batchers"]
    return app


class AccessLog:
    """One line per request on the ``imgen.access`` logger (INFO): client, method, path, status, reply
    bytes, milliseconds.  Pure ASGI: the reply streams through untouched."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or not access_log.isEnabledFor(logging.INFO):
            return await self.app(scope, receive, send)
        start, seen = time.perf_counter(), {"status": 0, "bytes": 0}

        async def send_and_note(message):
            if message["type"] == "http.response.start":
                seen["status"] = message["status"]
            elif message["type"] == "http.response.body":
                seen["bytes"] += len(message.get("body", b""))
            await send(message)
        try:
            await self.app(scope, receive, send_and_note)
        finally:
            client = scope.get("client") or ("-", 0)
            access_log.info("%s %s %s %s %d %.1f ms", client[0], scope["method"], scope["path"], seen["status"] or "-",
                            seen["bytes"], (time.perf_counter() - start) * 1e3)


async def _disconnected(request: Request) -> bool:
    """True once the client has hung up (the server's ``http.disconnect``, which uvicorn sends then
    and not before).  A server whose ``receive`` answers at once with anything else cannot tell:
    wait for ever (the caller cancels this) rather than spin."""
    message = await request.receive()
    if message["type"] == "http.disconnect":
        return True
    await asyncio.Event().wait()
    return False


def _keep(tasks: set, task: asyncio.Task) -> None:
    """Hold a reference to ``task`` until it ends; its exception, if nobody waited for it, is read."""
    tasks.add(task)

    def done(t: asyncio.Task) -> None:
        tasks.discard(t)
        if not t.cancelled():
            t.exception()
    task.add_done_callback(done)


async def in_thread(pool: ThreadPoolExecutor, fn, *args):
    """``fn(*args)`` on ``pool``.  Cancelled before it starts, it never runs; cancelled while it runs,
    the cancellation waits for it to end (so admission counts the work until it is over)."""
    cf = pool.submit(fn, *args)
    af = asyncio.wrap_future(cf)
    try:
        return await asyncio.shield(af)
    except asyncio.CancelledError as cancel:
        if not cf.cancel():
            while not af.done():
                try:
                    await asyncio.wait({af})
                except asyncio.CancelledError:
                    continue
            if not af.cancelled():
                af.exception()
        raise cancel
