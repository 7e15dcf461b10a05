"""imgen.video.pipeline: process_frames -- frames through a processor on threads joined by bounded
queues, in order, in batches, errors from either side raised in the consumer (no PyAV needed)."""
from __future__ import annotations

import threading
import time

import numpy as np
import pytest

from imgen.video import process_frames

from video_runs import identity


def test_process_frames_keeps_order_and_batches(rng):
    frames = [rng.integers(0, 256, (8, 6, 3), dtype=np.uint8) for _ in range(11)]
    sizes = []

    def double(batch):
        sizes.append(len(batch))
        return [f // 2 for f in batch]

    out = list(process_frames(iter(frames), double, batch_size=4, queue_size=2))
    assert len(out) == 11
    for a, b in zip(frames, out):
        np.testing.assert_array_equal(a // 2, b)
    assert sizes == [4, 4, 3]


def test_process_frames_reads_ahead_only_so_far():
    read = []

    def source():
        for i in range(1000):
            read.append(i)
            yield np.full((2, 2), i % 256, np.uint8)

    it = process_frames(source(), identity, batch_size=2, queue_size=3)
    first = [next(it) for _ in range(5)]
    time.sleep(0.3)  # give the threads every chance to run ahead
    assert [int(f[0, 0]) for f in first] == [0, 1, 2, 3, 4]
    assert len(read) <= 5 + 3 + 2 + 3 + 2  # consumed + outbox + batch + inbox + in hand
    it.close()
    time.sleep(0.2)
    assert not [t for t in threading.enumerate() if t.name.startswith("imgen-frames")]


def test_process_frames_raises_errors_from_either_side():
    def failing(batch):
        raise ValueError("model says no")

    with pytest.raises(ValueError, match="model says no"):
        list(process_frames([np.zeros((2, 2), np.uint8)] * 3, failing))

    def broken_source():
        yield np.zeros((2, 2), np.uint8)
        raise OSError("camera unplugged")

    with pytest.raises(OSError, match="camera unplugged"):
        list(process_frames(broken_source(), identity))
    with pytest.raises(ValueError, match="returned 1 results for a batch of 2"):
        list(process_frames([np.zeros((2, 2), np.uint8)] * 2, lambda b: b[:1], batch_size=2))
    with pytest.raises(ValueError, match="batch_size"):
        process_frames([], identity, batch_size=0)
