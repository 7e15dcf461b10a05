"""imgen serve --ray: the app deployed with Ray Serve on the shared local Ray instance."""
from __future__ import annotations

import functools
import io
import time
import urllib.request

import numpy as np
import pytest

pytest.importorskip("ray.serve")
from imgen.serve.app import create_app  # noqa: E402
from imgen.serve.models import serve_models  # noqa: E402
from imgen.serve.ray_serve import Replicas, deploy, shutdown  # noqa: E402
from onnx_models import identity, meta  # noqa: E402
from serve_process import free_port  # noqa: E402


def _build(specs):
    return create_app(serve_models(specs))


@pytest.mark.slow
def test_ray_serve_deploys_the_app(ray_cluster, tmp_path, rng):
    model = identity(tmp_path / "ident.onnx", channels=3, metadata=meta(task="restore", channels=3))
    port = free_port()
    deploy(functools.partial(_build, [model]), Replicas(replicas=1, cpus=0.5), port=port)
    try:
        url = f"http://127.0.0.1:{port}"
        img = rng.integers(0, 256, (8, 8, 3), dtype=np.uint8)
        buf = io.BytesIO()
        np.save(buf, img)
        deadline = time.monotonic() + 60
        while True:
            try:
                req = urllib.request.Request(url + "/v1/models/ident", data=buf.getvalue(), method="POST")
                with urllib.request.urlopen(req, timeout=30) as r:
                    out = np.load(io.BytesIO(r.read()))
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.5)
        np.testing.assert_array_equal(out, img)
        with urllib.request.urlopen(url + "/v1/models", timeout=30) as r:
            assert b"ident" in r.read()
    finally:
        shutdown()
