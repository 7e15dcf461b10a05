"""What the file runs do to each image: the :class:`Job` / :class:`Processor` protocol that the
local file loop (``imgen.batch.run_images``), Ray (``imgen.distributed.run_images``, one
:class:`Processor` built per actor) and ``imgen serve`` all run, and the jobs of the commands whose
work is not a :class:`imgen.processors.ProcessorOptions`: ``imgen inpaint`` (:class:`InpaintJob`)
and ``imgen reconstruct`` (:class:`ReconstructJob`).

A job is a small frozen, picklable description (no loaded model), called once where it runs
(``job(threads)``) to load its model(s) there and return the :class:`Processor`, the batch function
``list[HWC image] -> list[HWC image]``.  ``ProcessorOptions`` (a model or a classical method),
``InpaintJob`` and ``ReconstructJob`` satisfy :class:`Job`; ``FrameProcessor``,
``InpaintProcessor``, the reconstruct function and ``client.RemoteProcessor`` satisfy
:class:`Processor`.  (Not to be confused with ``imgen.imageio.Job``, one source -> target pair.)
"""
from __future__ import annotations

import os
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Protocol, Sequence, overload, runtime_checkable

import numpy as np

from .inpainting.process import InpaintProcessor, MaskSource


@runtime_checkable
class Processor(Protocol):
    """A batch function: HWC images (uint8, uint16 or float32 in [0, 1]; BGR(A) as files read) in,
    one output per image out, each keeping its input's dtype.  ``notes``: what it had to convert
    (gray/colour, alpha), for the run's report.  Safe to call from several threads at once (serve
    shares one per model and options)."""

    notes: set[str]

    def __call__(self, images: Sequence[np.ndarray]) -> list[np.ndarray]: ...


@runtime_checkable
class Job(Protocol):
    """What to do to each image file: a frozen, picklable description, built (``job(threads)``)
    once per process that runs it.

    model: the model file or shipped name it loads, or None (whether workers may want a GPU);
    providers: onnxruntime's providers, None = the default (TensorRT > CUDA > CPU); desc: a short
    name for progress bars; per_file: each file must run on its own, the processor's ``name`` set
    to the file's name first (``imgen inpaint --mask-dir``: a mask per image by name).
    """

    @property
    def model(self) -> str | None: ...

    @property
    def providers(self) -> tuple[str, ...] | None: ...

    @property
    def desc(self) -> str: ...

    @property
    def per_file(self) -> bool: ...

    def portable(self) -> "Job":
        """The same job with absolute paths (workers may run in another folder)."""
        ...

    def with_providers(self, providers: tuple[str, ...] | None) -> "Job":
        """The same job on other onnxruntime providers (e.g. ("cpu",) to check it loads)."""
        ...

    def __call__(self, threads: int | None = None) -> Processor:
        """The processor, its model(s) loaded with ``threads`` onnxruntime threads (None: the job's own,
        else all cores); raises ImgenError (ModelError) when a model does not load or fit."""
        ...


@overload
def model_ref(model: str | os.PathLike) -> str: ...


@overload
def model_ref(model: None) -> None: ...


def model_ref(model: str | os.PathLike | None) -> str | None:
    """A model file as an absolute path (workers may run elsewhere); a shipped name as it is."""
    if model is None:
        return None
    path = os.fspath(model)
    return os.path.abspath(path) if os.path.exists(path) else path


def _absolute(path: str | None) -> str | None:
    return None if path is None else os.path.abspath(path)


@dataclass(frozen=True)
class InpaintJob:
    """``imgen inpaint``: fill each image's holes (``masks``) by a classical ``method`` or an
    inpaint ``model`` (file or shipped name) on ``providers``."""

    masks: MaskSource
    method: str | None = None
    model: str | None = None
    providers: tuple[str, ...] | None = None

    def __post_init__(self) -> None:
        if (self.method is None) == (self.model is None):
            raise ValueError("give a method or a model, not both")

    @property
    def per_file(self) -> bool:
        """A mask per image, found by the image's file name in a folder."""
        return self.masks.folder is not None

    @property
    def desc(self) -> str:
        return Path(self.model).stem if self.model else str(self.method)

    def with_providers(self, providers: tuple[str, ...] | None) -> "InpaintJob":
        return replace(self, providers=providers)

    def portable(self) -> "InpaintJob":
        masks = replace(self.masks, path=_absolute(self.masks.path), folder=_absolute(self.masks.folder))
        return replace(self, masks=masks, model=model_ref(self.model))

    def __call__(self, threads: int | None = None) -> InpaintProcessor:
        from .inpainting.model import InpaintModel

        model = None
        if self.model is not None:
            model = InpaintModel.open(self.model, providers=self.providers, threads=threads)
        return InpaintProcessor(self.masks, method=self.method, model=model)


@dataclass(frozen=True)
class ReconstructJob:
    """``imgen reconstruct``: decode(encode(x)) of BGR(A) files with a VAE ``encoder`` and
    ``decoder`` (files or shipped names); ``resize`` to the encoder's size, else a size
    mismatch is that file's error; ``info``: --info KEY=VALUE overrides for both models."""

    encoder: str
    decoder: str
    resize: bool = False
    providers: tuple[str, ...] | None = None
    info: tuple[tuple[str, str], ...] = ()

    per_file = False

    @property
    def model(self) -> str:
        return self.encoder

    @property
    def desc(self) -> str:
        return "reconstruct"

    def with_providers(self, providers: tuple[str, ...] | None) -> "ReconstructJob":
        return replace(self, providers=providers)

    def portable(self) -> "ReconstructJob":
        return replace(self, encoder=model_ref(self.encoder), decoder=model_ref(self.decoder))

    def __call__(self, threads: int | None = None) -> "_Reconstruct":
        from .engine import Model
        from .generative import Encoder, Generator

        opened = [Model.open(m, providers=self.providers, threads=threads, metadata=dict(self.info))
                  for m in (self.encoder, self.decoder)]
        encoder = Encoder.adopt(opened[0], "imgen reconstruct", hint=" (a VAE encoder)")
        decoder = Generator.adopt(opened[1], "imgen reconstruct", hint=" (a VAE decoder)")
        return _Reconstruct(encoder, decoder, self.resize)


class _Reconstruct:
    """The batch function of :class:`ReconstructJob` (what ``imgen reconstruct`` runs locally)."""

    def __init__(self, encoder, decoder, resize: bool):
        self.encoder, self.decoder, self.resize = encoder, decoder, resize
        self.notes: set[str] = set()

    def __call__(self, images: Sequence[np.ndarray]) -> list[np.ndarray]:
        from .generative import reconstruct

        return list(reconstruct(self.encoder, self.decoder, images, color_order="bgr", resize=self.resize))
