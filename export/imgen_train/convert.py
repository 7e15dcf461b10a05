"""A checkpoint file to an imgen ONNX file: recognise and load it (import_checkpoint), then export
it with the parity gate (export_onnx).  What ``imgen export`` and ``imgen import`` run.
"""
from __future__ import annotations

import os

from .export_onnx import ATOL, ExportReport, export
from .import_checkpoint import load_any


def export_checkpoint(checkpoint: str | os.PathLike, output: str | os.PathLike, *, name: str | None = None,
                      description: str | None = None, atol: float = ATOL, fp16: bool = False,
                      int8: bool = False, measure: bool = False) -> ExportReport:
    """Export an imgen-train checkpoint, or any checkpoint import_checkpoint recognises, to ``output``.

    description: imgen.description metadata (default: what the checkpoint says of itself).
    Raises FileNotFoundError, UnknownCheckpointError (a ValueError) or ExportError (parity).
    """
    model, found = load_any(checkpoint)
    return export(model, output, name=name, description=found if description is None else description,
                  atol=atol, fp16=fp16, int8=int8, measure=measure)
