"""The same app on a Ray cluster through Ray Serve: each replica loads the models and runs
:func:`create_app`; Ray Serve's proxy routes HTTP to replicas (no home-made load balancer)."""
from __future__ import annotations

from dataclasses import dataclass

from ..errors import MissingExtraError


@dataclass(frozen=True)
class Replicas:
    """replicas: a fixed count; or min_replicas..max_replicas with autoscaling; CPUs/GPUs per replica."""

    replicas: int = 1
    min_replicas: int | None = None
    max_replicas: int | None = None
    cpus: float = 1.0
    gpus: float = 0.0


def deploy(make_app, replicas: Replicas, *, host: str = "127.0.0.1", port: int = 8000, name: str = "imgen") -> None:
    """Deploy the app ``make_app()`` returns (a picklable callable, run on each replica so that each
    loads its own models) on the connected Ray cluster at http://host:port/.  MissingExtraError
    without ray[serve]."""
    try:
        from ray import serve
    except ImportError as e:
        raise MissingExtraError(f"imgen serve --ray needs Ray Serve: pip install 'imgen[ray-serve]' ({e})") from None

    def build():  # Ray Serve takes a plain zero-argument function as an app builder
        return make_app()

    @serve.ingress(build)
    class ImgenServe:
        pass

    options = {"ray_actor_options": {"num_cpus": replicas.cpus, "num_gpus": replicas.gpus}}
    if replicas.min_replicas is not None or replicas.max_replicas is not None:
        low = replicas.min_replicas or 1
        options["autoscaling_config"] = {"min_replicas": low, "max_replicas": max(low, replicas.max_replicas or low)}
    else:
        options["num_replicas"] = replicas.replicas
    deployment = serve.deployment(ImgenServe, name=name, **options)
    serve.start(http_options={"host": host, "port": port})
    serve.run(deployment.bind(), name=name, route_prefix="/")


def shutdown() -> None:
    """Take the deployments down (the Ray cluster stays)."""
    from ray import serve

    serve.shutdown()
