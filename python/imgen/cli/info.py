"""``imgen info MODEL``: inputs, outputs, metadata and the chosen execution provider."""
from __future__ import annotations

import argparse
import dataclasses
import json

from .._runtime import available_providers
from ..loading import load


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
    for key, value in info.items():
        if value not in (None, {}, ()):
            print(f"{key:<14}{value}")
    return 0
