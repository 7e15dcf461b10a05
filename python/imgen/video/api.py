"""process_video: one video file or frame folder in, one out, through a pipelined processor."""
from __future__ import annotations

import logging
import os
import sys
import threading
import time
from dataclasses import replace
from fractions import Fraction
from typing import Callable, Generator, Sequence, cast

import numpy as np

from ..atomic import remove_stale_temps
from .journal import open_journal, remove_work_dir, source_key
from .options import EncodeOptions
from .parts import DEFAULT_PART_SECONDS, PartedSink
from .paths import check_not_input, frame_files, input_location, output_location
from .pipeline import DEFAULT_BATCH_SIZE, DEFAULT_QUEUE_SIZE, pipelined
from .result import VideoError, VideoInterrupted, VideoSummary
from .sink import FrameFolderSink, VideoFileSink
from .source import DEFAULT_FOLDER_FPS, BadFrameStop, DecodedFrame, FrameFolderSource, VideoFileSource

log = logging.getLogger("imgen")

Processor = Callable[[list[np.ndarray]], Sequence[np.ndarray]]


def process_video(
    src: str | os.PathLike,
    dst: str | os.PathLike,
    processor: Processor,
    *,
    options: EncodeOptions | None = None,
    on_bad_frame: str = "skip",
    progress: bool = False,
    batch_size: int = DEFAULT_BATCH_SIZE,
    queue_size: int = DEFAULT_QUEUE_SIZE,
    fps: float | Fraction | None = None,
    copy_streams: bool = True,
    decode_threads: int = 0,
    desc: str | None = None,
    max_pixels: int | None = None,
    resume: bool = False,
    part_seconds: float | None = DEFAULT_PART_SECONDS,
) -> VideoSummary:
    """Run ``processor`` over every frame of a video (or frame folder) and write the result.

    src: a video file (anything FFmpeg reads), a folder of image files (natural order) or a
        pattern such as ``frames/%06d.png``.
    dst: a video file (the extension picks the container: .mp4, .mkv, .mov, ...), or a frame
        pattern / folder (``out/%06d.png``; a folder gets ``%06d.png``), numbered from 1.
    processor: ``list[ndarray] -> list[ndarray]`` on HWC RGB frames -- uint8, or uint16 for
        sources deeper than 8 bits (frame folders give their files' own channels and dtype) --
        e.g. :func:`imgen.video.make_processor`.  Outputs may be larger (upscalers); all frames
        must come out the same size.
    options: the encoder (:class:`EncodeOptions`; default libx264, CRF 18, the source's
        pixel format).  The source's frame rate, timestamps (variable frame rates included),
        colour tags and sample aspect ratio are kept; audio and subtitle streams are copied
        without re-encoding where the output container takes them (``copy_streams``).
    on_bad_frame: "skip" reports an undecodable frame in ``bad_frames`` and carries on; "stop"
        ends the run there (VideoError, the frames before it kept as a partial output).
    progress: a tqdm progress bar on stderr (frames/s and ETA).
    batch_size / queue_size: frames per processor call / frames buffered between stages.
    fps: the frame rate of frame-folder inputs (default 25).
    decode_threads: FFmpeg decoder threads (0 = automatic).
    max_pixels: frame files over this many pixels are bad frames (see imgen.imageio.read_image).
    part_seconds: a video file made into a video file and lasting at least twice this (its video
        stream's own duration) is written as closed parts of about this many source seconds,
        journalled in a hidden folder beside ``dst`` (:mod:`imgen.video.parts`), then joined by
        remuxing; None or 0 = always one file.  resume: continue such a run that was stopped or
        killed -- only the frames after its last closed part are decoded and processed (when the
        input and the settings are unchanged); without it, an earlier run's parts are deleted.

    Decoding, processing and encoding run on their own threads, overlapped, with bounded queues
    between them.  The output is written to a temporary file beside ``dst`` and renamed into
    place when complete; the input is never overwritten.  Temporary files a killed run left
    beside ``dst`` are deleted; a complete run deletes an earlier run's ``OUTPUT.partial.EXT``.

    Returns a VideoSummary (frames_in, frames_out, bad_frames, seconds, output, ...).
    Raises VideoError (an ImgenError) for inputs or outputs that cannot be used and runs that
    fail or stop on a bad frame -- ``error.summary`` then says what was kept -- and
    VideoInterrupted (a KeyboardInterrupt) on Ctrl+C, any KeyboardInterrupt raised in the calling
    thread (its ``__cause__``) or one from the processor: the frames encoded so far are finalised
    into a playable ``OUTPUT.partial.EXT`` (``error.summary.output``; frame folders keep the frames
    written) and ``dst`` is not touched.
    """
    if not callable(processor):
        raise TypeError(f"processor must be a callable list[ndarray] -> list[ndarray], got {type(processor).__name__}")
    options = options or EncodeOptions()
    source_loc, target_loc = input_location(src), output_location(dst)
    if on_bad_frame not in ("skip", "stop"):
        raise ValueError(f"on_bad_frame must be 'skip' or 'stop', got {on_bad_frame!r}")
    if batch_size < 1 or queue_size < 1:
        raise ValueError(f"batch_size and queue_size must be >= 1, got {batch_size} and {queue_size}")

    if source_loc.is_frames:
        files = frame_files(source_loc)
        check_not_input(source_loc, target_loc, files)
        rate = Fraction(fps).limit_denominator(1001) if fps else DEFAULT_FOLDER_FPS  # 29.97 -> 2997/100
        source = FrameFolderSource(files, fps=rate, on_bad_frame=on_bad_frame, max_pixels=max_pixels)
        if options.deinterlace:
            source.notes.append("deinterlacing applies to video files; frame files were used as they are")
    else:
        check_not_input(source_loc, target_loc)
        if fps:
            raise ValueError("fps applies to frame-folder inputs; a video keeps its own timestamps")
        source = VideoFileSource(
            source_loc.path, on_bad_frame=on_bad_frame, threads=decode_threads,
            copy_streams=copy_streams and not target_loc.is_frames,
            no_copy_reason="frame folders hold only images" if copy_streams else "copying turned off",
            deinterlace=options.deinterlace)
    notes = source.notes
    try:
        sink = _make_sink(source, target_loc, processor, options, copy_streams=copy_streams, resume=resume,
                          part_seconds=part_seconds)
    except BaseException:
        if isinstance(source, VideoFileSource):
            source.close()
        raise
    run = _Run(source, sink, processor, batch_size=batch_size, queue_size=queue_size)
    summary = VideoSummary(source=str(source_loc), output=None)
    started = time.perf_counter()
    bar = _progress_bar(progress, source.info.frames, desc)
    run.bar = bar
    thread = threading.Thread(target=run.main, name="imgen-video-write", daemon=True)
    interrupted: KeyboardInterrupt | None = None
    try:
        thread.start()
        # Waiting on an Event, not Thread.join: a join interrupted by Ctrl+C can take the thread
        # for finished while it still runs (CPython before 3.13).
        try:
            while not run.finished.wait(0.1):
                pass
        except KeyboardInterrupt as e:  # Ctrl+C, or SIGTERM turned into one by the CLI
            interrupted = e
            run.stop.set()
            run.finished.wait()  # the writer finalises the partial output
    finally:
        if bar is not None:
            if run.outcome == "done":
                bar.total = bar.n  # the frame count was an estimate
                bar.refresh()
            bar.close()
    summary.seconds = time.perf_counter() - started
    summary.frames_in, summary.frames_out = source.frames_in, sink.frames_out
    summary.bad_frames = list(source.bad_frames)
    summary.copied_streams = list(sink.copied)
    summary.notes = list(dict.fromkeys(notes + sorted(getattr(processor, "notes", ()))))
    summary.output = run.output
    summary.complete = run.outcome == "done"
    if interrupted is not None or run.outcome == "interrupted":
        raise VideoInterrupted(summary) from interrupted
    if run.outcome == "stopped":
        kept = f"; frames before it kept in {run.output}" if run.output else ""
        raise VideoError(f"stopped at a bad frame: {run.error}{kept}", summary) from run.error
    if run.outcome == "failed":
        if isinstance(run.error, VideoError):
            run.error.summary = summary
            raise run.error
        if isinstance(run.error, (ValueError, TypeError)):
            raise VideoError(f"processing failed at frame {sink.frames_out}: {run.error}", summary) from run.error
        raise run.error
    return summary


def first_frame(src: str | os.PathLike, *, max_pixels: int | None = None) -> tuple[np.ndarray, int | None]:
    """The first decodable frame of a video file or frame folder (HWC RGB, as ``process_video`` hands
    its processor) and the frame count: the header's, one estimated from the stream's duration, the
    folder's file count, or None where none is known.  For probing a run's cost before it starts.
    Raises VideoError when nothing can be decoded."""
    loc = input_location(src)
    source: FrameFolderSource | VideoFileSource
    if loc.is_frames:
        source = FrameFolderSource(frame_files(loc), max_pixels=max_pixels)
    else:
        source = VideoFileSource(loc.path, copy_streams=False, no_copy_reason="probe")
    frames = cast(Generator[DecodedFrame, None, None], source.frames())
    try:
        first = next(frames, None)
    finally:
        frames.close()  # a VideoFileSource closes its container here
    if first is None:
        raise VideoError(f"{loc}: no frame could be decoded")
    return first.image, source.info.frames


def _make_sink(source, target_loc, processor, options: EncodeOptions, *, copy_streams: bool, resume: bool,
               part_seconds: float | None):
    """The sink for the target: frame files, one video file, or closed parts (long videos; the
    source then starts where an earlier run's parts end, when resuming)."""
    if target_loc.is_frames:
        return FrameFolderSink(target_loc, notes=source.notes)
    target = target_loc.path
    remove_stale_temps([target])
    info = source.info
    long = isinstance(source, VideoFileSource) and part_seconds and info.duration and info.duration >= 2 * part_seconds
    if not long:
        remove_work_dir(target)  # an earlier parted run's, now superseded
        return VideoFileSink(target, options=options, info=info, copy_streams=source.copy_streams, notes=source.notes)
    key_options = replace(options, quiet=False, threads=0)
    settings = f"{key_options!r} {_describe(processor)} part_seconds={part_seconds}"
    journal, note = open_journal(target, source_key(source.path, settings), resume=resume)
    if note:
        source.notes.append(note)
    if journal.parts:
        source.start_at(journal.resume_pts)
        source.notes.append(f"resumed: {journal.frames_done} frame(s) in {len(journal.parts)} part(s) from an earlier "
                            f"run kept; decoding began at t={float(journal.resume_pts * info.time_base):.3f} s")
    source.demux_copies = False  # the join copies audio and subtitles from the file
    return PartedSink(target, options=options, info=info, source=source.path, copy_streams=bool(source.copy_streams),
                      notes=source.notes, journal=journal, part_seconds=part_seconds)


def _describe(processor) -> str:
    """What the processor does, for the resume journal: its options when it has them (a
    FrameProcessor), else its qualified name."""
    options = getattr(processor, "options", None)
    if options is not None:
        return repr(options)
    named = processor if hasattr(processor, "__qualname__") else type(processor)
    return f"{named.__module__}.{named.__qualname__}"


class _Run:
    """The writer thread: pulls processed frames from the pipeline, writes them, finalises."""

    def __init__(self, source, sink, processor: Processor, *, batch_size: int, queue_size: int):
        self.source, self.sink, self.processor = source, sink, processor
        self.batch_size, self.queue_size = batch_size, queue_size
        self.stop = threading.Event()
        self.finished = threading.Event()
        self.outcome = "failed"
        self.error: BaseException | None = None
        self.output: str | None = None
        self.bar = None

    def _process(self, batch: list[DecodedFrame]) -> list[DecodedFrame]:
        outs = self.processor([f.image for f in batch])
        if outs is None or len(outs) != len(batch):
            raise VideoError(f"the processor returned {0 if outs is None else len(outs)} frames for "
                             f"{len(batch)}")
        for frame, out in zip(batch, outs):
            if not isinstance(out, np.ndarray):
                raise VideoError(f"the processor returned a {type(out).__name__}, not a numpy image")
            frame.image = out
        return batch

    def main(self) -> None:
        try:
            self._write_all()
        finally:
            self.finished.set()

    def _write_all(self) -> None:
        frames = pipelined(self.source.frames(), self._process, batch_size=self.batch_size,
                           queue_size=self.queue_size, stop=self.stop, name="imgen-video")
        try:
            for frame in frames:
                self.sink.write(frame)
                if self.bar is not None:
                    self.bar.update(1)
            self.outcome = "interrupted" if self.stop.is_set() else "done"
        except KeyboardInterrupt:
            self.outcome = "interrupted"
        except BadFrameStop as e:
            self.outcome, self.error = "stopped", e
        except BaseException as e:
            self.outcome, self.error = "failed", e
        finally:
            frames.close()
        self._finalise()

    def _finalise(self) -> None:
        if self.bar is not None and self.outcome in ("done", "interrupted", "stopped"):
            # flushing the encoder, copying the other streams and closing the file can take many
            # seconds after the last frame: say so rather than sit silent at 100 %
            self.bar.set_postfix_str(FINALISING, refresh=True)
        try:
            if self.outcome == "done":
                self.output = self.sink.finish(self.source.trailing_packets)
            elif self.outcome in ("interrupted", "stopped"):
                self.output = self.sink.finish_partial()
            else:
                self.sink.discard()
        except BaseException as e:
            self.outcome, self.error = "failed", e
            self.sink.discard()


#: What the progress bar says once the last frame is written, while the file is finalised.
FINALISING = "finalising the file (flushing the encoder, copying streams)"


def _progress_bar(enabled: bool, total: int | None, desc: str | None):
    if not enabled:
        return None
    from tqdm import tqdm

    return tqdm(total=total, unit="frame", desc=desc or "video", file=sys.stderr, dynamic_ncols=True)
