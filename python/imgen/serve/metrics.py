"""Prometheus metrics of one app: requests, errors by kind, queue depth, batch sizes, latency."""
from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


class Metrics:
    """One registry per app (so tests and several apps in a process do not collide)."""

    def __init__(self):
        self.registry = CollectorRegistry()
        self.requests = Counter("imgen_requests", "Inference requests by model and HTTP status",
                                ["model", "status"], registry=self.registry)
        self.errors = Counter("imgen_errors", "Failed requests by kind", ["kind"], registry=self.registry)
        self.queue_depth = Gauge("imgen_queue_depth", "Images waiting or running", registry=self.registry)
        self.memory_reserved = Gauge("imgen_memory_reserved_bytes", "Working memory reserved by admitted images",
                                     registry=self.registry)
        self.uploads = Gauge("imgen_uploads", "Request bodies being received", registry=self.registry)
        self.batch_size = Histogram("imgen_batch_size", "Images per model run", registry=self.registry,
                                    buckets=(1, 2, 4, 8, 16, 32, 64))
        self.latency = Histogram("imgen_request_seconds", "Request latency in seconds, by model", ["model"],
                                 registry=self.registry)

    def render(self) -> bytes:
        return generate_latest(self.registry)
