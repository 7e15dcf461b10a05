"""Ray, imported only when distributed work is asked for, and the connection to a cluster."""
from __future__ import annotations

import logging
import os
from contextlib import contextmanager
from typing import Any, Iterator, Mapping

from ..errors import ImgenError, MissingExtraError, require

log = logging.getLogger("imgen")

class RayMissingError(MissingExtraError):
    """Ray (or Ray Data's own dependencies) is not installed."""


def ray_module():
    """The ray module, or RayMissingError saying how to install it."""
    return require("ray", purpose="distributed runs", extra="ray", package="Ray", error=RayMissingError)


def ray_data_module():
    """The ray.data module (needs pandas and pyarrow too), or RayMissingError."""
    ray_module()
    return require("ray.data", purpose="distributed image runs", extra="ray", package="Ray Data",
                   error=RayMissingError)


@contextmanager
def connected(address: str | None = None, *, runtime_env: Mapping[str, Any] | None = None,
              num_cpus: int | None = None) -> Iterator[Any]:
    """Use the Ray runtime this process is already connected to, or connect for the duration.

    address: None or "" starts a local Ray instance (or joins the cluster named by
        ``$RAY_ADDRESS``); "auto" joins the cluster started on this machine by ``ray start
        --head``; "HOST:PORT" a cluster's head node; "ray://HOST:10001" goes through Ray Client.
    runtime_env: Ray's runtime environment for the workers (e.g. env_vars, pip, py_modules).
    num_cpus: CPUs of a local instance that this call starts (default: all).
    A connection made here is closed on exit; an existing one is left as it was.
    """
    ray = ray_module()
    if ray.is_initialized():
        yield ray
        return
    kwargs: dict[str, Any] = {"logging_level": logging.WARNING, "log_to_driver": True}
    if runtime_env:
        kwargs["runtime_env"] = dict(runtime_env)
    joining = bool(address) or bool(os.environ.get("RAY_ADDRESS"))
    if not joining:
        kwargs.update(include_dashboard=False, num_cpus=num_cpus)
    try:
        ray.init(address=address or None, **kwargs)
    except (ConnectionError, ValueError, RuntimeError) as e:
        raise ImgenError(f"cannot connect to Ray at {address or os.environ.get('RAY_ADDRESS')}: {e}") from e
    log.info("Ray: %s", "joined " + (address or os.environ["RAY_ADDRESS"]) if joining else "local instance")
    try:
        yield ray
    finally:
        ray.shutdown()


def cluster_resources() -> dict[str, float]:
    """The cluster's total resources (CPU, GPU, memory, ...) as Ray counts them."""
    return dict(ray_module().cluster_resources())
