"""Running the app on uvicorn: SIGTERM or SIGINT stop accepting connections, drain the requests in
flight (up to ``grace`` seconds) and return normally (the caller exits 0).

Connections are capped (``max_connections``: uvicorn's ``limit_concurrency``; requests beyond it get
503) and a connection has ``header_timeout`` seconds to send a request's headers, on opening and
after each reply; a slow one is answered 408 and closed, so slowloris clients cannot hold
descriptors.  Bodies have their own deadline in the app (``Limits.read_timeout``)."""
from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import threading

import uvicorn
from uvicorn.protocols.http.auto import AutoHTTPProtocol

from .batching import COMPUTE_NICENESS

log = logging.getLogger("imgen")
_TIMEOUT_REPLY = b"HTTP/1.1 408 Request Timeout\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"


class _DrainingServer(uvicorn.Server):
    """uvicorn's server, minus re-raising the stopping signal once drained (which would exit 143)."""

    @contextlib.contextmanager
    def capture_signals(self):
        if threading.current_thread() is not threading.main_thread():
            yield
            return
        original = {sig: signal.signal(sig, self.handle_exit) for sig in (signal.SIGINT, signal.SIGTERM)}
        try:
            yield
        finally:
            for sig, handler in original.items():
                signal.signal(sig, handler)


def header_deadline_protocol(seconds: float, base: type[asyncio.Protocol] = AutoHTTPProtocol) -> type:
    """uvicorn's HTTP protocol (httptools or h11) with a deadline for each request's headers."""

    class HeaderDeadline(base):  # type: ignore[misc, valid-type]
        _timer: asyncio.TimerHandle | None = None
        _armed_for = None

        def connection_made(self, transport) -> None:
            super().connection_made(transport)
            self._arm()

        def data_received(self, data: bytes) -> None:
            super().data_received(data)
            if self._timer is not None and self.cycle is not self._armed_for:  # a request's headers are in
                self._disarm()

        def on_response_complete(self) -> None:
            super().on_response_complete()
            self._arm()

        def connection_lost(self, exc) -> None:
            self._disarm()
            super().connection_lost(exc)

        def _idle(self) -> bool:
            return self.cycle is None or self.cycle.response_complete

        def _arm(self) -> None:
            self._disarm()
            if self._idle() and not self.transport.is_closing():
                self._armed_for = self.cycle
                self._timer = self.loop.call_later(seconds, self._expired)

        def _disarm(self) -> None:
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None

        def _expired(self) -> None:
            self._timer = None
            if self._idle() and self.cycle is self._armed_for and not self.transport.is_closing():
                self.transport.write(_TIMEOUT_REPLY)
                self.transport.close()

    HeaderDeadline.__name__ = f"HeaderDeadline{base.__name__}"
    return HeaderDeadline


def lower_other_threads(niceness: int = COMPUTE_NICENESS) -> int:
    """Lower the CPU priority of every thread of this process but the calling one (the event loop's):
    onnxruntime's and imgen's compute pools, started when the models loaded.  Threads started later
    by these inherit it; the app's own pools lower theirs (``batching.background_priority``).  So
    on a saturated machine health checks and admission are scheduled before the number crunching.
    Linux only (niceness is per thread there); returns how many threads were lowered."""
    import os

    me, lowered = threading.get_native_id(), 0
    try:
        tids = [int(t) for t in os.listdir("/proc/self/task")]
    except OSError:
        return 0
    for tid in tids:
        if tid == me:
            continue
        try:
            os.setpriority(os.PRIO_PROCESS, tid, max(niceness, os.getpriority(os.PRIO_PROCESS, tid)))
            lowered += 1
        except OSError:  # the thread ended meanwhile
            pass
    return lowered


def run_server(app, *, host: str, port: int, grace: float, max_connections: int | None = 512,
               header_timeout: float = 10.0) -> None:
    """Serve ``app`` until SIGTERM/SIGINT, then drain for at most ``grace`` seconds."""
    from cv2.utils import logging as cv_logging

    cv_logging.setLogLevel(cv_logging.LOG_LEVEL_ERROR)  # errors only: a corrupt upload is the client's 400, not a warning line per request
    config = uvicorn.Config(app, host=host, port=port, log_level="warning", timeout_graceful_shutdown=grace,
                            limit_concurrency=max_connections, http=header_deadline_protocol(header_timeout))
    lowered = lower_other_threads()
    log.debug("lowered the priority of %d compute threads", lowered)
    _DrainingServer(config).run()
