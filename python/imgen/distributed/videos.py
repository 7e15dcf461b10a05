"""Many videos on Ray: one task per video, or per segment of a long one.

A video task builds the processor (loading the model once for the video), sets its threads to
the CPUs it reserved, and runs ``imgen.video.process_video`` -- so the output, its atomic write,
its copied audio and its summary are those of the single-machine command.  A video of at least
two segment lengths is cut on keyframes (``segments.split_on_keyframes``), its segments run as
tasks of their own, and the processed segments are joined without re-encoding with the source's
audio copied once (``segments.join_segments``).  Ray retries a task whose worker died
(``max_retries``); finished segments are kept beside the output, so a retry redoes only the rest.
"""
from __future__ import annotations

import json
import logging
import os
import shutil
import sys
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

from tqdm import tqdm

from ..atomic import atomic_write
from ..errors import ImgenError
from ..imageio import Job
from . import _ray
from ._resources import ClusterOptions, WorkerResources

log = logging.getLogger("imgen")


@dataclass(frozen=True)
class VideoTaskSettings:
    """Everything a video or segment task needs besides its paths (pickled to the workers)."""

    processor: Any  # ProcessorOptions (rebuilt in the task) or a picklable callable
    encode: Any  # imgen.video.EncodeOptions
    on_bad_frame: str = "skip"
    batch_size: int = 4
    queue_size: int = 8
    copy_streams: bool = True
    segment_seconds: float | None = None
    threads: int = 1
    remote: Mapping[str, Any] | None = None  # Ray options for segment tasks


def segment_dir(target: str | os.PathLike) -> Path:
    """Where a segmented video's pieces are kept until it is joined: beside the output."""
    target = Path(target)
    return target.parent / f".{target.name}.segments"


def run_videos(
    jobs: Sequence[Job],
    processor,
    *,
    encode=None,
    on_bad_frame: str = "skip",
    batch_size: int = 4,
    queue_size: int = 8,
    copy_streams: bool = True,
    segment_seconds: float | None = 120.0,
    resume: bool = False,
    cluster: ClusterOptions = ClusterOptions(),
    progress: bool = False,
):
    """Process videos (``Job(source, target)``, e.g. from ``plan_videos``) as Ray tasks.

    processor: ``imgen.processors.ProcessorOptions`` or a ``FrameProcessor`` (rebuilt in each
        task with ``threads`` = its CPUs, on the CPU unless GPUs are reserved), or any picklable
        ``list[ndarray] -> list[ndarray]`` callable, sent as it is.
    encode: ``imgen.video.EncodeOptions``.  Its thread count is not changed to the task's CPUs: the
        encoder's bitstream depends on it, and the default (a fixed count) makes the same bytes
        as the local run.
    on_bad_frame / batch_size / queue_size / copy_streams: as ``process_video``.
    segment_seconds: videos of at least twice this are cut on keyframes into segments of at
        least this many seconds, one task each (None or 0: never).
    resume: keep finished segments of an earlier run (skipping finished *videos* is the
        caller's choice of jobs, e.g. ``skip_done``).
    cluster: as ``run_images`` (:class:`ClusterOptions`); its ``workers`` bounds the videos in
        flight, its ``max_retries`` the retries of a task whose worker died.
    Every node must see the input and output paths.  Returns a LibrarySummary (failures in job
    order; each finished video's VideoSummary in ``videos``).
    """
    from ..video.library import LibrarySummary
    from ..processors import FrameProcessor, ProcessorOptions
    from ..video import EncodeOptions

    if on_bad_frame not in ("skip", "stop"):
        raise ValueError(f"on_bad_frame must be 'skip' or 'stop', got {on_bad_frame!r}")
    if segment_seconds is not None and not segment_seconds >= 0:
        raise ValueError(f"segment_seconds must be >= 0 (0 or None: never segment), got {segment_seconds}")
    options = processor.options if isinstance(processor, FrameProcessor) else processor
    if isinstance(options, ProcessorOptions):
        if options.model is not None:
            from .jobs import model_ref

            options = replace(options, model=model_ref(options.model))  # workers may run elsewhere
        FrameProcessor(replace(options, providers=("cpu",), threads=1))  # a bad model fails here, once
    elif not callable(processor):
        raise TypeError(f"processor must be ProcessorOptions, a FrameProcessor or a callable, got {type(processor).__name__}")
    summary = LibrarySummary()
    if not jobs:
        return summary
    encode = encode or EncodeOptions()
    threads = max(1, int(cluster.cpus_per_worker))
    if not resume:
        for job in jobs:
            shutil.rmtree(segment_dir(job.target), ignore_errors=True)
    with _ray.connected(cluster.address, runtime_env=cluster.runtime_env) as ray:
        if isinstance(options, ProcessorOptions):
            gpus = cluster.gpus_for(options)
            providers = options.providers if (options.providers or gpus or not options.model) else ("cpu",)
            work = replace(options, threads=threads, providers=providers)
        else:
            gpus, work = float(cluster.gpus_per_worker or 0), processor
        resources = cluster.resources(gpus)
        remote = {"num_cpus": resources.cpus_per_worker, "num_gpus": resources.gpus_per_worker,
                  "max_retries": resources.max_retries}
        settings = VideoTaskSettings(
            work, encode, on_bad_frame, batch_size,
            queue_size, copy_streams, segment_seconds or None, threads, remote)
        results = _run_tasks(ray, jobs, settings, resources, progress)
    for i, job in enumerate(jobs):
        status, video, message = results[i]
        if status == "ok":
            summary.record(str(job.source), video)
        else:
            summary.failures.append((str(job.source), message))
            if video is not None:
                summary.notes.update(video.notes)
    return summary


def _run_tasks(ray, jobs: Sequence[Job], settings: VideoTaskSettings, resources: WorkerResources,
               progress: bool) -> dict[int, tuple]:
    """Submit one task per video (at most ``resources.workers`` at once); {job index: result}."""
    task = ray.remote(process_video_task).options(**settings.remote)
    queue = list(enumerate(jobs))
    limit = resources.workers or len(jobs)
    inflight: dict = {}
    results: dict[int, tuple] = {}
    log.info("Ray: %d video(s), %g CPU / %g GPU per task", len(jobs), resources.cpus_per_worker,
             resources.gpus_per_worker)
    with tqdm(total=len(jobs), unit="video", desc="videos", disable=not progress, file=sys.stderr) as bar:
        try:
            while queue or inflight:
                while queue and len(inflight) < limit:
                    i, job = queue.pop(0)
                    inflight[task.remote(os.path.abspath(job.source), os.path.abspath(job.target), settings)] = i
                done, _ = ray.wait(list(inflight), num_returns=1)
                for ref in done:
                    i = inflight.pop(ref)
                    try:
                        results[i] = ray.get(ref)
                    except ray.exceptions.RayError as e:
                        results[i] = ("failed", None, _task_failure(ray, e, resources.max_retries))
                    bar.update(1)
        except BaseException:
            for ref in inflight:
                ray.cancel(ref, force=True)
            raise
    return results


def _task_failure(ray, error: Exception, retries: int) -> str:
    if isinstance(error, (ray.exceptions.WorkerCrashedError, ray.exceptions.NodeDiedError)):
        return f"the worker processing it died {retries + 1} time(s); not written"
    if isinstance(error, ray.exceptions.RayTaskError):
        cause = getattr(error, "cause", None)
        return f"{type(cause).__name__}: {cause}" if cause is not None else str(error).splitlines()[0]
    return f"{type(error).__name__}: {str(error).splitlines()[0] if str(error) else ''}"


# -- in the workers ------------------------------------------------------------------------------

def _processor(settings: VideoTaskSettings) -> Callable:
    from .. import set_num_threads
    from ..processors import FrameProcessor, ProcessorOptions

    set_num_threads(settings.threads)
    p = settings.processor
    return FrameProcessor(p) if isinstance(p, ProcessorOptions) else p


def _process(source: str, target: str, settings: VideoTaskSettings, *, copy_streams: bool):
    from ..video import process_video

    return process_video(source, target, _processor(settings), options=settings.encode,
                         on_bad_frame=settings.on_bad_frame, batch_size=settings.batch_size,
                         queue_size=settings.queue_size, copy_streams=copy_streams,
                         decode_threads=settings.threads,
                         part_seconds=None)  # Ray retries whole tasks; its segments are the parts


def process_video_task(source: str, target: str, settings: VideoTaskSettings) -> tuple:
    """One video (a Ray task): ("ok", VideoSummary, None) or ("failed", VideoSummary | None, message).

    Long videos are split into segment tasks and joined here; a worker death is Ray's to retry.
    """
    from ..video import VideoError

    try:
        if settings.segment_seconds:
            from .segments import probe_duration, split_on_keyframes

            duration = probe_duration(source) or 0.0
            if duration >= 2 * settings.segment_seconds:
                segments = split_on_keyframes(source, segment_dir(target), settings.segment_seconds)
                if len(segments) > 1:
                    return "ok", _segmented(source, target, segments, settings), None
                shutil.rmtree(segment_dir(target), ignore_errors=True)
        return "ok", _process(source, target, settings, copy_streams=settings.copy_streams), None
    except VideoError as e:
        return "failed", e.summary, str(e)
    except (ImgenError, ValueError, TypeError) as e:
        return "failed", None, str(e)


def process_segment_task(source: str, done: str, settings: VideoTaskSettings):
    """One segment (a Ray task): processed into ``done`` unless an earlier attempt finished it.

    Returns the segment's VideoSummary; raises VideoError (the video then fails).
    """
    from ..video import VideoSummary

    record = Path(done + ".json")
    if Path(done).exists() and record.exists():
        return VideoSummary(**json.loads(record.read_text()))
    summary = _process(source, done, settings, copy_streams=False)
    with atomic_write(record, mode="w") as f:
        f.write(json.dumps(asdict(summary)))
    return summary


def _segmented(source: str, target: str, segments, settings: VideoTaskSettings):
    """Process the segments as tasks, join them into ``target``, and sum their summaries."""
    from ..video import VideoError, VideoSummary
    from .segments import join_segments

    ray = _ray.ray_module()
    started = time.perf_counter()
    work = segment_dir(target)
    suffix = Path(target).suffix
    done = [str(work / f"done-{k:04d}{suffix}") for k in range(len(segments))]
    task = ray.remote(process_segment_task).options(**settings.remote)
    refs = [task.remote(seg.path, out, settings) for seg, out in zip(segments, done)]
    parts = []
    for k, ref in enumerate(refs):
        try:
            parts.append(ray.get(ref))
        except ray.exceptions.RayTaskError as e:
            cause = getattr(e, "cause", None) or e
            raise VideoError(f"segment {k} (from {float(segments[k].start):.3f}s): {cause}") from None
        except ray.exceptions.RayError as e:
            raise VideoError(f"segment {k} (from {float(segments[k].start):.3f}s): {type(e).__name__}") from None
    copied = join_segments(done, segments, source, target, copy_streams=settings.copy_streams)
    notes = list(dict.fromkeys(n for p in parts for n in p.notes))
    notes.append(f"processed as {len(segments)} segments cut on keyframes, joined without re-encoding")
    summary = VideoSummary(
        source=source, output=target, frames_in=sum(p.frames_in for p in parts),
        frames_out=sum(p.frames_out for p in parts),
        bad_frames=[f"segment {k}: {b}" for k, p in enumerate(parts) for b in p.bad_frames],
        seconds=time.perf_counter() - started, complete=True, copied_streams=copied, notes=notes)
    shutil.rmtree(work, ignore_errors=True)
    return summary
