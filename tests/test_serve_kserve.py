"""imgen serve's Open Inference Protocol (KServe v2) endpoints: in-process with JSON and the binary
tensor extension, then the stock ``tritonclient.http`` client against a served shipped model."""
from __future__ import annotations

import base64
import json
import struct

import cv2
import numpy as np
import pytest

pytest.importorskip("starlette")
from starlette.testclient import TestClient  # noqa: E402

from imgen.serve.app import Limits, create_app  # noqa: E402
from imgen.serve.models import serve_models  # noqa: E402
from onnx_models import identity, meta  # noqa: E402


@pytest.fixture
def client(tmp_path):
    identity(tmp_path / "ident.onnx", channels=3, metadata=meta(task="restore", channels=3))
    app = create_app(serve_models([str(tmp_path / "ident.onnx")]), limits=Limits(max_pixels=100_000))
    with TestClient(app) as c:
        yield c


def tensor_request(arr: np.ndarray, datatype: str, **parameters) -> dict:
    return {"id": "r1", "parameters": parameters,
            "inputs": [{"name": "image", "shape": list(arr.shape), "datatype": datatype,
                        "data": arr.reshape(-1).tolist()}]}


def test_health_and_metadata(client):
    assert client.get("/v2/health/live").status_code == 200
    assert client.get("/v2/health/ready").json() == {"ready": True}
    assert client.get("/v2").json()["extensions"] == ["binary_tensor_data"]
    meta_ = client.get("/v2/models/ident").json()
    assert meta_["name"] == "ident" and meta_["inputs"][0]["datatype"] == "UINT8"
    assert client.get("/v2/models/ident/ready").json()["ready"] is True
    assert client.get("/v2/models/nope").status_code == 404


@pytest.mark.parametrize("shape", [(6, 5, 3), (1, 6, 5, 3)])
def test_uint8_tensor_in_json(client, rng, shape):
    img = rng.integers(0, 256, shape, dtype=np.uint8)
    r = client.post("/v2/models/ident/infer", json=tensor_request(img, "UINT8"))
    assert r.status_code == 200, r.text
    doc = r.json()
    assert doc["model_name"] == "ident" and doc["id"] == "r1"
    out = doc["outputs"][0]
    assert out["datatype"] == "UINT8" and out["shape"] == list(shape)
    np.testing.assert_array_equal(np.array(out["data"], np.uint8).reshape(shape), img)


def test_fp32_tensor_with_the_binary_extension(client, rng):
    img = rng.random((7, 4, 3), dtype=np.float32)
    raw = img.tobytes()
    head = json.dumps({"inputs": [{"name": "x", "shape": [7, 4, 3], "datatype": "FP32",
                                   "parameters": {"binary_data_size": len(raw)}}],
                       "outputs": [{"name": "y", "parameters": {"binary_data": True}}]}).encode()
    r = client.post("/v2/models/ident/infer", content=head + raw,
                    headers={"Inference-Header-Content-Length": str(len(head)),
                             "Content-Type": "application/octet-stream"})
    assert r.status_code == 200, r.text
    n = int(r.headers["inference-header-content-length"])
    out = json.loads(r.content[:n])["outputs"][0]
    assert out["name"] == "y" and out["parameters"]["binary_data_size"] == len(raw)
    np.testing.assert_array_equal(np.frombuffer(r.content[n:], np.float32).reshape(7, 4, 3), img)


def test_bytes_input_is_an_encoded_image(client, rng):
    img = rng.integers(0, 256, (9, 8, 3), dtype=np.uint8)
    png = cv2.imencode(".png", img)[1].tobytes()
    req = {"inputs": [{"name": "image", "shape": [1], "datatype": "BYTES", "data": [base64.b64encode(png).decode()]}]}
    r = client.post("/v2/models/ident/infer", json=req)
    assert r.status_code == 200, r.text
    out = r.json()["outputs"][0]
    assert out["datatype"] == "BYTES"
    back = cv2.imdecode(np.frombuffer(base64.b64decode(out["data"][0]), np.uint8), cv2.IMREAD_UNCHANGED)
    np.testing.assert_array_equal(back, img)
    head = json.dumps({"inputs": [{"name": "image", "shape": [1], "datatype": "BYTES",
                                   "parameters": {"binary_data_size": 4 + len(png)}}]}).encode()
    r = client.post("/v2/models/ident/infer", content=head + struct.pack("<I", len(png)) + png,
                    headers={"Inference-Header-Content-Length": str(len(head))})
    assert r.status_code == 200, r.text


@pytest.mark.parametrize("body, status, words", [
    ({"inputs": []}, 400, "one tensor"),
    ({"inputs": [{"name": "x", "shape": [2, 2], "datatype": "INT64", "data": [1, 2, 3, 4]}]}, 400, "datatype"),
    ({"inputs": [{"name": "x", "shape": [2, 2], "datatype": "UINT8", "data": [1, 2, 3]}]}, 400, "does not match"),
    ({"inputs": [{"name": "x", "shape": [2, 2, 2, 3], "datatype": "UINT8", "data": []}]}, 400, "one image"),
    ({"inputs": [{"name": "x", "shape": [40000, 40000, 3], "datatype": "UINT8", "data": []}]}, 413, "100,000 pixels"),
    ({"inputs": [{"name": "x", "shape": [2, 2], "datatype": "UINT8", "data": [0] * 4}], "parameters": {"tile": "²"}},
     400, "tile must be"),
])
def test_refusals(client, body, status, words):
    r = client.post("/v2/models/ident/infer", json=body)
    assert r.status_code == status, r.text
    assert words in r.json()["error"]


def test_tritonclient_gets_the_same_pixels_as_imgen_load(rng):
    """The stock client, unmodified, against `imgen serve denoise-gray` (binary tensors both ways)."""
    httpclient = pytest.importorskip("tritonclient.http")
    pytest.importorskip("uvicorn")
    import imgen
    from serve_process import start, stop

    img = cv2.GaussianBlur(rng.integers(0, 256, (48, 40), dtype=np.uint8), (0, 0), 2)
    expected = imgen.load("denoise-gray", providers=["cpu"])(img, sigma=25 / 255)
    proc, url = start("denoise-gray")
    try:
        client = httpclient.InferenceServerClient(url.removeprefix("http://"))
        assert client.is_server_live() and client.is_server_ready() and client.is_model_ready("denoise-gray")
        assert client.get_model_metadata("denoise-gray")["name"] == "denoise-gray"
        tensor = httpclient.InferInput("image", list(img.shape), "UINT8")
        tensor.set_data_from_numpy(img)
        result = client.infer("denoise-gray", [tensor], parameters={"sigma": 25})
        np.testing.assert_array_equal(result.as_numpy("image"), expected)
        json_tensor = httpclient.InferInput("image", list(img.shape), "UINT8")
        json_tensor.set_data_from_numpy(img, binary_data=False)
        result = client.infer("denoise-gray", [json_tensor], parameters={"sigma": 25},
                              outputs=[httpclient.InferRequestedOutput("image", binary_data=False)])
        np.testing.assert_array_equal(result.as_numpy("image"), expected)
        client.close()
    finally:
        stop(proc)
