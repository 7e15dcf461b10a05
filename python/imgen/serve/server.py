"""Running the app on uvicorn: SIGTERM or SIGINT stop accepting connections, drain the requests in
flight (up to ``grace`` seconds) and return normally (the caller exits 0)."""
from __future__ import annotations

import contextlib
import signal
import threading

import uvicorn


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


def run_server(app, *, host: str, port: int, grace: float) -> None:
    """Serve ``app`` until SIGTERM/SIGINT, then drain for at most ``grace`` seconds."""
    from cv2.utils import logging as cv_logging

    cv_logging.setLogLevel(cv_logging.LOG_LEVEL_ERROR)  # errors only: a corrupt upload is the client's 400, not a warning line per request
    config = uvicorn.Config(app, host=host, port=port, log_level="warning", timeout_graceful_shutdown=grace)
    _DrainingServer(config).run()
