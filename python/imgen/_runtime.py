"""ONNX Runtime: import, execution-provider choice and session creation."""
from __future__ import annotations

import logging
import os
from typing import Sequence

from .errors import ModelError, RuntimeMissingError, require

log = logging.getLogger("imgen")

# Best first: the first of these that onnxruntime offers is used when the caller names none.
PREFERRED_PROVIDERS = ("TensorrtExecutionProvider", "CUDAExecutionProvider", "CPUExecutionProvider")
_GPU_PROVIDERS = ("TensorrtExecutionProvider", "CUDAExecutionProvider")


def onnxruntime():
    """The onnxruntime module, or RuntimeMissingError saying how to install it."""
    return require("onnxruntime", purpose="imgen", extra="cpu", package="ONNX Runtime", error=RuntimeMissingError,
                   install="pip install 'imgen[cpu]' (or 'imgen[gpu]' for CUDA/TensorRT)")


def available_providers() -> list[str]:
    return list(onnxruntime().get_available_providers())


def choose_providers(requested: Sequence[str] | str | None) -> list[str]:
    """The provider list to create a session with.

    None: TensorRT -> CUDA -> CPU, whichever are available.  A name or list: used as given
    (short names like "cuda" or "cpu" are accepted); unknown or unavailable names raise ModelError.
    """
    available = available_providers()
    if requested is None:
        chosen = [p for p in PREFERRED_PROVIDERS if p in available]
        return chosen or available
    if isinstance(requested, str):
        requested = [requested]
    chosen = []
    for name in requested:
        full = _full_provider_name(name)
        if full not in available:
            raise ModelError(f"execution provider {name!r} is not available; available: {', '.join(available)}")
        chosen.append(full)
    if not chosen:
        raise ModelError("providers is empty")
    return chosen


def _full_provider_name(name: str) -> str:
    short = {"cpu": "CPUExecutionProvider", "cuda": "CUDAExecutionProvider",
             "tensorrt": "TensorrtExecutionProvider", "trt": "TensorrtExecutionProvider"}
    return short.get(name.lower(), name)


def create_session(path: str, providers: list[str], threads: int | None):
    """An InferenceSession for an ONNX file; ModelError for a missing or unreadable file."""
    ort = onnxruntime()
    if not os.path.exists(path):
        raise ModelError(f"model file not found: {path}")
    if os.path.isdir(path):
        raise ModelError(f"model path is a folder, expected an .onnx file: {path}")
    opts = session_options(threads)
    try:
        return ort.InferenceSession(path, sess_options=opts, providers=providers)
    except Exception as e:  # onnxruntime raises its own exception types
        if any(p in _GPU_PROVIDERS for p in providers) and "CPUExecutionProvider" in providers:
            fallback = [p for p in providers if p not in _GPU_PROVIDERS]
            log.warning("could not start %s (%s); falling back to %s", providers[0], e, fallback)
            try:
                return ort.InferenceSession(path, sess_options=opts, providers=fallback)
            except Exception:
                pass
        raise ModelError(f"cannot load ONNX model {path}: {_first_line(e)}") from e


def session_options(threads: int | None):
    """imgen's SessionOptions: ENABLE_ALL graph optimisation (NCHWc included), quiet logging and,
    when ``threads`` is given, that many intra-op threads and one inter-op thread."""
    ort = onnxruntime()
    opts = ort.SessionOptions()
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    # Fatal only: onnxruntime's own error lines (coloured "[E:onnxruntime:...]" dumps) never reach
    # the user; every failure comes back as one ModelError naming the model and its inputs.
    opts.log_severity_level = 4
    if threads is not None:
        if threads < 0:
            raise ValueError(f"threads must be >= 0 (0 = onnxruntime's default), got {threads}")
        opts.intra_op_num_threads = threads
        opts.inter_op_num_threads = 1
    return opts


def _first_line(e: Exception) -> str:
    text = str(e).strip()
    return text.splitlines()[0] if text else type(e).__name__


def is_gpu(provider: str) -> bool:
    return provider in _GPU_PROVIDERS
