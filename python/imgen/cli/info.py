"""``imgen info MODEL``: inputs, outputs, metadata and the chosen execution provider."""
from __future__ import annotations

import argparse
import dataclasses
import json

from .._runtime import available_providers, create_session
from ..loading import load
from ..model_info import PREFIX

#: ModelInfo field -> its metadata key, where they differ.
_KEYS = {"value_range": "range"}


def sources(path: str, info) -> dict[str, str]:
    """Where each set field of ``info`` comes from: "declared" (the file's imgen metadata, written by
    its author or an exporter), "inferred" (found by imgen import probing the graph; imgen.inferred)
    or "graph/default" (not in the file: read from the graph when loading, or imgen's default)."""
    session = create_session(path, ["CPUExecutionProvider"], 1)
    keys = {k[len(PREFIX):] for k in session.get_modelmeta().custom_metadata_map if k.startswith(PREFIX)}
    out = {}
    for name in dataclasses.asdict(info):
        if name in info.inferred:
            out[name] = "inferred"
        elif _KEYS.get(name, name) in keys or (name == "extra" and info.extra):
            out[name] = "declared"
        else:
            out[name] = "graph/default"
    return out


def add_parser(sub) -> None:
    p = sub.add_parser("info", help="describe a model", description="Show a model's inputs, outputs, imgen metadata and provider.")
    p.add_argument("model", help="an .onnx file or the name of a shipped model")
    p.add_argument("--providers", nargs="+", help="execution providers to try (default: best available)")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=main)


def main(args: argparse.Namespace) -> int:
    model = load(args.model, providers=args.providers)
    info = dataclasses.asdict(model.info)
    record = {
        "path": model.path,
        "provider": model.provider,
        "available_providers": available_providers(),
        "inputs": [dataclasses.asdict(i) for i in model.inputs],
        "outputs": [dataclasses.asdict(o) for o in model.outputs],
        "info": info,
        "sources": sources(model.path, model.info),
    }
    if args.json:
        print(json.dumps(record, indent=2, default=str))
        return 0
    print(f"model     {model.path}")
    print(f"provider  {model.provider}  (available: {', '.join(record['available_providers'])})")
    for kind in ("inputs", "outputs"):
        for t in getattr(model, kind):
            dims = ", ".join(str(d) if d is not None else "?" for d in t.shape)
            print(f"{kind[:-1]:<9} {t.name}  [{dims}]  {t.type}")
    print(f"{'field':<16}{'value':<28}source (declared: in the file; inferred: probed by imgen import)")
    for key, value in info.items():
        if value not in (None, {}, ()) and key != "inferred":
            text = ",".join(map(str, value)) if isinstance(value, tuple) else str(value)
            if len(text) < 28:
                print(f"{key:<16}{text:<28}{record['sources'][key]}")
            else:  # free text (description, published): the source on the next line, not run into it
                print(f"{key:<16}{text}\n{'':<44}{record['sources'][key]}")
    return 0
