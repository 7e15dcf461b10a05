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
    rows = [(key, ",".join(map(str, value)) if isinstance(value, tuple) else str(value), record["sources"][key])
            for key, value in info.items() if key in applicable_fields(model.info)]
    print("\n".join(field_table(rows)))
    print("source: declared = in the file; inferred = probed by imgen import; graph/default = read from the "
          "graph or imgen's default")
    return 0


#: Fields that mean something only for some models: the generative tasks' latents, inpainting's
#: mask, a noise level's input, and the tiling of an image input (not for latents in or out).
_GENERATIVE = ("generate", "encode", "decode")
_ONLY = {
    "latent_shape": lambda i: i.task in _GENERATIVE,
    "mask_input": lambda i: i.task == "inpaint",
    "mask_polarity": lambda i: i.task == "inpaint",
    "zero_holes": lambda i: i.task == "inpaint",
    "noise_input": lambda i: i.noise_input is not None,
    "noise_kind": lambda i: i.noise_input is not None,
    "noise_units": lambda i: i.noise_input is not None or i.extra_channels == "noise",
    "tile": lambda i: i.task not in _GENERATIVE,
    "tile_overlap": lambda i: i.task not in _GENERATIVE,
    "receptive_field": lambda i: i.task not in _GENERATIVE,
    "whole_image": lambda i: i.task not in _GENERATIVE,
    "scale": lambda i: i.task not in ("generate", "encode"),
    "size_multiple": lambda i: i.task not in ("generate", "decode"),
    "min_size": lambda i: i.task not in ("generate", "decode"),
    "square": lambda i: i.task not in ("generate", "decode"),
}


def applicable_fields(info) -> list[str]:
    """The ModelInfo fields ``imgen info`` lists for this model: set, and meaningful for its task
    and inputs (no latent shape for a denoiser, no mask polarity outside inpainting)."""
    out = []
    for key, value in dataclasses.asdict(info).items():
        if key == "inferred" or value in (None, {}, ()):
            continue
        if key in _ONLY and not _ONLY[key](info):
            continue
        out.append(key)
    return out


def field_table(rows: list[tuple[str, str, str]], width: int = 64) -> list[str]:
    """Lines of a three-column table (field, value, source): values longer than ``width`` wrap
    onto lines of their own under the value column, so no value runs into the source column."""
    import textwrap

    name_w = max([5] + [len(r[0]) for r in rows]) + 2
    value_w = min(width, max([5] + [len(r[1]) for r in rows])) + 2
    lines = [f"{'field':<{name_w}}{'value':<{value_w}}source"]
    for name, value, source in rows:
        parts = textwrap.wrap(value, value_w - 2, break_on_hyphens=False) or [""]
        lines.append(f"{name:<{name_w}}{parts[0]:<{value_w}}{source}")
        lines.extend(f"{'':<{name_w}}{part}" for part in parts[1:])
    return lines
