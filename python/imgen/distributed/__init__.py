"""Distributed batch processing on Ray (the optional extra ``imgen[ray]``).

Image folders go through Ray Data (``map_batches`` over a pool of actors, one loaded model per
actor); videos are sharded one per Ray task.  Importing this package does not import Ray: the
functions do, when called, and say ``pip install 'imgen[ray]'`` when it is missing.

    from imgen.distributed import run_images
    summary = run_images(["photos/"], "out/", "model.onnx", address="auto", resume=True)
"""
from __future__ import annotations

from ._ray import RayMissingError, connected
from ._resources import WorkerResources
from .images import ImageWorker, map_images, run_images

__all__ = [
    "ImageWorker",
    "RayMissingError",
    "WorkerResources",
    "connected",
    "map_images",
    "run_images",
]
