"""Dynamic batching: concurrent requests with the same key (model options, image shape, dtype)
are run as one call of a ``list[HWC] -> list[HWC]`` function, off the event loop.

A batch runs when it holds ``max_batch`` images or ``max_delay`` seconds after its first image
came, whichever is first.  At most ``sessions`` batches run at once; more than ``max_queue``
images waiting or running raises QueueFull (the app's 503).
"""
from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from typing import Callable, Hashable, Sequence

import numpy as np

Run = Callable[[Sequence[np.ndarray]], list[np.ndarray]]


class QueueFull(Exception):
    """More images are waiting than the batcher takes (``max_queue``)."""


class Batcher:
    """Groups ``submit(key, run, image)`` calls into batches; ``on_batch(size)`` sees each batch size."""

    def __init__(self, *, max_batch: int = 8, max_delay: float = 0.005, max_queue: int = 64, sessions: int = 1,
                 on_batch: Callable[[int], None] | None = None):
        if max_batch < 1 or max_queue < 1 or sessions < 1 or max_delay < 0:
            raise ValueError("max_batch, max_queue and sessions must be >= 1 and max_delay >= 0")
        self.max_batch, self.max_delay, self.max_queue = max_batch, max_delay, max_queue
        self._pending: dict[Hashable, list[tuple[np.ndarray, asyncio.Future]]] = {}
        self._runs: dict[Hashable, Run] = {}
        self._timers: dict[Hashable, asyncio.TimerHandle] = {}
        self._sessions = asyncio.Semaphore(sessions)
        self._pool = ThreadPoolExecutor(max_workers=sessions, thread_name_prefix="imgen-serve")
        self._on_batch = on_batch
        self.depth = 0  # images waiting or running

    async def submit(self, key: Hashable, run: Run, image: np.ndarray) -> np.ndarray:
        """The image ``run`` gives for ``image``, run in a batch with others of the same ``key``."""
        if self.depth >= self.max_queue:
            raise QueueFull(f"{self.depth} images are queued, the limit is {self.max_queue}")
        loop = asyncio.get_running_loop()
        future = loop.create_future()
        self.depth += 1
        try:
            group = self._pending.setdefault(key, [])
            self._runs[key] = run
            group.append((image, future))
            if len(group) >= self.max_batch:
                self._flush(key)
            elif len(group) == 1:
                self._timers[key] = loop.call_later(self.max_delay, self._flush, key)
            return await future
        finally:
            self.depth -= 1

    def _flush(self, key: Hashable) -> None:
        timer = self._timers.pop(key, None)
        if timer is not None:
            timer.cancel()
        group = self._pending.pop(key, [])
        run = self._runs.pop(key, None)
        if group:
            asyncio.get_running_loop().create_task(self._run(run, group))

    async def _run(self, run: Run, group: list[tuple[np.ndarray, asyncio.Future]]) -> None:
        async with self._sessions:
            if self._on_batch is not None:
                self._on_batch(len(group))
            loop = asyncio.get_running_loop()
            try:
                outs = await loop.run_in_executor(self._pool, run, [g[0] for g in group])
            except Exception as e:
                if len(group) == 1:
                    _settle(group[0][1], error=e)
                    return
                # one bad image must not fail its batch-mates: run each alone, each gets its own answer
                for image, future in group:
                    try:
                        _settle(future, (await loop.run_in_executor(self._pool, run, [image]))[0])
                    except Exception as e1:
                        _settle(future, error=e1)
                return
        for (_, future), out in zip(group, outs):
            _settle(future, out)

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)


def _settle(future: asyncio.Future, result=None, *, error: BaseException | None = None) -> None:
    if not future.done():  # a request that timed out has cancelled its future
        if error is not None:
            future.set_exception(error)
        else:
            future.set_result(result)
