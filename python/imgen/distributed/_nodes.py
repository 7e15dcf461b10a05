"""Before any work: can every node's workers import imgen?  One line naming the node if not."""
from __future__ import annotations

import logging

from ..errors import ImgenError

log = logging.getLogger("imgen")


def _probe():
    """Runs on a node (pickled by value, so it needs no imgen there): imgen's version or the error."""
    import socket

    try:
        import imgen
    except Exception as e:  # noqa: BLE001 - reported to the driver
        return False, f"{type(e).__name__}: {e}", socket.gethostname()
    return True, getattr(imgen, "__version__", "?"), socket.gethostname()


def check_nodes(ray, *, timeout: float | None = 600) -> None:
    """ImgenError when workers on some alive node cannot import imgen (or set up the job's
    runtime environment); a warning when a node has another imgen version than this one.

    One task per node (no CPU reserved, pinned to the node), in the job's runtime environment,
    so a ``pip`` runtime environment is installed on each node here, once.  Nodes that die
    meanwhile are left out.  timeout: seconds to wait for all nodes (None: no limit).
    """
    from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

    from .. import __version__

    nodes = [n for n in ray.nodes() if n.get("Alive")]
    if not nodes:
        return
    probe = ray.remote(num_cpus=0, max_retries=0)(_as_local(_probe))
    refs = {probe.options(scheduling_strategy=NodeAffinitySchedulingStrategy(n["NodeID"], soft=False)).remote(): n
            for n in nodes}
    broken: list[tuple[str, str]] = []
    setup: list[tuple[str, str]] = []
    others: list[str] = []
    ready, late = ray.wait(list(refs), num_returns=len(refs), timeout=timeout)
    for ref in ready:
        where = f"{refs[ref].get('NodeManagerAddress', '?')}:{refs[ref].get('NodeManagerPort', '?')}"
        try:
            ok, detail, host = ray.get(ref)
        except ray.exceptions.RuntimeEnvSetupError as e:
            setup.append((where, _last_line(e)))
            continue
        except ray.exceptions.RayError:  # the node died or went away: Ray schedules around it
            continue
        if not ok:
            broken.append((f"{where} ({host})", detail))
        elif detail != __version__:
            others.append(f"{where} ({host}) has imgen {detail}")
    for ref in late:
        ray.cancel(ref, force=True)
    if late:
        log.warning("%d node(s) did not answer within %ss; going on", len(late), timeout)
    if setup:
        raise ImgenError(
            f"the job's runtime environment could not be set up on node {', '.join(w for w, _ in setup)} "
            f"({setup[0][1]}); check the runtime_env given (command line: --runtime-env / --ray-pip; docs/distributed.md)")
    if broken:
        where = ", ".join(w for w, _ in broken)
        raise ImgenError(
            f"imgen cannot be imported by the Ray workers on node {where} ({broken[0][1]}): install the same "
            f"imgen there (pip install 'imgen[ray,cpu]=={__version__}'), or ship it to the workers with "
            f"--ray-pip or --runtime-env (docs/distributed.md)")
    if others:
        log.warning("this is imgen %s but %s: outputs may differ", __version__, "; ".join(others))


def _as_local(fn):
    """A copy of ``fn`` that cloudpickle sends by value (its module need not exist on the node)."""
    import types

    copy = types.FunctionType(fn.__code__, {"__builtins__": __builtins__}, fn.__name__)
    copy.__module__ = "__imgen_probe__"
    copy.__qualname__ = fn.__name__
    return copy


def _last_line(error: Exception) -> str:
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    return lines[-1] if lines else type(error).__name__
