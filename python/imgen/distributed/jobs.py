"""The jobs of ``imgen inpaint`` and ``imgen reconstruct`` and ``model_ref``, kept importable here;
they live in :mod:`imgen.jobs` with the ``Job`` / ``Processor`` protocol every file run takes."""
from __future__ import annotations

from ..jobs import InpaintJob, ReconstructJob, model_ref

__all__ = ["InpaintJob", "ReconstructJob", "model_ref"]
