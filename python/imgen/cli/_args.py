"""Argument types and argument builders shared by the commands: a bad value is an argument error
before anything runs ("imgen run: error: argument --tile: must be an integer >= 0, got '-1'"), not
a failure per file.  Command modules take their shared arguments from here (and from
``_methods`` / ``_distributed``), never from each other."""
from __future__ import annotations

import argparse
import math
from typing import Callable

from .. import _core
from ..imageio import DEFAULT_MAX_PIXELS, IMAGE_EXTENSIONS, MAX_PIXELS_VARIABLE


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


# -- argument builders ---------------------------------------------------------------------------

def add_io_arguments(p: argparse.ArgumentParser) -> None:
    """INPUT..., -o, --ext, -q, --max-pixels: the files of every image command.  ``args.server`` is
    None unless the command takes --server (`imgen run`)."""
    p.add_argument("inputs", nargs="+", metavar="INPUT", help="image files or folders")
    p.add_argument("-o", "--output", required=True, help="output folder (or file, for a single input file)")
    p.add_argument("--ext", type=image_ext,
                   help=f"write outputs with this extension, one of {', '.join(IMAGE_EXTENSIONS)}")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    add_max_pixels_argument(p)
    p.set_defaults(server=None)


def add_max_pixels_argument(p: argparse.ArgumentParser) -> None:
    """--max-pixels N: the decompression-bomb guard of every command that reads image files."""
    p.add_argument("--max-pixels", type=pixel_count, metavar="N",
                   help=f"refuse images of more than N pixels, read from the file's header before decoding "
                        f"(default ${MAX_PIXELS_VARIABLE} or {DEFAULT_MAX_PIXELS:,}; above 2**30 also set "
                        f"OPENCV_IO_MAX_IMAGE_PIXELS in the environment, or set {MAX_PIXELS_VARIABLE})")


def add_tiling_arguments(p: argparse.ArgumentParser, *,
                         threads_help: str = "onnxruntime threads (default: all cores)",
                         whole_pixels: bool = True, info: bool = True) -> None:
    """--tile, --overlap, [--whole-pixels], --batch-size, [--info], --providers, --threads: how a
    model runs an image (``ImageModel.__call__``) and how it is opened.  Without ``whole_pixels``
    the command's ``args.whole_pixels`` is None (the model's default)."""
    p.add_argument("--tile", type=nonnegative_int,
                   help="tile size in pixels (0 = never tile; default from the model, else 512)")
    p.add_argument("--overlap", type=nonnegative_int, help="tile overlap in pixels (default from the model, else 64)")
    if whole_pixels:
        p.add_argument("--whole-pixels", type=positive_int, metavar="N",
                       help="instance-norm models (imgen.norm_stats): images of up to N pixels run whole, larger "
                            "ones in tiles fed the statistics of a copy downscaled to N pixels (default 1048576 = "
                            "1024x1024)")
    else:
        p.set_defaults(whole_pixels=None)
    p.add_argument("--batch-size", type=positive_int,
                   help="images or tiles per model run (default: about four 512x512 inputs' worth, counted at the "
                        "output size; out of memory, imgen retries one tile at a time, then with smaller tiles)")
    if info:
        add_info_argument(p)
    p.add_argument("--providers", nargs="+", help="execution providers (default: TensorRT > CUDA > CPU)")
    p.add_argument("--threads", type=thread_count, help=threads_help)
