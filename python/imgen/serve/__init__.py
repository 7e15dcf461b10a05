"""`imgen serve`: models behind an HTTP endpoint (Starlette on uvicorn), with dynamic batching,
limits and Prometheus metrics.  Needs the [serve] extra.  See docs/serving.md."""
from __future__ import annotations

from .batching import Batcher, QueueFull
from .models import ServedModel, serve_models

__all__ = ["Batcher", "QueueFull", "ServedModel", "serve_models"]
