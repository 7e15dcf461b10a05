"""Printing a batch's Summary: its lines to stderr, its exit code back to the command."""
from __future__ import annotations

import sys
from typing import Sequence

from ..batch import Summary


def print_summary(summary: Summary, problems: Sequence[str] = ()) -> int:
    """Print the outcome to stderr; return the exit code (see Summary.report)."""
    lines, code = summary.report(problems)
    for line in lines:
        print(line, file=sys.stderr)
    return code


def announce(line: str) -> None:
    """A progress line of the CLI's own (stderr)."""
    print(f"imgen: {line}", file=sys.stderr)
