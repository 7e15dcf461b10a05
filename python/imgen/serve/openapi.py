"""The server's OpenAPI description (``/openapi.json``) and a plain page listing it (``/docs``, no
script from elsewhere: the server may have no Internet).  Built from the app's routes and the
options' help, so a new endpoint or option shows up without being restated here."""
from __future__ import annotations

import html

from .payload import FORMATS

OPTION_HELP = {
    "sigma": ("number", "noise level on the 0-255 scale, as the CLI's --sigma (default: estimated or the model's)"),
    "tile": ("integer", "tile size for large images, 0: never tile (default: the model's)"),
    "format": ("string", f"reply format: {', '.join(FORMATS)} (default: as sent)"),
    "color_order": ("string", "rgb or bgr: channel order of .npy arrays and tensors (default rgb)"),
}

SUMMARY = {
    ("/v1/models", "GET"): "served model names",
    ("/v1/models/{name}", "GET"): "a model's metadata",
    ("/v1/models/{name}", "POST"): "run a model: image bytes, multipart/form-data or JSON {image: base64} in, "
                                   "image bytes out",
    ("/healthz", "GET"): "liveness",
    ("/readyz", "GET"): "readiness",
    ("/metrics", "GET"): "Prometheus metrics",
    ("/v2/health/live", "GET"): "Open Inference Protocol: liveness",
    ("/v2/health/ready", "GET"): "Open Inference Protocol: readiness",
    ("/v2", "GET"): "Open Inference Protocol: server metadata",
    ("/v2/models/{name}", "GET"): "Open Inference Protocol: model metadata",
    ("/v2/models/{name}/ready", "GET"): "Open Inference Protocol: model readiness",
    ("/v2/models/{name}/infer", "POST"): "Open Inference Protocol: infer (one UINT8/UINT16/FP32 image tensor or "
                                         "a BYTES encoded image; options as request parameters)",
}

STATUS = {"200": "the reply", "400": "bad image, option or body", "401": "missing or wrong bearer token",
          "404": "unknown model", "408": "headers or body too slow (--header-timeout, --read-timeout)",
          "413": "body, pixel or memory limit (--max-body-mb, --max-pixels, --memory-budget)",
          "503": "busy: queue, uploads, memory budget or connections; Retry-After",
          "504": "no result within --timeout"}


def openapi(routes, models: list[str], version: str) -> dict:
    """The OpenAPI 3.1 document for ``routes`` (Starlette routes)."""
    paths: dict = {}
    for route in routes:
        if not route.include_in_schema:
            continue
        for method in sorted(m for m in (route.methods or ()) if m != "HEAD"):
            op: dict[str, object] = {"summary": SUMMARY.get((route.path.replace("/versions/1", ""), method), ""),
                  "responses": {code: {"description": text} for code, text in STATUS.items()}}
            params = []
            if "{name}" in route.path:
                params.append({"name": "name", "in": "path", "required": True,
                               "schema": {"type": "string", "enum": models}})
            if route.path == "/v1/models/{name}" and method == "POST":
                params += [{"name": k, "in": "query", "required": False, "description": text, "schema": {"type": t}}
                           for k, (t, text) in OPTION_HELP.items()]
                op["requestBody"] = {"content": {
                    "image/*": {"schema": {"type": "string", "format": "binary"}},
                    "application/x-npy": {"schema": {"type": "string", "format": "binary"}},
                    "multipart/form-data": {"schema": {"type": "object", "properties": {
                        "image": {"type": "string", "format": "binary"},
                        **{k: {"type": t, "description": text} for k, (t, text) in OPTION_HELP.items()}}}},
                    "application/json": {"schema": {"type": "object", "required": ["image"], "properties": {
                        "image": {"type": "string", "contentEncoding": "base64"},
                        **{k: {"type": t, "description": text} for k, (t, text) in OPTION_HELP.items()}}}}}}
            if params:
                op["parameters"] = params
            paths.setdefault(route.path, {})[method.lower()] = op
    return {"openapi": "3.1.0", "info": {"title": "imgen serve", "version": version}, "paths": paths}


def page(doc: dict) -> str:
    """``doc`` as a plain HTML page: each endpoint, its summary and its options."""
    rows = []
    for path, ops in doc["paths"].items():
        for method, op in ops.items():
            opts = ", ".join(f"<code>{html.escape(p['name'])}</code>: {html.escape(p.get('description', ''))}"
                             for p in op.get("parameters", []) if p["in"] == "query")
            rows.append(f"<tr><td>{method.upper()}</td><td><code>{html.escape(path)}</code></td>"
                        f"<td>{html.escape(op['summary'])}</td><td>{opts}</td></tr>")
    codes = "".join(f"<li><b>{c}</b> {html.escape(t)}</li>" for c, t in STATUS.items())
    return (f"<!doctype html><meta charset=utf-8><title>imgen serve</title><h1>imgen serve "
            f"{html.escape(doc['info']['version'])}</h1><p><a href=/openapi.json>openapi.json</a></p>"
            f"<table border=1 cellpadding=4><tr><th>method</th><th>path</th><th>what</th><th>options</th></tr>"
            f"{''.join(rows)}</table><h2>Status codes</h2><ul>{codes}</ul>")
