"""Ray's messages to a file, imgen's own to the terminal (what ``imgen ... --ray`` does without -v)."""
from __future__ import annotations

import io
import logging
import os
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

#: Ray's Python loggers (the driver's side of Ray Core and its runtime environments).
RAY_LOGGERS = ("ray",)


def default_log_path() -> Path:
    """$TMPDIR/imgen-ray-YYYYMMDD-HHMMSS-PID.log"""
    stamp = time.strftime("%Y%m%d-%H%M%S")
    return Path(tempfile.gettempdir()) / f"imgen-ray-{stamp}-{os.getpid()}.log"


@contextmanager
def ray_output_to(path: str | os.PathLike) -> Iterator[Path]:
    """Send everything written to file descriptors 1 and 2 and ``sys.stdout`` (Ray's C++ log
    lines, its child processes' output, the error messages it prints) and Ray's Python loggers
    to ``path`` (appended, created 0600) for the duration.

    ``sys.stderr`` and the logging handlers that wrote to it keep writing to the terminal, so
    imgen's progress bar, log lines and report are unchanged.  Restored on exit.
    """
    path = Path(path)
    sink = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (AttributeError, ValueError, OSError):
            pass
    saved_fd, saved_out = os.dup(2), os.dup(1)
    old_stdout = sys.stdout
    # Ray prints its error messages (a worker or node died, ...) with print() to sys.stdout.
    ray_stdout = io.TextIOWrapper(io.FileIO(os.dup(sink), "w"), encoding="utf-8", errors="backslashreplace",
                                  line_buffering=True)
    sys.stdout = ray_stdout
    old_stderr, terminal = sys.stderr, None
    moved: list[logging.StreamHandler] = []
    if _writes_to_fd2(old_stderr):
        terminal = io.TextIOWrapper(io.FileIO(os.dup(saved_fd), "w"), encoding=getattr(old_stderr, "encoding", None),
                                    errors="backslashreplace", line_buffering=True)
        sys.stderr = terminal
        for handler in logging.getLogger().handlers:
            if isinstance(handler, logging.StreamHandler) and handler.stream is old_stderr:
                handler.setStream(terminal)
                moved.append(handler)
    try:
        import ray  # noqa: F401 - Ray adds its own stderr handler to its logger on import: import first
    except ImportError:
        pass
    file_handler = logging.FileHandler(path, encoding="utf-8")
    file_handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    loggers = [logging.getLogger(name) for name in RAY_LOGGERS]
    saved_loggers = [(lg.propagate, lg.level, list(lg.handlers)) for lg in loggers]
    for lg in loggers:
        lg.handlers = [file_handler]
        lg.propagate = False
        if lg.level == logging.NOTSET or lg.level > logging.INFO:
            lg.setLevel(logging.INFO)
    os.dup2(sink, 2)
    os.dup2(sink, 1)
    try:
        yield path
    finally:
        try:
            sys.stderr.flush()
        except (ValueError, OSError):
            pass
        try:
            sys.stdout.flush()
        except (ValueError, OSError):
            pass
        os.dup2(saved_fd, 2)
        os.dup2(saved_out, 1)
        os.close(saved_fd)
        os.close(saved_out)
        sys.stdout = old_stdout
        ray_stdout.close()
        os.close(sink)
        for lg, (propagate, level, handlers) in zip(loggers, saved_loggers):
            lg.handlers = handlers
            lg.propagate, lg.level = propagate, level
        file_handler.close()
        for handler in moved:
            handler.setStream(old_stderr)
        if terminal is not None:
            sys.stderr = old_stderr
            terminal.close()


def _writes_to_fd2(stream) -> bool:
    try:
        return stream.fileno() == 2
    except (AttributeError, ValueError, OSError, io.UnsupportedOperation):
        return False
