"""The C++ thread pool: size control, concurrent callers, replacement while in use."""
from __future__ import annotations

import threading

import numpy as np
import pytest

import imgen
from imgen import _core


def test_default_is_available_cores():
    imgen.set_num_threads(0)
    assert imgen.get_num_threads() == _core.available_cores() >= 1


@pytest.mark.parametrize("n", [1, 2, 3, 8])
def test_set_num_threads(n, rng):
    imgen.set_num_threads(n)
    assert imgen.get_num_threads() == n
    img = rng.integers(0, 256, (257, 301, 3), dtype=np.uint8)
    ref = img.transpose(2, 0, 1)[None].astype(np.float32) * np.float32(1 / 255)
    np.testing.assert_allclose(imgen.to_tensor(img), ref, rtol=1e-6)


def test_concurrent_callers_share_the_pool(rng):
    """Python threads calling kernels at once (the GIL is released) get correct results."""
    imgen.set_num_threads(2)
    images = [rng.integers(0, 256, (200 + i, 150, 3), dtype=np.uint8) for i in range(6)]
    expected = [imgen.to_tensor(im) for im in images]
    errors: list[BaseException] = []

    def worker(k: int) -> None:
        try:
            for _ in range(20):
                got = imgen.to_tensor(images[k])
                if not np.array_equal(got, expected[k]):
                    raise AssertionError(f"thread {k}: wrong result")
                back = imgen.from_tensor(got)
                if not np.array_equal(back[0], images[k]):
                    raise AssertionError(f"thread {k}: wrong round trip")
        except BaseException as e:  # noqa: BLE001 - re-raised in the main thread
            errors.append(e)

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(6)]
    for t in threads:
        t.start()
    # Replacing the pool while others run must not pull it from under them.
    for n in (1, 3, 2):
        imgen.set_num_threads(n)
    for t in threads:
        t.join(timeout=60)
        assert not t.is_alive(), "a kernel call hung"
    assert not errors, errors
