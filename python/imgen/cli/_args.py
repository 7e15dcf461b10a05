"""Argument types shared by the commands: a bad value is an argument error before anything runs
("imgen run: error: argument --tile: must be an integer >= 0, got '-1'"), not a failure per file."""
from __future__ import annotations

import argparse
import math
from typing import Callable

from .. import _core
from ..imageio import IMAGE_EXTENSIONS


def _number(convert: Callable[[str], float], kind: str, test: Callable[[float], bool], bound: str,
            hint: str = "") -> Callable[[str], float]:
    def parse(text: str):
        try:
            value = convert(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be {kind} {bound}{hint}, got {text!r}") from None
        if not (math.isfinite(value) and test(value)):
            raise argparse.ArgumentTypeError(f"must be {kind} {bound}{hint}, got {text!r}")
        return value

    return parse


positive_int = _number(int, "an integer", lambda v: v >= 1, ">= 1")
nonnegative_int = _number(int, "an integer", lambda v: v >= 0, ">= 0")
positive_float = _number(float, "a finite number", lambda v: v > 0, "> 0")
nonnegative_float = _number(float, "a finite number", lambda v: v >= 0, ">= 0")
_level_255 = _number(float, "a finite number", lambda v: 0 <= v <= 255, "in [0, 255]", " (the 0-255 scale)")


def sigma_255(text: str) -> float:
    """--sigma as users give it, on the 0-255 scale whatever the file's bit depth (the papers'
    unit), converted here, once, into the library's unit: a fraction of the full range."""
    return _level_255(text) / 255.0


def info_entry(text: str) -> tuple[str, str]:
    """--info KEY=VALUE: one imgen metadata entry (key without the ``imgen.`` prefix)."""
    key, sep, value = text.partition("=")
    key = key.strip().removeprefix("imgen.")
    if not sep or not key or not value.strip():
        raise argparse.ArgumentTypeError(f"must be KEY=VALUE, an imgen metadata entry such as noise_input=sigma "
                                         f"or scale=4, got {text!r}")
    return key, value.strip()


def add_info_argument(p: argparse.ArgumentParser) -> None:
    """--info KEY=VALUE (repeatable), for every command that opens a model."""
    p.add_argument("--info", type=info_entry, action="append", default=[], metavar="KEY=VALUE",
                   help="model metadata that overrides or supplies the file's (repeatable), e.g. "
                        "--info noise_input=sigma --info scale=4; keys as in docs/model-format.md")


thread_count = _number(int, "an integer", lambda v: 1 <= v <= _core.MAX_THREADS, f">= 1 and <= {_core.MAX_THREADS}",
                       " (leave --threads out for all cores)")



def pixel_count(text: str) -> int:
    """A whole number of pixels > 0, written as an int or in e-notation ("1e9")."""
    try:
        value = float(text)
    except ValueError:
        value = 0.0
    if not (math.isfinite(value) and value >= 1 and value == int(value)):
        raise argparse.ArgumentTypeError(f"must be a whole number of pixels > 0 (e.g. 1e9), got {text!r}")
    return int(value)


def image_ext(text: str) -> str:
    """An output extension imgen can write (".png" or "png"); returned with its dot."""
    ext = text if text.startswith(".") else "." + text
    if ext.lower() not in IMAGE_EXTENSIONS:
        raise argparse.ArgumentTypeError(f"unknown image extension {text!r} (use one of {', '.join(IMAGE_EXTENSIONS)})")
    return ext


class AtLeast(argparse.Action):
    """nargs="+" with a minimum count: ``action=AtLeast, nargs="+", const=2``."""

    def __call__(self, parser, namespace, values, option_string=None):
        if len(values) < self.const:
            raise argparse.ArgumentError(
                self, f"needs at least {self.const} values, got {len(values)} ({' '.join(map(str, values))})")
        setattr(namespace, self.dest, values)
