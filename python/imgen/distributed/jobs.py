"""What a Ray worker builds for the image commands whose work is not a ``ProcessorOptions``:
``imgen inpaint`` (:class:`InpaintJob`) and ``imgen reconstruct`` (:class:`ReconstructJob`).

Each is a small frozen dataclass, picklable, called once per actor with its thread count (a
``ProcessFactory`` of ``map_images``) to load its model(s) there and return the batch function
list[HWC BGR(A) image] -> list[HWC image].  ``run_images`` takes one wherever it takes a
``ProcessorOptions``.  The attributes ``run_images`` reads: ``model`` and ``providers`` (whether
workers need a GPU), ``desc`` (the progress bar), ``per_file`` (each file run on its own, the
batch function's ``name`` set to the file's name first, as for a mask per image), and
``portable()`` (the same job with absolute paths, for workers whose working folder differs).
"""
from __future__ import annotations

import os
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Sequence

import numpy as np

from ..inpainting.process import InpaintProcessor, MaskSource


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

    def portable(self) -> "InpaintJob":
        masks = replace(self.masks, path=_absolute(self.masks.path), folder=_absolute(self.masks.folder))
        return replace(self, masks=masks, model=model_ref(self.model))

    def __call__(self, threads: int | None = None) -> InpaintProcessor:
        from ..inpainting.model import InpaintModel

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

    def portable(self) -> "ReconstructJob":
        return replace(self, encoder=model_ref(self.encoder), decoder=model_ref(self.decoder))

    def __call__(self, threads: int | None = None) -> "_Reconstruct":
        from ..engine import Model
        from ..generative import Encoder, Generator

        opened = [Model.open(m, providers=self.providers, threads=threads, metadata=dict(self.info))
                  for m in (self.encoder, self.decoder)]
        encoder = Encoder.adopt(opened[0], "imgen reconstruct", hint=" (a VAE encoder)")
        decoder = Generator.adopt(opened[1], "imgen reconstruct", hint=" (a VAE decoder)")
        return _Reconstruct(encoder, decoder, self.resize)


class _Reconstruct:
    """The batch function of :class:`ReconstructJob` (what ``imgen reconstruct`` runs locally)."""

    def __init__(self, encoder, decoder, resize: bool):
        self.encoder, self.decoder, self.resize = encoder, decoder, resize

    def __call__(self, images: Sequence[np.ndarray]) -> list[np.ndarray]:
        from ..generative import reconstruct

        return list(reconstruct(self.encoder, self.decoder, images, color_order="bgr", resize=self.resize))
