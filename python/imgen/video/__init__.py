"""Video: frames through a model or a classical denoiser, decoded and encoded with PyAV.

Three entry points (PyAV, the ``[video]`` extra, is imported only when a video file is used):

- :func:`process_frames` -- any iterable of HWC frames in, processed frames out, pipelined;
- :func:`process_video` -- a video file or frame folder in, one out, atomically, streams copied;
- :func:`make_processor` -- the ``list[ndarray] -> list[ndarray]`` callable the CLI builds from
  its options (picklable: a worker process rebuilds the model from the options).
"""
from __future__ import annotations

from ..processors import FrameProcessor, ProcessorOptions, make_processor
from ._av import INSTALL_HINT, VideoSupportMissing
from .api import process_video
from .options import EncodeOptions
from .pipeline import process_frames
from .result import VideoError, VideoInterrupted, VideoSummary

__all__ = [
    "EncodeOptions",
    "FrameProcessor",
    "INSTALL_HINT",
    "ProcessorOptions",
    "VideoError",
    "VideoInterrupted",
    "VideoSummary",
    "VideoSupportMissing",
    "make_processor",
    "process_frames",
    "process_video",
]
