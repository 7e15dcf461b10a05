"""The error a checkpoint-layout detector raises (shared by import_checkpoint and import_generative)."""
from __future__ import annotations


class Mismatch(ValueError):
    """A detector's layout matched the key names but not the shapes."""
