"""imgen.interrupts: SIGTERM raised as Terminated (a KeyboardInterrupt) in the main thread, how a stop
is named and its exit status.  The signal is sent to this process only inside the handler's block."""
from __future__ import annotations

import os
import signal
import threading
import time

import pytest

from imgen.interrupts import Terminated, exit_status, sigterm_as_interrupt, stop_reason, stopped_words


def test_terminated_is_a_keyboard_interrupt():
    assert issubclass(Terminated, KeyboardInterrupt)


def test_stop_reason_looks_through_causes_and_contexts():
    assert stop_reason(KeyboardInterrupt()) == "Ctrl+C"
    assert stop_reason(Terminated()) == "SIGTERM"
    try:
        try:
            raise Terminated()
        except KeyboardInterrupt as e:
            raise RuntimeError("clean-up failed") from e
    except RuntimeError as e:
        assert stop_reason(e) == "SIGTERM"  # __cause__
    try:
        try:
            raise Terminated()
        except KeyboardInterrupt:
            raise KeyboardInterrupt("while handling it")  # noqa: B904
    except KeyboardInterrupt as e:
        assert stop_reason(e) == "SIGTERM"  # __context__
    a, b = KeyboardInterrupt(), KeyboardInterrupt()
    a.__context__, b.__context__ = b, a  # a cycle ends the search
    assert stop_reason(a) == "Ctrl+C"


def test_exit_status_and_words():
    assert (exit_status("Ctrl+C"), exit_status("SIGTERM")) == (130, 143)
    assert stopped_words("Ctrl+C") == "interrupted (Ctrl+C)"
    assert stopped_words("SIGTERM") == "terminated (SIGTERM)"


def test_sigterm_raises_terminated_once_and_the_handler_is_restored():
    before = signal.getsignal(signal.SIGTERM)
    cleaned = []
    with pytest.raises(Terminated):
        with sigterm_as_interrupt():
            assert signal.getsignal(signal.SIGTERM) is not before
            try:
                os.kill(os.getpid(), signal.SIGTERM)
                time.sleep(5)  # the handler raises at the next bytecode, well before this ends
                pytest.fail("SIGTERM did not interrupt")
            finally:
                os.kill(os.getpid(), signal.SIGTERM)  # a second one is ignored: the clean-up finishes
                time.sleep(0.05)
                cleaned.append(True)
    assert cleaned == [True]
    assert signal.getsignal(signal.SIGTERM) is before


def test_the_previous_handler_is_restored_after_a_clean_block():
    received = []

    def mine(signum, frame):
        received.append(signum)

    previous = signal.signal(signal.SIGTERM, mine)
    try:
        with sigterm_as_interrupt():
            pass
        assert signal.getsignal(signal.SIGTERM) is mine
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(0.05)
        assert received == [signal.SIGTERM]
    finally:
        signal.signal(signal.SIGTERM, previous)


def test_outside_the_main_thread_it_does_nothing():
    before = signal.getsignal(signal.SIGTERM)
    seen, errors = [], []

    def worker():
        try:
            with sigterm_as_interrupt():
                seen.append(signal.getsignal(signal.SIGTERM))
        except BaseException as e:  # noqa: BLE001 - reported below
            errors.append(e)

    t = threading.Thread(target=worker)
    t.start()
    t.join()
    assert errors == [] and seen == [before]
