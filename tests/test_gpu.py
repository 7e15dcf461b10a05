"""CUDA execution provider parity (skipped without a CUDA device and onnxruntime-gpu)."""
from __future__ import annotations

import numpy as np
import pytest

import imgen
from imgen._runtime import available_providers

import onnx_models as om

pytestmark = pytest.mark.gpu

needs_cuda = pytest.mark.skipif("CUDAExecutionProvider" not in available_providers(),
                                reason="no CUDAExecutionProvider (needs onnxruntime-gpu and a CUDA device)")


@needs_cuda
def test_cuda_matches_cpu(tmp_path, rng):
    path, _, _ = om.conv3x3(tmp_path / "c.onnx", 3)
    cpu = imgen.load(path, providers=["cpu"])
    gpu = imgen.load(path, providers=["cuda", "cpu"])
    assert gpu.provider == "CUDAExecutionProvider"
    img = rng.random((300, 420, 3)).astype(np.float32)
    np.testing.assert_allclose(gpu(img, tile=128, overlap=32), cpu(img, tile=128, overlap=32), atol=1e-5)
    batch = rng.integers(0, 256, (4, 64, 64, 3), dtype=np.uint8)
    np.testing.assert_array_equal(gpu(batch), cpu(batch))
