"""Distributed batch processing on Ray (the optional extra ``imgen[ray]``).

Image folders go to a pool of Ray actors (one loaded model per actor, fed batches of file
paths); videos are sharded one per Ray task, long ones one segment per task (cut on keyframes,
joined without re-encoding).  Importing this package does not import Ray: the functions do, when
called, and say ``pip install 'imgen[ray]'`` when it is missing.

    from imgen.distributed import run_images, run_videos, plan_videos
    summary = run_images(["photos/"], "out/", "model.onnx", cluster=ClusterOptions(address="auto"), resume=True)
    summary = run_images(["scans/"], "out/", InpaintJob(MaskSource(folder="masks/"), method="telea"))  # a mask per file
    # (MaskSource: imgen.inpainting.process)
    jobs, problems = plan_videos(["films/"], "out/")
    summary = run_videos(jobs, ProcessorOptions(model="model.onnx"), segment_seconds=120)
"""
from __future__ import annotations

from ._ray import RayMissingError, connected
from ._resources import ClusterOptions, WorkerResources
from ..video.library import LibrarySummary, plan_videos
from .images import ImageWorker, map_images, run_images
from .jobs import InpaintJob, ReconstructJob
from .videos import run_videos

__all__ = [
    "ClusterOptions",
    "ImageWorker",
    "InpaintJob",
    "LibrarySummary",
    "RayMissingError",
    "ReconstructJob",
    "WorkerResources",
    "connected",
    "map_images",
    "plan_videos",
    "run_images",
    "run_videos",
]
