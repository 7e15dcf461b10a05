#!/usr/bin/env python3
"""Print one of README.md's two set-up commands, exactly as written, for .ci/run to execute.

    python3 .ci/setup_commands.py main|tests [README.md]

The commands are the ```bash blocks under "## Set up": the first installs and runs the main job,
the second installs and runs the tests.  Exits 2 (and says why) unless there are exactly two.
"""
from __future__ import annotations

import re
import sys
from pathlib import Path

ROLES = ("main", "tests")


def setup_commands(readme: str) -> list[str]:
    """The fenced bash/sh blocks of the README's "## Set up" section, stripped."""
    if "\n## Set up" not in "\n" + readme:
        return []
    section = readme.split("## Set up", 1)[1].split("\n## ", 1)[0]
    return [c.strip() for c in re.findall(r"```(?:bash|sh)\n(.*?)\n```", section, re.S)]


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in ROLES:
        print(f"usage: setup_commands.py {'|'.join(ROLES)} [README.md]", file=sys.stderr)
        return 2
    path = Path(argv[1]) if len(argv) > 1 else Path(__file__).resolve().parent.parent / "README.md"
    commands = setup_commands(path.read_text())
    if len(commands) != 2:
        print(f"{path}: expected exactly two set-up commands under '## Set up', found {len(commands)}",
              file=sys.stderr)
        return 2
    print(commands[ROLES.index(argv[0])])
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
