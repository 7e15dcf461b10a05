"""Every code block of the README runs as written (#33 item 9: two "Python at a glance" snippets
failed as written).  Python blocks run here, in a temporary folder holding the files they name
(model.onnx, x2.onnx, set12/, in.mp4) and the arrays they take as given (image, noisy, mask, ...);
the two bash set-up blocks are run by CI (tests/test_readme.py checks that it reads them from the
README), the serve block here line by line; ``text`` blocks are listings, not code.  A README block of any other language fails here
until it is given a runner."""
from __future__ import annotations

import re
import shutil
from pathlib import Path

import cv2
import numpy as np
import pytest

import imgen

REPO = Path(__file__).resolve().parent.parent
README = REPO / "README.md"
FENCE = re.compile(r"^```(\w*)\n(.*?)^```", re.S | re.M)


def blocks(language: str) -> list[str]:
    return [body for lang, body in FENCE.findall(README.read_text()) if lang == language]


def test_every_readme_block_has_a_runner():
    langs = [lang for lang, _ in FENCE.findall(README.read_text())]
    assert "python" in langs
    assert set(langs) <= {"python", "bash", "text"}, langs
    bash = blocks("bash")
    setup = [b for b in bash if b.startswith("python3 -m venv .venv")]
    assert len(setup) == 2  # run by CI (.ci/run reads them from the README)
    assert all("imgen serve" in b for b in bash if b not in setup), "a bash block no test runs"  # run below


@pytest.fixture
def given(tmp_path, monkeypatch):
    """The files and arrays the Python block takes as given, in a temporary working folder."""
    monkeypatch.chdir(tmp_path)
    models = Path(imgen.__file__).parent / "models"
    shutil.copy(models / "denoise-gray.onnx", "model.onnx")  # takes a noise level, as the block does
    shutil.copy(models / "sr-x2.onnx", "x2.onnx")
    rng = np.random.default_rng(0)
    gray = lambda: rng.integers(0, 256, (48, 64), dtype=np.uint8)  # noqa: E731
    colour = lambda: rng.integers(0, 256, (48, 64, 3), dtype=np.uint8)  # noqa: E731
    Path("set12").mkdir()
    for k in range(2):
        cv2.imwrite(f"set12/{k:02d}.png", gray())
    names = dict(image=gray(), img1=gray(), img2=gray(), noisy=gray(), bgr=colour(), rgb=colour(), a=gray(), b=gray(),
                 hr=gray(), img=gray(), photo=colour(), frames=[colour() for _ in range(3)],
                 images=rng.integers(0, 256, (2, 32, 32, 1), dtype=np.uint8))
    mask = np.zeros((48, 64), bool)
    mask[10:20, 10:30] = True
    names["mask"] = mask
    ok, buf = cv2.imencode(".jpg", gray(), [cv2.IMWRITE_JPEG_QUALITY, 10])
    names["jpg"] = cv2.imdecode(buf, cv2.IMREAD_UNCHANGED)
    if "in.mp4" in "".join(blocks("python")):
        pytest.importorskip("av")
        import video_clips as vc

        vc.make_clip(tmp_path / "in.mp4", frames=6)
    return names


@pytest.mark.parametrize("k", range(len(blocks("python"))))
def test_readme_python_block_runs_as_written(given, k):
    code = blocks("python")[k]
    namespace = dict(given)
    exec(compile(code, f"README.md python block {k + 1}", "exec"), namespace)  # noqa: S102
    if "from_tensor" in code:  # the inverse is exact, as the comment says
        np.testing.assert_array_equal(namespace["again"][0], given["bgr"])
    if "bench.run" in code:
        assert namespace["res"].records and not namespace["res"].failures


def test_readme_serve_block_runs_as_written(tmp_path):
    """The serve block, line by line as a user types it: the server started (its `&` is the
    background process here), the curl line run once it answers."""
    import os
    import socket
    import subprocess
    import time
    import urllib.request

    pytest.importorskip("fastapi")
    (block,) = [b for b in blocks("bash") if "imgen serve" in b]
    serve, curl = [line for line in block.splitlines() if line.strip()]
    assert serve.endswith(" &") and curl.startswith("curl ")
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", 8000))
        except OSError:
            pytest.skip("port 8000 (the README's) is in use here")
    if not shutil.which("curl") or not shutil.which("imgen"):
        pytest.skip("curl or the imgen command is not on PATH")
    rng = np.random.default_rng(0)
    cv2.imwrite(str(tmp_path / "noisy.png"), np.clip(rng.normal(128, 25, (48, 64)), 0, 255).astype(np.uint8))
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(Path(imgen.__file__).resolve().parent.parent),
                                                       os.environ.get("PYTHONPATH", "")]))
    server = subprocess.Popen(["bash", "-c", "exec " + serve[:-2]], cwd=tmp_path, env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and server.poll() is None:
            try:
                with urllib.request.urlopen("http://127.0.0.1:8000/readyz", timeout=1) as r:
                    if r.status == 200:
                        break
            except OSError:
                time.sleep(0.2)
        assert server.poll() is None, "imgen serve exited"
        done = subprocess.run(["bash", "-c", curl], cwd=tmp_path, env=env, capture_output=True, timeout=60)
        assert done.returncode == 0, done.stderr
        out = cv2.imread(str(tmp_path / "clean.png"), cv2.IMREAD_UNCHANGED)
        assert out is not None and out.shape == (48, 64)
    finally:
        server.kill()
        server.wait()


def test_library_errors_name_parameters_not_command_line_flags(tmp_path):
    # bench.run(images="set12/") without the folder said "--images: set12 is not a folder"
    from imgen import bench

    with pytest.raises(ValueError, match=r"^images: .*nothere is not a folder"):
        bench.run(images=tmp_path / "nothere", sigmas=[25], progress=False)


def test_no_library_error_message_names_a_command_line_flag():
    """Messages raised by library code (python/imgen outside cli/) name parameters; a command
    line shown as a suggestion ("run imgen bench --out DIR", "ray start --head") may carry flags,
    and so may a pointer for command-line users after the parameter ("(command line: --resize)")."""
    import ast

    flag = re.compile(r"(?<![\w-])--[a-z][\w-]*")
    command = re.compile(r"(imgen [a-z]+|ray start|pip install|command line:|CLI:)[^.;]*--")
    found = []
    for path in sorted((REPO / "python" / "imgen").rglob("*.py")):
        if "cli" in path.relative_to(REPO / "python" / "imgen").parts:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.Raise) or node.exc is None:
                continue
            text = "".join(c.value for c in ast.walk(node.exc) if isinstance(c, ast.Constant) and isinstance(c.value, str))
            if flag.search(text) and not command.search(text):
                found.append(f"{path.relative_to(REPO)}:{node.lineno}: {text[:100]}")
    assert not found, "library errors naming CLI flags:\n" + "\n".join(found)
