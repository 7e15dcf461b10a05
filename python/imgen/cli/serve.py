"""``imgen serve MODEL...``: models behind an HTTP endpoint (needs [serve]); see docs/serving.md."""
from __future__ import annotations

import argparse
import functools
from pathlib import Path

from ..errors import ImgenError, MissingExtraError
from ._args import add_info_argument, nonnegative_float, nonnegative_int, pixel_count, positive_int, thread_count


def add_parser(sub) -> None:
    p = sub.add_parser("serve", help="serve models over HTTP with dynamic batching (needs [serve])",
                       description="Serve image models (and the classical denoisers: bm3d, wavelet, ...) over HTTP: "
                                   "POST /v1/models/NAME with image bytes; see docs/serving.md.")
    p.add_argument("models", nargs="*", metavar="MODEL", help=".onnx files or shipped model names")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1, this machine only)")
    p.add_argument("--port", type=int, default=8000, help="port (default 8000; 0: any free port)")
    p.add_argument("--max-batch", type=positive_int, default=8, help="images per model run at most (default 8)")
    p.add_argument("--max-delay-ms", type=nonnegative_float, default=5.0,
                   help="how long a batch waits for more requests (default 5 ms; 0 with --max-batch 1: no batching)")
    p.add_argument("--max-queue", type=positive_int, default=64, help="images admitted per model (decoding, queued, running or encoding, also for callers "
                        "that gave up) before 503 (default 64)")
    p.add_argument("--sessions", type=positive_int, default=1, help="concurrent runs per model (default 1)")
    p.add_argument("--max-body-mb", type=nonnegative_float, default=64.0, help="largest request body (default 64 MB)")
    p.add_argument("--max-pixels", type=pixel_count, help="largest image, width x height (default 5e8 or "
                                                          "$IMGEN_MAX_PIXELS)")
    p.add_argument("--timeout", type=nonnegative_float, default=60.0,
                   help="seconds from the end of a request's body to its reply (decoding, queue, run, encoding) "
                        "before 504 (default 60)")
    p.add_argument("--read-timeout", type=nonnegative_float, default=30.0,
                   help="seconds to receive one request body before 408 (default 30)")
    p.add_argument("--header-timeout", type=nonnegative_float, default=10.0,
                   help="seconds a connection has to send a request's headers before 408 and close (default 10)")
    p.add_argument("--max-uploads", type=positive_int, default=16,
                   help="request bodies received at once before 503 (default 16)")
    p.add_argument("--max-connections", type=positive_int, default=512,
                   help="open connections before new requests get 503 (default 512)")
    p.add_argument("--memory-budget", type=byte_size, metavar="SIZE",
                   help="working memory for all admitted images, e.g. 4G or 512M (default: half the machine's "
                        "memory); an image that could never fit is 413, one that does not fit now 503")
    p.add_argument("--grace", type=nonnegative_float, default=30.0,
                   help="seconds SIGTERM waits for requests in flight (default 30)")
    p.add_argument("--no-access-log", action="store_true",
                   help="no line per request on stderr (client, method, path, status, bytes, ms)")
    p.add_argument("--token-file", type=Path, help="require 'Authorization: Bearer TOKEN', TOKEN read from this file")
    p.add_argument("--tile", type=nonnegative_int,
                   help="tile size for large images (0 = never tile; default from the model, else 512; a request's tile= overrides it)")
    p.add_argument("--threads", type=thread_count, help="onnxruntime threads per session")
    add_info_argument(p)
    g = p.add_argument_group("Ray Serve (needs imgen[ray-serve])")
    g.add_argument("--ray", nargs="?", const="", metavar="ADDRESS",
                   help="deploy on a Ray cluster with Ray Serve (no ADDRESS: a local Ray instance; 'auto': the "
                        "cluster started on this machine)")
    g.add_argument("--replicas", type=positive_int, default=1, help="replicas (default 1)")
    g.add_argument("--min-replicas", type=positive_int, help="autoscaling: fewest replicas")
    g.add_argument("--max-replicas", type=positive_int, help="autoscaling: most replicas")
    g.add_argument("--cpus-per-replica", type=nonnegative_float, default=1.0, help="CPUs per replica (default 1)")
    g.add_argument("--gpus-per-replica", type=nonnegative_float, default=0.0, help="GPUs per replica (default 0)")
    p.set_defaults(func=main)


def byte_size(text: str) -> int:
    """A size in bytes > 0: a number with K, M, G or T (binary units; "B"/"iB" optional), plain: MiB."""
    import re

    m = re.fullmatch(r"\s*([0-9]+(?:\.[0-9]+)?)\s*([KMGT]?)(?:i?B)?\s*", text, re.IGNORECASE)
    if not m or float(m.group(1)) <= 0:
        raise argparse.ArgumentTypeError(f"must be a size such as 4G, 512M or 1.5GiB (a plain number: MiB), got "
                                         f"{text!r}")
    unit = {"": 20, "K": 10, "M": 20, "G": 30, "T": 40}[m.group(2).upper()]
    return max(1, int(float(m.group(1)) * (1 << unit)))


def main(args: argparse.Namespace) -> int:
    from .._limits import MIN_SERVE, require_address_space

    require_address_space(MIN_SERVE, "imgen serve")  # uvloop aborts when it cannot start its threads
    try:
        from ..serve.admission import one_heap
        from ..serve.app import Limits
        from ..serve.server import run_server
    except ImportError as e:
        raise MissingExtraError(f"imgen serve needs the [serve] extra: pip install 'imgen[serve]' ({e})") from None
    token = None
    if args.token_file is not None:
        try:
            token = args.token_file.read_text().strip()
        except OSError as e:
            raise ImgenError(f"{args.token_file}: cannot read the token file ({e.strerror or e})") from None
        if not token:
            raise ImgenError(f"{args.token_file}: the token file is empty")
    one_heap()  # before the models load and their threads start: RSS falls back after a burst
    served = dict(tile=args.tile, threads=args.threads, info=tuple(args.info))  # checked once, in serve_models
    limits = Limits(max_body=int(args.max_body_mb * (1 << 20)), max_pixels=args.max_pixels, timeout=args.timeout,
                    read_timeout=args.read_timeout, max_uploads=args.max_uploads, memory_budget=args.memory_budget)
    make_app = functools.partial(_make_app, list(args.models), served,
                                 dict(limits=limits, token=token, max_batch=args.max_batch,
                                      max_delay_ms=args.max_delay_ms, max_queue=args.max_queue,
                                      sessions=args.sessions))
    if args.ray is not None:
        return _serve_on_ray(make_app, args)
    app = make_app()
    models = app.state.models
    if not args.no_access_log:
        import logging

        logging.getLogger("imgen.access").setLevel(logging.INFO)
    print(f"imgen: serving {', '.join(sorted(models))} on http://{args.host}:{args.port}", flush=True)
    run_server(app, host=args.host, port=args.port, grace=args.grace, max_connections=args.max_connections,
               header_timeout=args.header_timeout)
    print("imgen: stopped (requests in flight drained)", flush=True)
    return 0


def _make_app(specs, served, app_options):
    from ..serve.app import create_app
    from ..serve.models import serve_models

    return create_app(serve_models(specs, **served), **app_options)


def _serve_on_ray(make_app, args) -> int:
    """Deploy on Ray Serve, then wait for SIGTERM/Ctrl+C and take the deployment down."""
    import threading

    try:
        import ray
    except ImportError:
        raise MissingExtraError("imgen serve --ray needs Ray Serve: pip install 'imgen[ray-serve]'") from None
    from ..serve.ray_serve import Replicas, deploy, shutdown

    make_app()  # the models load here first: a bad model is one error before anything is deployed
    ray.init(address=args.ray or None, include_dashboard=False)
    replicas = Replicas(replicas=args.replicas, min_replicas=args.min_replicas, max_replicas=args.max_replicas,
                        cpus=args.cpus_per_replica, gpus=args.gpus_per_replica)
    deploy(make_app, replicas, host=args.host, port=args.port)
    print(f"imgen: serving on Ray Serve at http://{args.host}:{args.port}", flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:  # SIGTERM arrives as KeyboardInterrupt through the CLI
        pass
    finally:
        shutdown()
    return 0

