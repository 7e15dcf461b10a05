"""The imgen command line: ``imgen <command> ...`` (also ``python -m imgen``)."""
from __future__ import annotations

import argparse
import logging
import re
import sys

from .._limits import MIN_COMMAND, require_address_space
from ..errors import ImgenError
from ..interrupts import exit_status, sigterm_as_interrupt, stop_reason, stopped_words

try:  # before the commands load OpenCV, which crashes (SIGSEGV) under a tiny ulimit -v
    require_address_space(MIN_COMMAND, "imgen")
except ImgenError as _e:
    sys.exit(f"imgen: error: {_e}")

from . import (bench, decode, denoise, encode, export, generate, import_, info, inpaint, reconstruct, restore, run,  # noqa: E402
               serve, train, translate, video)

COMMANDS = (info, run, denoise, restore, inpaint, video, translate, generate, encode, decode, reconstruct, bench, train,
            export, import_, serve)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="imgen", description="Fast image restoration and generation with ONNX models.")
    parser.add_argument("--version", action="version", version=f"imgen {_version()}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log what imgen decides")
    parser.set_defaults(passthrough=False)  # `imgen train` passes unknown arguments on (its own set_defaults)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for command in COMMANDS:
        command.add_parser(sub)
    return parser


def _version() -> str:
    from .. import __version__

    return __version__


_INFO_DICT = re.compile(r"info=\{([^{}]*)\}")
_INFO_ITEM = re.compile(r"'(\w+)': '?([^',]*)'?")


def cli_words(message: str) -> str:
    """A library message in the command line's words: ``info={'noise_input': 'sigma'}`` (the
    parameter of ``imgen.load``) becomes ``--info noise_input=sigma``."""
    return _INFO_DICT.sub(lambda m: " ".join(f"--info {k}={v}" for k, v in _INFO_ITEM.findall(m.group(1))),
                          message)


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    if extra:
        if not args.passthrough:
            parser.error(f"unrecognized arguments: {' '.join(extra)}")
        args.options = list(args.options) + extra
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, format="imgen: %(message)s")
    try:
        with sigterm_as_interrupt():  # SIGTERM stops a run the way Ctrl+C does (imgen/interrupts.py)
            return args.func(args)
    except ImgenError as e:
        print(f"imgen: error: {cli_words(str(e))}", file=sys.stderr)
        return 1
    except KeyboardInterrupt as e:
        reason = stop_reason(e)
        print(f"imgen: {stopped_words(reason)}; files already written are complete, nothing is half-written",
              file=sys.stderr)
        return exit_status(reason)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
