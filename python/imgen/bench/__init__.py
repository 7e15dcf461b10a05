"""Classical-vs-learned denoising benchmarks: ``imgen.bench.run(...)`` and ``imgen bench``."""
from __future__ import annotations

from .protocol import Protocol
from .runner import BenchResult, run
from .samples import Sample

__all__ = ["BenchResult", "Protocol", "Sample", "run"]
