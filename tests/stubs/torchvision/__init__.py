"""Tests-only stand-in for torchvision (see tests/stubs/README.md); never shipped."""
__version__ = "0.0.0+imgen-tests-stub"
