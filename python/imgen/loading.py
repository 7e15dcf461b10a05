"""``imgen.load``: open an ONNX model as the wrapper its task calls for."""
from __future__ import annotations

import os
from typing import Mapping, Sequence

from .engine import Model
from .generative import Encoder, Generator
from .image_model import ImageModel
from .inpainting.model import InpaintModel

#: The wrapper for each purpose; a model whose task none of them serves stays a plain Model.
PURPOSES: tuple[type[Model], ...] = (ImageModel, Generator, Encoder, InpaintModel)


def load(
    path: str | os.PathLike,
    *,
    providers: Sequence[str] | str | None = None,
    threads: int | None = None,
    info: Mapping[str, object] | None = None,
) -> Model:
    """Open an ONNX model (a path, or the name of a shipped model): an ImageModel (denoise,
    restore, translate; call it on images), a Generator (generate, decode) an Encoder (encode) or an InpaintModel (inpaint),
    as its ``imgen.task`` metadata says; else a plain Model (``run()`` only).

    providers: onnxruntime execution providers; None picks the best available
        (TensorRT -> CUDA -> CPU).  threads: onnxruntime intra-op threads (None = its default).
    info: ModelInfo fields that override or supply the file's imgen metadata, e.g.
        {"channels": 3, "scale": 4} for a model exported without it.
    Raises ModelError for a missing/corrupt file, bad metadata or unavailable providers.
    """
    model = Model.open(path, providers=providers, threads=threads, info=info)
    for purpose in PURPOSES:
        if model.info.task in purpose.TASKS:
            return purpose.adopt(model, "imgen.load")
    return model
