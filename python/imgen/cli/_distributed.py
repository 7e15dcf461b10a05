"""Command-line options shared by every command that can run on Ray (``--ray``, ``--resume``,
``--runtime-env``, ...), and what they turn into: the keyword arguments of
``imgen.distributed.run_images`` / ``run_videos``, and where Ray's own messages go.

Nothing here imports Ray; ``imgen.distributed`` does so only when a run is distributed.
"""
from __future__ import annotations

import argparse
import json
import sys
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

from ..errors import ImgenError
from ._args import nonnegative_float, positive_float, positive_int
from ..batch import Summary

#: (flag, attribute) of the options that only apply with --ray.
RAY_ONLY = (("--workers", "workers"), ("--cpus-per-worker", "cpus_per_worker"),
            ("--gpus-per-worker", "gpus_per_worker"), ("--runtime-env", "runtime_env"), ("--ray-pip", "ray_pip"))


def add_resume_argument(p: argparse.ArgumentParser) -> None:
    p.add_argument("--resume", action="store_true",
                   help="skip inputs whose output already exists (outputs are written atomically, "
                        "so an existing one is complete)")


def add_ray_arguments(p: argparse.ArgumentParser, description: str | None = None):
    """--ray [ADDRESS], --workers, --cpus-per-worker, --gpus-per-worker, --runtime-env, --ray-pip;
    returns their group."""
    g = p.add_argument_group("distributed (Ray; needs imgen[ray])", description)
    g.add_argument("--ray", nargs="?", const="", metavar="ADDRESS",
                   help="run on Ray: no ADDRESS starts a local instance (or joins $RAY_ADDRESS); "
                        "'auto' joins the cluster started here with `ray start --head`; HOST:PORT "
                        "a head node; ray://HOST:10001 through Ray Client (needs ray[client]). Ray's "
                        "own messages go to a log file (named at the end) unless -v")
    g.add_argument("--workers", type=positive_int, metavar="N",
                   help="with --ray: workers (model actors / video tasks) at once (default: as many "
                        "as the cluster's CPUs or GPUs fit)")
    g.add_argument("--cpus-per-worker", type=positive_float, metavar="N",
                   help="with --ray: CPUs each worker reserves, and its thread count (default 1)")
    g.add_argument("--gpus-per-worker", type=nonnegative_float, metavar="N",
                   help="with --ray: GPUs each worker reserves (default: 1 when the model runs on "
                        "CUDA/TensorRT and the cluster has GPUs, else 0)")
    g.add_argument("--runtime-env", metavar="FILE|JSON",
                   help="with --ray: Ray runtime environment for the workers, a .json/.yaml file or "
                        "inline JSON, e.g. '{\"pip\": [\"imgen[cpu]==0.1.0\"], \"env_vars\": {...}}'")
    g.add_argument("--ray-pip", action="append", metavar="SPEC",
                   help="with --ray: a package Ray installs for the workers on every node (repeatable; "
                        "added to the runtime environment's pip list), e.g. 'imgen[cpu]==0.1.0' or a "
                        "wheel path every node can read")
    return g


def check_ray_arguments(args: argparse.Namespace) -> None:
    """Reject Ray-only options given without --ray (an ImgenError names them)."""
    if args.ray is None:
        given = [flag for flag, name in RAY_ONLY if getattr(args, name) is not None]
        if given:
            raise ImgenError(f"{', '.join(given)} only apply with --ray")
    elif args.threads is not None:
        raise ImgenError("--threads is the local run's setting; with --ray use --cpus-per-worker")


def runtime_env(args: argparse.Namespace) -> dict[str, Any] | None:
    """The runtime environment from --runtime-env (file or inline JSON) and --ray-pip, or None."""
    env: dict[str, Any] = {}
    if args.runtime_env:
        env = _load_runtime_env(args.runtime_env)
    if args.ray_pip:
        pip = env.get("pip") or []
        if isinstance(pip, dict):  # {"packages": [...], "pip_check": ...}
            pip = dict(pip, packages=list(pip.get("packages", [])) + list(args.ray_pip))
        elif isinstance(pip, list):
            pip = list(pip) + list(args.ray_pip)
        else:
            raise ImgenError(f"--ray-pip adds to the runtime environment's pip list, but --runtime-env gives "
                             f"pip as {type(pip).__name__} ({pip!r}); list the packages in one place")
        env["pip"] = pip
    return env or None


def _load_runtime_env(text: str) -> dict[str, Any]:
    path = Path(text)
    if text.lstrip().startswith("{"):
        source, what = text, "--runtime-env (inline JSON)"
    elif path.is_file():
        try:
            source, what = path.read_text(encoding="utf-8"), f"--runtime-env file {text}"
        except (OSError, UnicodeDecodeError) as e:
            raise ImgenError(f"cannot read --runtime-env file {text}: {e}") from None
    else:
        raise ImgenError(f"--runtime-env takes a .json/.yaml file or inline JSON ({{...}}); {text} is neither")
    try:
        if path.suffix.lower() in (".yaml", ".yml") and not source.lstrip().startswith("{"):
            import yaml  # comes with Ray

            env = yaml.safe_load(source)
        else:
            env = json.loads(source)
    except ImportError:
        raise ImgenError(f"{what} is YAML, which needs PyYAML (pip install 'imgen[ray]' brings it)") from None
    except Exception as e:  # noqa: BLE001 - json.JSONDecodeError, yaml.YAMLError: one message
        first = str(e).splitlines()[0] if str(e) else type(e).__name__
        raise ImgenError(f"{what} is not valid {'YAML' if path.suffix.lower() in ('.yaml', '.yml') else 'JSON'}: "
                         f"{first}") from None
    if not isinstance(env, dict):
        raise ImgenError(f"{what} must be a mapping of runtime environment fields (pip, env_vars, working_dir, "
                         f"py_modules, ...), got {type(env).__name__}")
    return env


def cluster_options(args: argparse.Namespace):
    """The ClusterOptions of --ray and friends."""
    from ..distributed import ClusterOptions

    return ClusterOptions(address=args.ray or None, runtime_env=runtime_env(args), workers=args.workers,
                          cpus_per_worker=args.cpus_per_worker or 1, gpus_per_worker=args.gpus_per_worker)


@contextmanager
def ray_output(args: argparse.Namespace) -> Iterator[None]:
    """Ray's own messages: on the terminal with -v, else into a log file named at the end
    (an ImgenError raised meanwhile names it too); an empty log file is removed."""
    if args.verbose:
        yield
        return
    from ..distributed._logs import default_log_path, ray_output_to

    path = default_log_path()
    try:
        with ray_output_to(path):
            yield
    except ImgenError as e:
        if _has_content(path):
            raise ImgenError(f"{e} (Ray's messages: {path})") from e
        raise
    finally:
        if not _has_content(path):
            path.unlink(missing_ok=True)
    if _has_content(path):
        print(f"imgen: Ray's own messages are in {path} (-v shows them here)", file=sys.stderr)


def _has_content(path: Path) -> bool:
    try:
        return path.stat().st_size > 0
    except OSError:
        return False


def run_on_ray(args: argparse.Namespace, options, *, batch_size: int = 8) -> Summary:
    """The image commands with --ray (run, denoise, restore, translate, inpaint, reconstruct):
    ``options`` (a ProcessorOptions or a job of ``imgen.distributed.jobs``) on Ray actors; the
    Summary, which the caller reports as a local run's."""
    from ..distributed import run_images
    from ..imageio import pixel_limit

    cluster = cluster_options(args)
    with ray_output(args):
        summary = run_images(
            args.inputs, args.output, options, ext=args.ext, resume=args.resume, cluster=cluster,
            batch_size=batch_size, progress=not args.quiet,
            max_pixels=pixel_limit(args.max_pixels))  # the driver's $IMGEN_MAX_PIXELS too
    return summary
