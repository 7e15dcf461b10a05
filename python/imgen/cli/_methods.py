"""--method / --model and the classical methods' options, generated from ``imgen.methods.REGISTRY``
(`imgen denoise`, `imgen restore`, `imgen video`): one option per Params field, its type, bounds,
choices, default and help read from the field, so a newly registered method needs no edit here."""
from __future__ import annotations

import argparse
import dataclasses
from typing import Any, Callable

from ..errors import ImgenError
from ..methods import REGISTRY
from ..processors import ProcessorOptions
from ._args import _number, add_info_argument, sigma_255

#: Params fields that are also ProcessorOptions fields (they mean the same for a model).
SHARED = ("sigma", "scale")


def _flag(name: str) -> str:
    return "--" + name.replace("_", "-")


def _arg_type(f: dataclasses.Field, kind: type | None) -> Callable[[str], Any] | None:
    """The argparse type of a Params field: its bounds and unit as an argument error, before anything runs."""
    meta = f.metadata
    if meta.get("unit") == "range":
        return sigma_255
    if "parse" in meta:
        parse = meta["parse"]

        def parse_text(text: str):
            try:
                return parse(text)
            except ValueError as e:
                raise argparse.ArgumentTypeError(str(e)) from None

        return parse_text
    if kind in (int, float):
        lo, hi, open_lo = meta.get("min"), meta.get("max"), meta.get("min_open", False)

        def test(v: float) -> bool:
            return (lo is None or (v > lo if open_lo else v >= lo)) and (hi is None or v <= hi)

        if kind is int:
            bound = f"from {lo} to {hi}" if hi is not None else f">= {lo}" if lo is not None else ""
            return _number(int, "an integer", test, bound)
        bound = (f"in {'(' if open_lo else '['}{lo:g}, {hi:g}]" if hi is not None and lo is not None
                 else f"{'>' if open_lo else '>='} {lo:g}" if lo is not None else "")
        return _number(float, "a finite number", test, bound)
    return None


def _add_field(group, f: dataclasses.Field, kind: type | None, users: list[str]) -> None:
    meta = f.metadata
    help_text = meta["help"]
    if meta.get("unit") == "range":
        help_text = help_text.replace("deviation", "deviation on the 0-255 scale whatever the file's bit depth", 1)
    if f.default is not None and not meta.get("required"):
        help_text += f" (default {f.default})"
    kwargs: dict[str, Any] = {"dest": f.name, "default": None,
                              "help": (f"{', '.join(users)}: " if len(users) > 1 else "") + help_text}
    arg_type = _arg_type(f, kind)
    if arg_type is not None:
        kwargs["type"] = arg_type
    if "choices" in meta:
        kwargs["choices"] = meta["choices"]
    if "metavar" in meta:
        kwargs["metavar"] = meta["metavar"]
    group.add_argument(_flag(f.name), **kwargs)


def add_method_arguments(p: argparse.ArgumentParser, *, required: bool, tasks: bool = False) -> None:
    """--method/--model, --info, --sigma and every registered method's options, one group per method;
    with ``tasks``, also --task and the methods of every task (`imgen restore`, `imgen video`),
    else the denoisers only (`imgen denoise`; ``args.task`` is "denoise")."""
    task_names = REGISTRY.tasks() if tasks else ("denoise",)
    how = p.add_mutually_exclusive_group(required=required)
    by_task = {t: REGISTRY.names(t) for t in task_names}
    how.add_argument("--method", choices=REGISTRY.names() if tasks else by_task["denoise"],
                     help=("a classical method: " + "; ".join(f"{t}: {', '.join(m)}" for t, m in by_task.items())
                           if tasks else "a classical denoiser") + ("" if required else " (default: the task's first)"))
    how.add_argument("--model", help="a learned model: an .onnx file or a shipped model name")
    add_info_argument(p)
    if tasks:
        p.add_argument("--task", choices=task_names, default="denoise", help="what to restore (default: denoise)")
    else:
        p.set_defaults(task="denoise")
    methods = [m for m in REGISTRY if m.task in task_names]
    fields = REGISTRY.fields(task_names)

    def users(name: str) -> list[str]:
        return [m.name if not tasks else f"{m.name} ({m.task})" for m in methods
                if name in {f.name for f in m.fields()}]

    for name in SHARED:   # options of the model too: in the command's own section
        if name in fields:
            f, kind = fields[name]
            _add_field(p, f, kind, [])
    done = set(SHARED)
    for m in methods:
        new = [f for f in m.fields() if f.name not in done]
        if not new:
            continue
        group = p.add_argument_group(f"{m.name} ({m.task})" if tasks else m.name, m.help)
        for f in new:
            _add_field(group, f, fields[f.name][1], users(f.name))
            done.add(f.name)
    p.set_defaults(_method_fields=tuple(fields))


def processor_options(args: argparse.Namespace, *, color_order: str) -> ProcessorOptions:
    """ProcessorOptions from the arguments of :func:`add_method_arguments` and the command's model
    options (--tile, --overlap, --batch-size, --providers, --whole-pixels, --threads; None where the
    command has none).  A method option given for a model or another method is an ImgenError."""
    given = {name: getattr(args, name) for name in args._method_fields if getattr(args, name) is not None}
    shared = {k: given.pop(k) for k in SHARED if k in given}
    task = args.task
    method = None if args.model else (args.method or REGISTRY.names(task)[0])
    params = None
    if method is not None:
        m = REGISTRY.get(method, task)
        own = {f.name for f in m.fields()}
        _refuse({k: v for k, v in given.items() if k not in own}, f"--method {method} (task {task})")
        params = m.params(**{k: v for k, v in given.items() if k in own}, **{k: v for k, v in shared.items() if k in own})
    else:
        _refuse(given, "a --model")
    return ProcessorOptions(
        model=args.model, method=method, params=params, task=task, sigma=shared.get("sigma"),
        scale=shared.get("scale"), tile=args.tile, overlap=args.overlap, batch_size=args.batch_size,
        whole_pixels=args.whole_pixels, info=tuple(args.info),
        providers=tuple(args.providers) if args.providers else None, threads=args.threads,
        color_order=color_order)


def _refuse(given: dict[str, Any], what: str) -> None:
    if given:
        owners = {name: [f"{m.name} ({m.task})" for m in REGISTRY if name in {f.name for f in m.fields()}]
                  for name in given}
        raise ImgenError("; ".join(f"{_flag(n)} is an option of {', '.join(o)}" for n, o in owners.items())
                         + f", not of {what}")
