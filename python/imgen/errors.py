"""Exceptions raised by imgen."""
from __future__ import annotations


class ImgenError(Exception):
    """Base class of imgen's own errors."""


class ModelError(ImgenError, ValueError):
    """A model file is missing, unreadable, has bad metadata, or does not fit the input."""


class MissingExtraError(ImgenError, ImportError):
    """An optional package is not installed; the message names the extra that brings it."""


class RuntimeMissingError(MissingExtraError):
    """ONNX Runtime is not installed."""


def require(module: str, *, purpose: str, extra: str, package: str | None = None, install: str | None = None,
            error: type[MissingExtraError] = MissingExtraError):
    """Import and return ``module``, or raise ``error``: "PURPOSE needs PACKAGE: INSTALL" (PACKAGE
    defaults to the module's name, INSTALL to ``pip install 'imgen[EXTRA]'``)."""
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError as e:
        how = install or f"pip install 'imgen[{extra}]'"
        raise error(f"{purpose} needs {package or module}{_reason(e, module)}: {how}") from e


def _reason(e: ImportError, module: str) -> str:
    """" (its own import failed: ...)" when the module exists but something it needs does not."""
    missing = getattr(e, "name", None)
    return "" if missing in (None, module, module.split(".")[0]) else f" ({e})"


def error_reason(e: BaseException) -> str:
    """"Type: message" for an unexpected exception, never an empty reason: a MemoryError raised
    with no message printed as ``cannot read (MemoryError: )``."""
    text = str(e).strip()
    if text:
        return f"{type(e).__name__}: {text}"
    if isinstance(e, MemoryError):
        return "out of memory (MemoryError): the process may not have this much memory, e.g. under ulimit -v"
    return f"{type(e).__name__} (no message)"
