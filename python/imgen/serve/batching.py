"""Dynamic batching: concurrent requests with the same key (model options, image shape, dtype)
are run as one call of a ``list[HWC] -> list[HWC]`` function, off the event loop.

A batch runs when it holds ``max_batch`` images or ``max_delay`` seconds after its first image
came, whichever is first.  At most ``sessions`` batches run at once; more than ``max_queue``
images waiting or running raises QueueFull (the app's 503).

An image counts (``depth``) until its run has finished or it was dropped unstarted: a caller
cancelled while its image waits (a timeout, a client gone) takes it out of its batch; a caller
cancelled while its image runs waits for that run to end before the cancellation goes on, so
whoever holds the caller's admission holds it while the work goes on.
"""
from __future__ import annotations

import asyncio
import os
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Callable, Hashable, Sequence

import numpy as np

Run = Callable[[Sequence[np.ndarray]], list[np.ndarray]]


#: The niceness of the threads that compute, decode and encode: 19, the lowest CPU priority, so on
#: a saturated machine the event-loop thread (health, metrics, admission) is scheduled first.  At
#: +5 (a weight of 335 against the loop's 1024) a few runnable worker threads together outweighed the
#: loop: in the abuse run at load 9-13 on 2 cores it waited 4.5-11 s for a core in 30 s and /healthz
#: p99 was 19-65 ms; at 19 (weight 15) it waited ~2 s and p99 was 18-22 ms (BENCHMARKS.md, imgen serve).
COMPUTE_NICENESS = 19


def background_priority() -> None:
    """Lower this worker thread's CPU priority to :data:`COMPUTE_NICENESS` (Linux, where niceness is
    per thread; a no-op elsewhere)."""
    try:
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), COMPUTE_NICENESS)
    except (AttributeError, OSError):
        pass


class QueueFull(Exception):
    """More images are waiting than the batcher takes (``max_queue``)."""


class _Entry:
    __slots__ = ("image", "future", "state", "finished")

    def __init__(self, image: np.ndarray, future: asyncio.Future):
        self.image, self.future = image, future
        self.state = "pending"  # -> "flushed" (in a batch waiting for a session) -> "running" -> "done"
        self.finished = asyncio.Event()


class Batcher:
    """Groups ``submit(key, run, image)`` calls into batches; ``on_batch(size)`` sees each batch size."""

    def __init__(self, *, max_batch: int = 8, max_delay: float = 0.005, max_queue: int = 64, sessions: int = 1,
                 on_batch: Callable[[int], None] | None = None):
        if max_batch < 1 or max_queue < 1 or sessions < 1 or max_delay < 0:
            raise ValueError("max_batch, max_queue and sessions must be >= 1 and max_delay >= 0")
        self.max_batch, self.max_delay, self.max_queue = max_batch, max_delay, max_queue
        self._pending: dict[Hashable, list[_Entry]] = {}
        self._runs: dict[Hashable, Run] = {}
        self._timers: dict[Hashable, asyncio.TimerHandle] = {}
        self._sessions = asyncio.Semaphore(sessions)
        self._pool = ThreadPoolExecutor(max_workers=sessions, thread_name_prefix="imgen-serve",
                                        initializer=background_priority)
        self._on_batch = on_batch
        self.depth = 0  # images waiting or running

    async def submit(self, key: Hashable, run: Run, image: np.ndarray) -> np.ndarray:
        """The image ``run`` gives for ``image``, run in a batch with others of the same ``key``."""
        if self.depth >= self.max_queue:
            raise QueueFull(f"{self.depth} images are queued, the limit is {self.max_queue}")
        loop = asyncio.get_running_loop()
        entry = _Entry(image, loop.create_future())
        self.depth += 1
        group = self._pending.setdefault(key, [])
        self._runs[key] = run
        group.append(entry)
        if len(group) >= self.max_batch:
            self._flush(key)
        elif len(group) == 1:
            self._timers[key] = loop.call_later(self.max_delay, self._flush, key)
        try:
            return await entry.future
        except asyncio.CancelledError:
            if entry.state == "pending":  # never left the queue: take it out
                self._drop_pending(key, entry)
            elif entry.state == "flushed":  # in a batch waiting for a session: _run leaves it out
                self._finish(entry)
            elif entry.state == "running":  # the work goes on: so does the caller, until it ends
                while not entry.finished.is_set():
                    try:
                        await asyncio.shield(entry.finished.wait())
                    except asyncio.CancelledError:
                        continue
            raise

    def _drop_pending(self, key: Hashable, entry: _Entry) -> None:
        group = self._pending.get(key, [])
        if entry in group:
            group.remove(entry)
            if not group:
                self._pending.pop(key, None)
                self._runs.pop(key, None)
                timer = self._timers.pop(key, None)
                if timer is not None:
                    timer.cancel()
        self._finish(entry)

    def _finish(self, entry: _Entry) -> None:
        if entry.state != "done":
            entry.state = "done"
            self.depth -= 1
            entry.finished.set()

    def _flush(self, key: Hashable) -> None:
        timer = self._timers.pop(key, None)
        if timer is not None:
            timer.cancel()
        group = self._pending.pop(key, [])
        run = self._runs.pop(key, None)
        for entry in group:
            entry.state = "flushed"
        if group:
            asyncio.get_running_loop().create_task(self._run(run, group))

    async def _run(self, run: Run, group: list[_Entry]) -> None:
        try:
            async with self._sessions:
                live = [e for e in group if e.state == "flushed"]
                if not live:
                    return
                for entry in live:
                    entry.state = "running"
                if self._on_batch is not None:
                    self._on_batch(len(live))
                loop = asyncio.get_running_loop()
                try:
                    outs = await loop.run_in_executor(self._pool, run, [e.image for e in live])
                except Exception as e:
                    if len(live) == 1:
                        _settle(live[0].future, error=e)
                        return
                    # one bad image must not fail its batch-mates: run each alone, each gets its own answer
                    for entry in live:
                        try:
                            _settle(entry.future, (await loop.run_in_executor(self._pool, run, [entry.image]))[0])
                        except Exception as e1:
                            _settle(entry.future, error=e1)
                        finally:
                            self._finish(entry)
                    return
                for entry, out in zip(live, outs):
                    _settle(entry.future, out)
        finally:
            for entry in group:
                self._finish(entry)

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)


def _settle(future: asyncio.Future, result=None, *, error: BaseException | None = None) -> None:
    if not future.done():  # a caller that gave up has cancelled its future
        if error is not None:
            future.set_exception(error)
        else:
            future.set_result(result)
