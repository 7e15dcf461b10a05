"""Ray, imported only when distributed work is asked for, and the connection to a cluster."""
from __future__ import annotations

import logging
import os
from contextlib import contextmanager
from typing import Any, Iterator, Mapping

from .._limits import address_space_limit, require_address_space
from ..errors import ImgenError, MissingExtraError, require

log = logging.getLogger("imgen")


class RayMissingError(MissingExtraError):
    """Ray is not installed."""


def ray_module():
    """The ray module, or RayMissingError saying how to install it."""
    return require("ray", purpose="distributed runs", extra="ray", package="Ray", error=RayMissingError)


@contextmanager
def connected(address: str | None = None, *, runtime_env: Mapping[str, Any] | None = None,
              num_cpus: int | None = None, ray_logs: bool | None = None, check: bool = True) -> Iterator[Any]:
    """Use the Ray runtime this process is already connected to, or connect for the duration.

    address: None or "" starts a local Ray instance (or joins the cluster named by
        ``$RAY_ADDRESS``); "auto" joins the cluster started on this machine by ``ray start
        --head``; "HOST:PORT" a cluster's head node; "ray://HOST:10001" goes through Ray Client
        (needs ``ray[client]``).  Unreachable addresses and missing authentication tokens are
        ImgenErrors naming the cause.
    runtime_env: Ray's runtime environment for the workers (e.g. env_vars, pip, working_dir).
    num_cpus: CPUs of a local instance that this call starts (default: all).
    ray_logs: forward the workers' output (and Ray's messages about them) to this process's
        stderr; False leaves it in Ray's session logs (``/tmp/ray/session_*/logs`` on each node).
        Default: when imgen's logger shows INFO (``imgen -v``).  Ray's Python loggers ("ray",
        at WARNING) keep their own handlers; ``_logs.ray_output_to`` sends them to a file.
    check: first make sure the workers of every node import imgen (``_nodes.check_nodes``).
    A connection made here is closed on exit; an existing one is left as it was.
    """
    ray = ray_module()
    if ray.is_initialized():
        if check:
            _check_nodes(ray)
        yield ray
        return
    if ray_logs is None:
        ray_logs = log.isEnabledFor(logging.INFO)
    target = address or os.environ.get("RAY_ADDRESS") or ""
    _check_address_space(local=not target)
    _check_address(address or "", target)
    kwargs: dict[str, Any] = {"log_to_driver": ray_logs, "logging_level": logging.WARNING}
    if runtime_env:
        kwargs["runtime_env"] = dict(runtime_env)
    if not target:
        kwargs.update(include_dashboard=False, num_cpus=num_cpus, **_local_store(address_space_limit()))
    try:
        ray.init(address=address or None, **kwargs)
    except ray.exceptions.AuthenticationError:
        from ._address import auth_message

        raise ImgenError(auth_message(target)) from None
    except (ConnectionError, ValueError, RuntimeError) as e:
        raise ImgenError(f"cannot connect to Ray at {target or 'a new local instance'}: {e}") from None
    except Exception as e:  # noqa: BLE001 - Ray's own Exception when a local instance does not start
        if target:
            raise
        limit = address_space_limit()
        why = (f"; this process's address space is limited (ulimit -v {limit // 1024} KiB), which Ray's "
               f"processes inherit: raise the limit, or start Ray without it (ray start --head) and use "
               f"--ray auto" if limit else "")
        raise ImgenError(f"a local Ray instance did not start ({_first_line(e)}){why}; Ray's logs: "
                         f"/tmp/ray/session_latest/logs") from None
    log.info("Ray: %s", f"joined {target}" if target else "local instance")
    try:
        if check:
            _check_nodes(ray)
        yield ray
    finally:
        ray.shutdown()


#: Address space a Ray driver needs (Ray, gRPC, pyarrow and imgen's libraries mapped): measured
#: on Ray 2.60, x86-64, a `ulimit -v` of 2,500,000 KiB fails (a library that cannot be mapped, or
#: an abort in Ray's threads), 3,000,000 KiB works.
MIN_ADDRESS_SPACE = 2816 * 2**20


def _check_address_space(local: bool) -> None:
    """ImgenError, before Ray is touched, when ``ulimit -v`` leaves Ray too little to start."""
    who = "this process and the Ray processes it starts" if local else "this process (Ray's driver)"
    require_address_space(MIN_ADDRESS_SPACE, f"--ray ({who})", otherwise=", or run without --ray")


def _local_store(limit: int | None) -> dict[str, int]:
    """The object store of a local instance under an address-space limit: a quarter of the limit
    (imgen sends only paths and status rows through it), at least Ray's minimum, at most 2 GiB
    and at most Ray's default (30% of the memory)."""
    if limit is None:
        return {}  # Ray's default
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    return {"object_store_memory": max(80 * 2**20, min(limit // 4, 2 * 2**30, int(memory * 0.3)))}


def _first_line(error: Exception) -> str:
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    return lines[0] if lines else type(error).__name__


def _check_address(address: str, target: str) -> None:
    from . import _address

    if target.startswith("ray://"):
        _address.check_client()
    elif address and address != "auto":  # Ray itself sends the token to "auto" and $RAY_ADDRESS
        _address.check_reachable(address)


def _check_nodes(ray) -> None:
    from ._nodes import check_nodes

    check_nodes(ray)


def cluster_resources() -> dict[str, float]:
    """The cluster's total resources (CPU, GPU, memory, ...) as Ray counts them."""
    return dict(ray_module().cluster_resources())
