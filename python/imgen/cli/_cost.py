"""Costs said before they are paid (#32 item 6): the CLI's side of :mod:`imgen.cost`.

Before a long run (a video, a folder, a learned model on CPU) the first image or frame is probed
and the estimate printed to stderr; a learned model expected to take more than SLOW_S a frame is
named as such, with the fastest of its task's classical methods measured the same way."""
from __future__ import annotations

import dataclasses
import logging
import os
import sys

import numpy as np

from ..cost import CostEstimate, estimate_cost, format_seconds
from ..restoration import METHODS as TASK_METHODS

log = logging.getLogger("imgen")

#: A learned model slower than this per image / frame is said to be slow, and the faster choice named.
SLOW_S = 1.0
#: The estimate is printed when the whole run is expected to take at least this long (or is slow).
LONG_RUN_S = 20.0
#: Runs with fewer pixels than this in all are not probed (the probe would cost more than it tells);
#: a learned model's from LEARNED_MIN_PIXELS (on CPU, 720p colour through the gray default is ~20 s).
MIN_PIXELS = 1_000_000
LEARNED_MIN_PIXELS = 250_000


def say_cost(processor, image: np.ndarray, items: int, *, what: str = "image", quiet: bool = False,
             threads: int | None = None, method_hint: str = "--method {method}") -> CostEstimate | None:
    """Probe ``processor`` (a FrameProcessor) on ``image`` (the run's first, in the processor's layout),
    print the estimate for ``items`` images to stderr when the run is long, and when a learned model
    takes more than SLOW_S per image, say so and name the faster choice.  quiet: print only the slow
    warning.  threads: the --threads given (named when below the core count).  method_hint: how this
    command takes a classical method ({method} and {task} are filled in).  Returns the estimate (None when not probed: small runs, or a probe that failed -- the
    run itself then reports the error)."""
    options = getattr(processor, "options", None)
    learned = options is not None and options.model is not None
    h, w = image.shape[:2]
    if h * w * max(items, 1) < min(MIN_PIXELS, LEARNED_MIN_PIXELS if learned else MIN_PIXELS):
        return None
    try:
        est = estimate_cost(processor, image, items, work=_model_work(processor) if learned else None)
    except Exception as e:  # noqa: BLE001 - the run reports its own errors; the probe must not add one
        log.debug("cost probe failed: %s", e)
        return None
    slow = learned and est.per_item_s > SLOW_S
    total = est.total_s or est.per_item_s
    if slow or (not quiet and total >= LONG_RUN_S):
        count = f"{items} {what}s" if items != 1 else f"1 {what}"
        print(f"imgen: estimate: {format_seconds(est.per_item_s)} per {what} ({w}x{h}) x {count} = about "
              f"{format_seconds(total)} on this machine (probed on a {est.crop[1]}x{est.crop[0]} crop)",
              file=sys.stderr)
    if slow:
        print(f"imgen: {_slow_words(processor, image, est, what, threads, method_hint)}", file=sys.stderr)
    return est


def _model_work(processor):
    """Pixels the processor's model computes for an image (tiles overlap: a 1280x720 frame through
    512-px tiles with a 96-px overlap is 6 tiles, 1.7x its area); None when its tiling is unknown."""
    import functools

    from ..cost import tiled_pixels
    from ..image_model import DEFAULT_OVERLAP, DEFAULT_TILE

    info = processor.model.info
    opts = processor.options
    if getattr(info, "whole_image", False) and opts.tile is None:
        return None
    tile = opts.tile if opts.tile is not None else info.tile if info.tile is not None else DEFAULT_TILE
    overlap = next(v for v in (opts.overlap, info.tile_overlap, info.overlap_needed, DEFAULT_OVERLAP) if v is not None)
    return functools.partial(tiled_pixels, tile=tile, overlap=overlap, multiple=info.size_multiple or 1)


def _slow_words(processor, image: np.ndarray, est: CostEstimate, what: str, threads: int | None,
                method_hint: str) -> str:
    model = processor.model
    where = getattr(model, "provider", "CPU")
    text = (f"{processor.name} is a learned model and takes more than {SLOW_S:g} s per {what} here "
            f"({format_seconds(est.per_item_s)} on {where})")
    choices = []
    faster = fastest_classical(processor, image, est)
    if faster is not None:
        name, task, per_item = faster
        choices.append(f"{method_hint.format(method=name, task=task)} ({format_seconds(per_item)} per {what}, "
                       f"{est.per_item_s / max(per_item, 1e-9):.0f}x faster, measured the same way)")
    cores = os.cpu_count() or 1
    if threads is not None and threads < cores:
        choices.append(f"--threads {cores} (this machine's cores; now {threads})")
    if not choices:
        return text + "; a GPU provider or a smaller input is the faster choice"
    return text + "; faster: " + ", or ".join(choices)


def fastest_classical(processor, image: np.ndarray, est: CostEstimate) -> tuple[str, str, float] | None:
    """(method, task, seconds per image) of the fastest classical method of the processor's task that is
    faster than the model, timed on the same crop; None when none is (or none can be built: SR
    needs the scale, deblurring the kernel)."""
    from ..processors import FrameProcessor

    opts = processor.options
    task = getattr(processor.model.info, "task", None) or opts.task  # `imgen run` leaves it to the model
    if task not in TASK_METHODS:  # translate, inpaint, ...: no classical twin
        return None
    scale = processor.scale if task == "sr" else None
    best = None
    for method in TASK_METHODS.get(task, ()):
        try:
            alt = FrameProcessor(dataclasses.replace(opts, model=None, method=method, info=(), task=task,
                                                     scale=scale, tile=None, overlap=None, batch_size=None))
            per_item = estimate_cost(alt, image).per_item_s
        except Exception as e:  # noqa: BLE001 - a method that cannot run here is simply not suggested
            log.debug("no %s for the faster-choice probe: %s", method, e)
            continue
        if per_item < est.per_item_s and (best is None or per_item < best[2]):
            best = (method, task, per_item)
    return best


def say_files_cost(processor, jobs, *, quiet: bool, max_pixels: int | None, threads: int | None = None,
                   method_hint: str = "--method {method}") -> CostEstimate | None:
    """:func:`say_cost` for a folder run: probed on the first readable of ``jobs`` (imageio.Job),
    the estimate for all of them (as if each were that size)."""
    from ..errors import ImgenError
    from ..imageio import ImageFileError, read_image

    for job in list(jobs)[:3]:
        try:
            image = read_image(job.source, max_pixels=max_pixels)
        except (ImageFileError, ImgenError, ValueError):
            continue  # the run reports it
        return say_cost(processor, image, len(jobs), what="image", quiet=quiet, threads=threads,
                        method_hint=method_hint)
    return None


def say_video_cost(processor, source, *, quiet: bool, threads: int | None, max_pixels: int | None) -> CostEstimate | None:
    """:func:`say_cost` for a video file or frame folder: probed on its first frame, the estimate for
    its frame count (the header's or estimated; 1 when unknown).  Silent when the input cannot be
    decoded: the run says what is wrong with it."""
    from ..errors import ImgenError
    from ..video.api import first_frame
    from ..video.result import VideoError

    try:
        frame, count = first_frame(source, max_pixels=max_pixels)
    except (VideoError, ImgenError, ValueError, OSError):
        return None
    return say_cost(processor, frame, count or 1, what="frame", quiet=quiet, threads=threads)


def files_cost_hook(*, quiet: bool, max_pixels: int | None, threads: int | None, method_hint: str):
    """A ``before`` hook for ``batch.run_images``: with a ProcessorOptions job's processor and the
    files to do, log which provider runs its model and say what the run will cost
    (:func:`say_files_cost`, naming a faster method as ``method_hint`` says)."""
    def before(process, files) -> None:
        model = getattr(process, "model", None)
        if model is not None:
            log.info("model %s on %s", model.name, model.provider)
        say_files_cost(process, files, quiet=quiet, max_pixels=max_pixels, threads=threads,
                       method_hint=method_hint)
    return before
