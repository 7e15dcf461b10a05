"""Exceptions raised by imgen."""
from __future__ import annotations


class ImgenError(Exception):
    """Base class of imgen's own errors."""


class ModelError(ImgenError, ValueError):
    """A model file is missing, unreadable, has bad metadata, or does not fit the input."""


class RuntimeMissingError(ImgenError, ImportError):
    """ONNX Runtime is not installed."""
