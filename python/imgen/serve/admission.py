"""Admission: how many images a model may hold and how much memory the server may spend on them.

A request is admitted before its image is decoded and holds its :class:`Ticket` until every piece
of work done for it (decoding, the model run, encoding) has finished or been dropped unstarted, so a
caller that timed out or went away still counts while its image runs.  Two limits:

- ``max_queue`` images per model (queued, decoding, running or encoding);
- ``budget`` bytes in all: each image needs its method's working bytes per pixel and channel
  (:data:`WORKING_BYTES`, measured by ``benchmarks/speed/bench_serve_memory.py``) plus the server's own
  copies (body, decoded image, output, reply).  A request that could never fit is refused outright.
"""
from __future__ import annotations

import ctypes
import ctypes.util
import gc
import logging
import os
from dataclasses import dataclass

log = logging.getLogger("imgen")

@dataclass(frozen=True)
class Working:
    """Peak working memory of one run over the process's RSS before it (uint8 input): ``per_pixel``
    bytes per pixel and channel when the image runs whole; a model that tiles large images (its
    default tiling) needs at most ``tiled_base + tiled_per_pixel`` per pixel and channel."""

    per_pixel: int
    tiled_base: int | None = None
    tiled_per_pixel: int = 0

    def bytes(self, values: int, *, tiled: bool) -> int:
        whole = self.per_pixel * values
        if tiled and self.tiled_base is not None:
            return min(whole, self.tiled_base + self.tiled_per_pixel * values)
        return whole


#: Measured by benchmarks/speed/bench_serve_memory.py (BENCHMARKS.md, "imgen serve" › "Working memory per
#: pixel"), rounded up: wavelet 13.9 / 12.1 bytes per pixel and channel (gray / colour), bm3d 16.0 /
#: 16.9; the shipped denoise-gray 162 whole (gray 1024 x 1024), 189 (colour 512 x 512, three planes),
#: and 174 MiB at gray 2048 x 2048 where it tiles (slope 4.4 bytes).  Models not listed take
#: MODEL_DEFAULT, scaled by their scale factor squared (an upscaler's output is larger).
WORKING = {"wavelet": Working(16), "bm3d": Working(20), "denoise-gray": Working(192, 208 << 20, 8)}
MODEL_DEFAULT = WORKING["denoise-gray"]
#: The default budget: this fraction of the machine's (or the cgroup's) memory.
BUDGET_FRACTION = 0.5


def machine_memory() -> int:
    """Bytes of memory this process may use: the cgroup's limit if set, else the machine's."""
    total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    for path in ("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"):
        try:
            with open(path) as f:
                text = f.read().strip()
        except OSError:
            continue
        if text.isdigit() and 0 < int(text) < total:
            total = int(text)
    return total


def default_budget() -> int:
    return int(machine_memory() * BUDGET_FRACTION)


def working_for(name: str, kind: str) -> Working:
    """The working memory of the served ``name`` (``kind``: "classical" or "model")."""
    if name in WORKING:
        return WORKING[name]
    if kind == "model":
        return MODEL_DEFAULT
    return max(WORKING.values(), key=lambda w: w.per_pixel)


def estimate(working: Working, height: int, width: int, channels: int, itemsize: int, body: int, *,
             tiled: bool = True, scale: int = 1) -> int:
    """Bytes one image needs: the run's working memory, the decoded image, the output and the
    encoded reply (at most the output's raw size) at the image's itemsize, and the body."""
    values = height * width * channels
    area = scale * scale
    return working.bytes(values, tiled=tiled) * area + values * itemsize * (1 + 2 * area) + body


class Rejected(Exception):
    """Not admitted: ``status`` 503 (busy now: retry) or 413 (could never fit); ``kind`` for metrics."""

    def __init__(self, status: int, kind: str, message: str):
        super().__init__(message)
        self.status, self.kind = status, kind


@dataclass
class Ticket:
    admission: "Admission"
    model: str
    nbytes: int
    released: bool = False

    def release(self) -> None:
        if not self.released:
            self.released = True
            self.admission._release(self)


class Admission:
    """Counts per model and bytes in all; used from the event loop only (no locks).  ``on_idle``
    is called each time the last ticket is released (the app trims the heap then)."""

    def __init__(self, *, max_queue: int, budget: int, on_idle=None):
        if max_queue < 1 or budget < 1:
            raise ValueError("max_queue and budget must be >= 1")
        self.max_queue, self.budget = max_queue, budget
        self._depth: dict[str, int] = {}
        self.reserved = 0
        self.peak = 0  # the most reserved at once since the owner last reset it
        self._on_idle = on_idle

    def depth(self, model: str | None = None) -> int:
        """Images admitted and not yet finished or dropped (for ``model``, or all)."""
        return sum(self._depth.values()) if model is None else self._depth.get(model, 0)

    def admit(self, model: str, nbytes: int) -> Ticket:
        """A ticket for one image needing ``nbytes``, or Rejected."""
        depth = self._depth.get(model, 0)
        if depth >= self.max_queue:
            raise Rejected(503, "queue_full", f"server busy: {depth} images are queued or running for {model!r}, "
                                              f"the limit is {self.max_queue} (max_queue; command line: --max-queue); retry later")
        self._check(nbytes, nbytes)
        self._depth[model] = depth + 1
        self.reserved += nbytes
        self.peak = max(self.peak, self.reserved)
        return Ticket(self, model, nbytes)

    def resize(self, ticket: Ticket, nbytes: int) -> None:
        """Change what ``ticket`` reserves once the image's size is known (Rejected when it grows
        past what is free, or past the whole budget)."""
        grow = nbytes - ticket.nbytes
        self._check(nbytes, grow)
        self.reserved += grow
        self.peak = max(self.peak, self.reserved)
        ticket.nbytes = nbytes

    def _check(self, nbytes: int, grow: int) -> None:
        if nbytes > self.budget:
            raise Rejected(413, "over_memory_budget",
                           f"this image needs about {_mib(nbytes)} of working memory, over the server's memory "
                           f"budget of {_mib(self.budget)} (memory_budget; command line: --memory-budget); send a smaller image or use tiles")
        if grow > 0 and self.reserved + grow > self.budget:
            raise Rejected(503, "memory_busy",
                           f"server busy: this image needs about {_mib(nbytes)} and {_mib(self.reserved)} of the "
                           f"memory budget of {_mib(self.budget)} (memory_budget; command line: --memory-budget) is in use; retry later")

    def _release(self, ticket: Ticket) -> None:
        self._depth[ticket.model] -= 1
        self.reserved -= ticket.nbytes
        if self._on_idle is not None and self.depth() == 0:
            self._on_idle()


def _mib(n: int) -> str:
    return f"{n / (1 << 20):,.0f} MiB" if n >= 1 << 20 else f"{n:,} bytes"


_libc = None


def _glibc():
    global _libc
    if _libc is None:
        try:
            _libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
            _libc.malloc_trim.argtypes = [ctypes.c_size_t]
            _libc.mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
        except (OSError, AttributeError):
            _libc = False
    return _libc


def one_heap() -> bool:
    """Have every thread allocate from glibc's main heap (``mallopt(M_ARENA_MAX, 1)``), before the
    server starts its threads: each thread's own arena kept 20-40 MB after a 16-Mpixel image that
    ``malloc_trim`` did not return (benchmarks: RSS after a burst), while one heap gives it all back.
    The kernels allocate large buffers rarely, so the shared lock costs nothing measurable (bm3d
    512x512 0.52-0.58 s and wavelet 3000x3000 0.25-0.40 s either way on the 2-core VM).  False
    where there is no glibc."""
    libc = _glibc()
    return bool(libc) and libc.mallopt(-8, 1) == 1  # M_ARENA_MAX


def trim_heap() -> None:
    """Free what the last burst left behind: collect reference cycles (an exception's traceback keeps
    its frames' images alive until the cyclic collector runs), then hand freed heap pages back to the
    system (glibc ``malloc_trim``), so RSS falls back near its idle level; a no-op for the latter
    elsewhere."""
    gc.collect()
    libc = _glibc()
    if libc:
        libc.malloc_trim(0)
