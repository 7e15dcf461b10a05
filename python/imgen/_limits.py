"""The address-space limit of this process (``ulimit -v``, RLIMIT_AS) and the least imgen needs
under it: below that, libraries fail to load or abort in their own threads, so imgen refuses
first with one clear error instead."""
from __future__ import annotations

import resource

from .errors import ImgenError

#: What any imgen command needs to load its libraries (NumPy, OpenCV, ONNX Runtime): measured on
#: x86-64 Linux, Python 3.11, 2 cores: `imgen --help` segfaults in OpenCV's OpenBLAS at a
#: `ulimit -v` of 500,000 KiB and runs at 600,000 KiB (its peak: 510 MB; a restore run 724 MB).
MIN_COMMAND = 640 * 2**20

#: What ``imgen serve`` needs: its event loop (uvloop) aborts when it cannot start its threads
#: (measured: aborts at 750,000 KiB, serves at 800,000 KiB; its peak after a request: 986 MB).
MIN_SERVE = 1024 * 2**20


def address_space_limit() -> int | None:
    """The soft limit on this process's virtual memory in bytes, or None when unlimited."""
    soft, _ = resource.getrlimit(resource.RLIMIT_AS)
    return None if soft == resource.RLIM_INFINITY else soft


def require_address_space(minimum: int, what: str, *, otherwise: str = "") -> None:
    """ImgenError unless ``ulimit -v`` allows at least ``minimum`` bytes (KiB in the message, as
    ulimit counts): "WHAT needs at least N KiB of address space, but ulimit -v allows M KiB"."""
    limit = address_space_limit()
    if limit is None or limit >= minimum:
        return
    raise ImgenError(f"{what} needs at least {minimum // 1024} KiB of address space, but ulimit -v allows "
                     f"{limit // 1024} KiB: raise it (ulimit -v {minimum // 1024} or unlimited){otherwise}")
