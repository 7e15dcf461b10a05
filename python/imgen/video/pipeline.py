"""Threaded stages joined by bounded queues: read ahead, process in batches, hand results on in order.

``pipelined`` is the engine under both :func:`process_frames` and :func:`imgen.video.process_video`:
a feeder thread pulls items from the caller's iterable (decoding, when the iterable decodes), a
worker thread runs the processor on fixed-size batches, and the consumer reads results in the
input's order.  The queues hold at most ``queue_size`` items each, so memory stays flat however
long the stream.  An exception in any stage is raised in the consumer; closing the iterator
early stops the threads.
"""
from __future__ import annotations

import logging
import queue
import threading
from typing import Callable, Iterable, Iterator, Sequence, TypeVar

import numpy as np

log = logging.getLogger("imgen")

T = TypeVar("T")
U = TypeVar("U")

DEFAULT_BATCH_SIZE = 4
DEFAULT_QUEUE_SIZE = 8
_POLL_S = 0.05
_JOIN_S = 10.0


class _End:
    """The stream ended (after ``failure``, when set)."""

    def __init__(self, failure: BaseException | None = None):
        self.failure = failure


def _put(q: queue.Queue, item, cancel: threading.Event) -> bool:
    while not cancel.is_set():
        try:
            q.put(item, timeout=_POLL_S)
            return True
        except queue.Full:
            continue
    return False


def _get(q: queue.Queue, cancel: threading.Event):
    while not cancel.is_set():
        try:
            return q.get(timeout=_POLL_S)
        except queue.Empty:
            continue
    return None


def pipelined(
    items: Iterable[T],
    process_batch: Callable[[list[T]], Sequence[U]],
    *,
    batch_size: int = DEFAULT_BATCH_SIZE,
    queue_size: int = DEFAULT_QUEUE_SIZE,
    stop: threading.Event | None = None,
    name: str = "imgen",
) -> Iterator[U]:
    """Yield ``process_batch(batch)`` results for consecutive batches of ``items``, in order.

    The iterable is read on a feeder thread and the batches processed on a worker thread,
    both ahead of the consumer by at most ``queue_size`` items.  Batches have ``batch_size``
    items (the last may be shorter).  ``process_batch`` must return one result per item.
    Setting ``stop`` ends the iteration at the next result (without an error).
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    if queue_size < 1:
        raise ValueError(f"queue_size must be >= 1, got {queue_size}")
    return _pipelined(items, process_batch, batch_size, queue_size, stop, name)


def _pipelined(items, process_batch, batch_size, queue_size, stop, name):
    cancel = threading.Event()
    inbox: queue.Queue = queue.Queue(queue_size)
    outbox: queue.Queue = queue.Queue(queue_size)

    def feed() -> None:
        iterator = iter(items)
        try:
            for item in iterator:
                if not _put(inbox, item, cancel):
                    return
            _put(inbox, _End(), cancel)
        except BaseException as e:  # handed to the consumer, KeyboardInterrupt included
            _put(inbox, _End(e), cancel)
        finally:
            close = getattr(iterator, "close", None)
            if close is not None:
                close()  # a generator's cleanup runs on the thread that ran it

    def run(batch: list) -> bool:
        try:
            results = list(process_batch(batch))
            if len(results) != len(batch):
                raise ValueError(f"the processor returned {len(results)} results for a batch of {len(batch)}")
        except BaseException as e:
            _put(outbox, _End(e), cancel)
            return False
        return all(_put(outbox, r, cancel) for r in results)

    def work() -> None:
        batch: list = []
        while True:
            item = _get(inbox, cancel)
            if item is None:
                return
            if isinstance(item, _End):
                if batch and not run(batch):
                    return
                _put(outbox, item, cancel)
                return
            batch.append(item)
            if len(batch) == batch_size:
                if not run(batch):
                    return
                batch = []

    threads = [threading.Thread(target=feed, name=f"{name}-read", daemon=True),
               threading.Thread(target=work, name=f"{name}-process", daemon=True)]
    for t in threads:
        t.start()
    try:
        while True:
            try:
                result = outbox.get(timeout=_POLL_S)
            except queue.Empty:
                if stop is not None and stop.is_set():
                    return
                continue
            if isinstance(result, _End):
                if result.failure is not None:
                    raise result.failure
                return
            yield result
            if stop is not None and stop.is_set():
                return
    finally:
        cancel.set()
        for t in threads:
            t.join(_JOIN_S)
            if t.is_alive():
                log.warning("%s is still busy (a long batch or a blocked input); left to finish on its own", t.name)


def process_frames(
    frames: Iterable[np.ndarray],
    processor: Callable[[list[np.ndarray]], Sequence[np.ndarray]],
    *,
    batch_size: int = DEFAULT_BATCH_SIZE,
    queue_size: int = DEFAULT_QUEUE_SIZE,
) -> Iterator[np.ndarray]:
    """Run ``processor`` over a stream of frames, pipelined; yield the results in order.

    frames: any iterable of HWC numpy images ((H, W) or (H, W, C); uint8, uint16 or float32 in
        [0, 1], whatever the processor takes).  It is read on a background thread, so a decoder
        behind it overlaps with processing.
    processor: ``list[ndarray] -> list[ndarray]``, one output per input, e.g.
        :func:`imgen.video.make_processor`'s result or an `imgen.Model` bound with
        ``functools.partial``.  It runs on one worker thread on batches of ``batch_size``
        frames (the last batch may be shorter).
    queue_size: frames buffered before and after the processor (memory stays bounded).

    Yields one processed frame per input frame, in input order.  An exception raised by the
    iterable or the processor is raised here; closing the iterator early (``break``,
    ``.close()``) stops the background threads.
    """
    if not callable(processor):
        raise TypeError(f"processor must be a callable list[ndarray] -> list[ndarray], got {type(processor).__name__}")
    return pipelined(frames, processor, batch_size=batch_size, queue_size=queue_size, name="imgen-frames")
