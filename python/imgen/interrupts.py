"""SIGTERM stops imgen the way Ctrl+C does.

While a command runs, SIGTERM raises :class:`Terminated` (a KeyboardInterrupt) in the main thread,
so every clean-up written for Ctrl+C runs for it too: a video is finalised into a playable
``OUTPUT.partial.EXT``, a folder run stops between files and prints its summary, temporary files
are removed.  Exit status: 130 after Ctrl+C, 143 after SIGTERM (128 + the signal's number).
"""
from __future__ import annotations

import signal
import threading
from contextlib import contextmanager
from typing import Iterator


class Terminated(KeyboardInterrupt):
    """SIGTERM was received (raised in the main thread, like Ctrl+C's KeyboardInterrupt)."""


def stop_reason(e: BaseException) -> str:
    """"SIGTERM" if ``e`` is, or was raised while handling or because of, a :class:`Terminated`;
    else "Ctrl+C"."""
    seen: set[int] = set()
    current: BaseException | None = e
    while current is not None and id(current) not in seen:
        if isinstance(current, Terminated):
            return "SIGTERM"
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return "Ctrl+C"


def exit_status(reason: str) -> int:
    """130 for Ctrl+C, 143 for SIGTERM (the shell's 128 + signal number)."""
    return 128 + (signal.SIGTERM if reason == "SIGTERM" else signal.SIGINT)


def stopped_words(reason: str) -> str:
    """How the report says it: "interrupted (Ctrl+C)" or "terminated (SIGTERM)"."""
    return "terminated (SIGTERM)" if reason == "SIGTERM" else "interrupted (Ctrl+C)"


@contextmanager
def sigterm_as_interrupt() -> Iterator[None]:
    """Within the block, the first SIGTERM raises Terminated in the main thread; later ones are
    ignored so that the clean-up finishes.  The previous handler is restored afterwards.  Does
    nothing outside the main thread (signal handlers can only be set there)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    received = []

    def on_sigterm(signum, frame):
        if not received:
            received.append(signum)
            raise Terminated()

    previous = signal.signal(signal.SIGTERM, on_sigterm)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous if previous is not None else signal.SIG_DFL)
