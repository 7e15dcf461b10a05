"""Tests-only stand-in (tests/stubs/README.md)."""
from . import functional  # noqa: F401
