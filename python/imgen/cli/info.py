"""``imgen info MODEL``: inputs, outputs, metadata and the chosen execution provider."""
from __future__ import annotations

import argparse
import dataclasses
import json

from .._runtime import available_providers, create_session
from ..loading import load
from ..errors import ImgenError
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
    p.add_argument("--speed", action="store_true",
                   help="restoration models: run it and its task's classical methods here (two of scikit-image's "
                        "photographs, 128-px crops, one level; needs imgen[bench]) and say which is the best per "
                        "CPU second on this machine")
    p.set_defaults(func=main)


#: --speed: the one level each task is measured at (sr: the model's own scale).
_SPEED_LEVELS: dict[str, list] = {"denoise": [25.0], "jpeg": [10], "deblur": ["gauss1.6"]}


def speed(model) -> dict:
    """The model against its task's classical methods on this machine: bench's summary rows and
    :func:`imgen.cost.best_per_second` of them.  ValueError for models of no bench task."""
    from ..bench import runner
    from ..bench import tasks as bench_tasks
    from ..bench.samples import builtin_samples
    from ..cost import best_per_second

    task = model.info.task
    if task not in bench_tasks.TASKS or task == "inpaint":
        raise ValueError(f"--speed: model {model.name} is for task {task}, which has no classical peers to time")
    levels = [int(model.info.scale or 2)] if task == "sr" else _SPEED_LEVELS[task]
    classical = [m for m in bench_tasks.get(task).known_methods() if m in ("bm3d", "wavelet", "wavelet-ti")
                 or task != "denoise"]
    samples = [s for s in builtin_samples() if s.name in ("camera", "astronaut")]
    result = runner.run(images=samples, methods=classical, models=[model.path], task=task, levels=levels,
                        crop=128, repeats=1, progress=False)
    summary = result.summary()
    return {"summary": summary, "best_per_second": [dataclasses.asdict(v) for v in best_per_second(summary)],
            "level_name": result.config["level_name"]}


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
    if args.speed:
        try:
            record["speed"] = speed(model)
        except (ValueError, ImportError) as e:
            raise ImgenError(str(e)) from None
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
    if "speed" in record:
        _print_speed(record["speed"])
    elif model.info.task in _SPEED_LEVELS or model.info.task == "sr":
        print(f"speed against the classical methods on this machine: imgen info {args.model} --speed")
    return 0


def _print_speed(result: dict) -> None:
    from ..cost import Value, value_lines

    print("\nspeed on this machine (128-px crops of camera and astronaut, one timed run each):")
    print(f"  {'set':5} {'method':16} {'PSNR':>7} {'gain dB':>8} {'CPU s/MP':>9}")
    for r in result["summary"]:
        print(f"  {r['kind']:5} {r['method']:16} {r['psnr']:7.2f} {r['psnr'] - r['psnr_noisy']:8.2f} "
              f"{r['cpu_s_per_mpix']:9.3f}")
    print("  best per CPU second: the most PSNR gained per CPU second per megapixel; Pareto front: no method "
          "beats these on both PSNR and CPU time")
    for line in value_lines([Value(**v) for v in result["best_per_second"]], result["level_name"]):
        print("  " + line)


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
