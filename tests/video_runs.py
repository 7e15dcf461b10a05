"""Helpers for the video tests: a pass-through processor, and the temporary files a run left."""
from __future__ import annotations

from pathlib import Path


def identity(frames):
    return [f.copy() for f in frames]


def leftovers(folder: Path) -> list[str]:
    """Temporary files a run left behind (they start with a dot)."""
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("."))
