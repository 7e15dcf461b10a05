"""imgen.client against a real `imgen serve` process, and `imgen run --server`."""
from __future__ import annotations

import cv2
import numpy as np
import pytest

pytest.importorskip("uvicorn")
from imgen.cli import main  # noqa: E402
from imgen.client import Client, ServerError  # noqa: E402
from imgen.errors import ImgenError  # noqa: E402
from imgen.methods import REGISTRY  # noqa: E402
from onnx_models import identity, meta, minus_noise  # noqa: E402
from serve_process import free_port, start, stop  # noqa: E402


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    d = tmp_path_factory.mktemp("models")
    identity(d / "ident.onnx", channels=3, metadata=meta(task="restore", channels=3))
    minus_noise(d / "noisy.onnx", channels=1, kind="scalar")
    proc, url = start(str(d / "ident.onnx"), str(d / "noisy.onnx"))
    yield url
    stop(proc)


def test_run_returns_numpy_like_the_model(server, rng):
    c = Client(server)
    img = rng.integers(0, 65536, (10, 14, 3), dtype=np.uint16)
    np.testing.assert_array_equal(c.run("ident", img), img)
    flat = np.full((6, 6), 0.5, np.float32)
    np.testing.assert_allclose(c.run("noisy", flat, sigma=0.1), 0.4, atol=1e-6)
    assert c.models() == sorted(["ident", "noisy", *REGISTRY.names("denoise")])  # + the registry's denoisers
    assert c.info("noisy")["metadata"]["imgen.task"] == "denoise"


def test_errors(server):
    c = Client(server)
    with pytest.raises(ServerError, match="404: no model named 'x'") as e:
        c.run("x", np.zeros((4, 4), np.uint8))
    assert e.value.status == 404
    with pytest.raises(ValueError, match="fraction of the full range"):
        c.run("noisy", np.zeros((4, 4), np.float32), sigma=25)
    with pytest.raises(ValueError, match="http"):
        Client("ftp://x")
    with pytest.raises(ImgenError, match="cannot reach"):
        Client(f"http://127.0.0.1:{free_port()}", timeout=2).models()


def test_imgen_run_server_sends_a_folder(server, tmp_path, rng, capsys):
    src = tmp_path / "in" / "sub"
    src.mkdir(parents=True)
    imgs = {f"a{i}.png": rng.integers(0, 256, (9, 11, 3), dtype=np.uint8) for i in range(3)}
    for name, img in imgs.items():
        cv2.imwrite(str(src / name), img)
    (src / "bad.png").write_bytes(b"junk")
    code = main(["run", "--server", server, "ident", str(tmp_path / "in"), "-o", str(tmp_path / "out"), "-q"])
    assert code == 1  # the junk file fails, the rest are written
    for name, img in imgs.items():
        np.testing.assert_array_equal(cv2.imread(str(tmp_path / "out" / "sub" / name), cv2.IMREAD_UNCHANGED), img)
    assert "bad.png" in capsys.readouterr().err


def test_imgen_run_server_unknown_model_is_one_error(server, tmp_path, capsys):
    cv2.imwrite(str(tmp_path / "a.png"), np.zeros((4, 4), np.uint8))
    assert main(["run", "--server", server, "nope", str(tmp_path / "a.png"), "-o", str(tmp_path / "o.png")]) == 1
    assert "no model named 'nope'" in capsys.readouterr().err
