"""``imgen serve MODEL...``: models behind an HTTP endpoint (needs [serve]); see docs/serving.md."""
from __future__ import annotations

import argparse
from pathlib import Path

from ..errors import ImgenError, MissingExtraError
from ._args import add_info_argument, nonnegative_float, pixel_count, positive_int, thread_count


def add_parser(sub) -> None:
    p = sub.add_parser("serve", help="serve models over HTTP with dynamic batching (needs [serve])",
                       description="Serve image models (and the classical bm3d and wavelet) over HTTP: "
                                   "POST /v1/models/NAME with image bytes; see docs/serving.md.")
    p.add_argument("models", nargs="*", metavar="MODEL", help=".onnx files or shipped model names")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1, this machine only)")
    p.add_argument("--port", type=int, default=8000, help="port (default 8000; 0: any free port)")
    p.add_argument("--max-batch", type=positive_int, default=8, help="images per model run at most (default 8)")
    p.add_argument("--max-delay-ms", type=nonnegative_float, default=5.0,
                   help="how long a batch waits for more requests (default 5 ms; 0 with --max-batch 1: no batching)")
    p.add_argument("--max-queue", type=positive_int, default=64, help="images waiting per model before 503 (default 64)")
    p.add_argument("--sessions", type=positive_int, default=1, help="concurrent runs per model (default 1)")
    p.add_argument("--max-body-mb", type=nonnegative_float, default=64.0, help="largest request body (default 64 MB)")
    p.add_argument("--max-pixels", type=pixel_count, help="largest image, width x height (default 5e8 or "
                                                          "$IMGEN_MAX_PIXELS)")
    p.add_argument("--timeout", type=nonnegative_float, default=60.0, help="seconds per request before 504 (default 60)")
    p.add_argument("--grace", type=nonnegative_float, default=30.0,
                   help="seconds SIGTERM waits for requests in flight (default 30)")
    p.add_argument("--token-file", type=Path, help="require 'Authorization: Bearer TOKEN', TOKEN read from this file")
    p.add_argument("--tile", type=int, help="tile size for large images (as imgen run)")
    p.add_argument("--threads", type=thread_count, help="onnxruntime threads per session")
    add_info_argument(p)
    p.set_defaults(func=main)


def main(args: argparse.Namespace) -> int:
    try:
        from ..serve.app import Limits, create_app
        from ..serve.server import run_server
    except ImportError as e:
        raise MissingExtraError(f"imgen serve needs the [serve] extra: pip install 'imgen[serve]' ({e})") from None
    from ..processors import ProcessorOptions
    from ..serve.models import serve_models

    token = None
    if args.token_file is not None:
        try:
            token = args.token_file.read_text().strip()
        except OSError as e:
            raise ImgenError(f"{args.token_file}: cannot read the token file ({e.strerror or e})") from None
        if not token:
            raise ImgenError(f"{args.token_file}: the token file is empty")
    base = ProcessorOptions(method="bm3d", tile=args.tile, threads=args.threads)
    models = serve_models(args.models, base, info=tuple(args.info))
    limits = Limits(max_body=int(args.max_body_mb * (1 << 20)), max_pixels=args.max_pixels, timeout=args.timeout)
    app = create_app(models, limits=limits, token=token, max_batch=args.max_batch, max_delay_ms=args.max_delay_ms,
                     max_queue=args.max_queue, sessions=args.sessions)
    print(f"imgen: serving {', '.join(sorted(models))} on http://{args.host}:{args.port}", flush=True)
    run_server(app, host=args.host, port=args.port, grace=args.grace)
    return 0

