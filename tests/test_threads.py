"""The C++ thread pool: size control, concurrent callers, replacement while in use."""
from __future__ import annotations

import threading

import numpy as np
import pytest

import imgen
from imgen import _core

import isolated


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


def test_thread_count_above_the_cap_is_rejected_and_the_pool_kept():
    got = isolated.outcome("import imgen\nimgen.set_num_threads(3)", "imgen.set_num_threads(3000)", timeout=60)
    assert got == "ValueError: number of threads must be at most 1024 (got 3000; 0 = all cores)", got
    with pytest.raises(ValueError, match="at most 1024"):
        imgen.set_num_threads(2**40)


def test_pool_that_cannot_start_its_threads_fails_cleanly_and_the_old_pool_keeps_working():
    # 1000 threads need ~8 GB of stack address space: starting them fails part way under a
    # 1 GiB limit.  The constructor used to destroy what its started workers waited on (a hang).
    code = """
import numpy as np, imgen
imgen.set_num_threads(2)
try:
    imgen.set_num_threads(1000)
except (RuntimeError, MemoryError) as e:
    print(type(e).__name__, e)
print("threads", imgen.get_num_threads())
img = np.arange(300 * 200 * 3, dtype=np.uint8).reshape(300, 200, 3)
print("works", bool((imgen.from_tensor(imgen.to_tensor(img))[0] == img).all()))
"""
    res = isolated.run_python(code, memory_limit=isolated.GiB, timeout=60)
    assert res.returncode == 0, res.stderr[-2000:]
    lines = res.stdout.splitlines()
    assert lines[0].startswith("RuntimeError could not start 1000 kernel threads (only "), lines
    assert lines[1:] == ["threads 2", "works True"]
