"""imgen on a real multi-node Ray cluster: a head and a second node started with ``ray start`` on
this machine (tests/ray_nodes.py), with token authentication on, once for the module.

What an operator relies on: a clear error without the token; images spread over both nodes with
the local run's bytes and only imgen's lines on stderr; ``imgen denoise --ray``; video bytes
identical to the local run; ``imgen inpaint --ray`` with a mask per file and ``imgen reconstruct
--ray`` as the local run; a node lost mid-run survived; a node without imgen named in one line.
The tests run in file order: the last two change the cluster (a node killed, a node added).
"""
from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
import time
from pathlib import Path

import cv2
import numpy as np
import pytest

import imgen
from imgen.cli import main

import onnx_models as om

pytest.importorskip("ray")
# A two-node Ray cluster of real `ray start` processes: about a minute on 2 cores in all, so the
# module runs in .ci/run's heavy step (python -m pytest -m heavy), not the README test command (#31);
# one-node Ray runs (test_ray_images.py, test_ray_videos.py) stay there.
pytestmark = [pytest.mark.slow, pytest.mark.heavy]

PYTHONPATH = os.pathsep.join([str(Path(imgen.__file__).resolve().parent.parent), str(Path(__file__).parent)])


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    import ray_nodes

    token = tmp_path_factory.mktemp("token") / "auth_token"
    token.write_text(secrets.token_hex(32))
    token.chmod(0o600)
    env = dict(os.environ, PYTHONPATH=PYTHONPATH, RAY_AUTH_MODE="token", RAY_AUTH_TOKEN_PATH=str(token),
               RUNTIME_ENV_RETRY_TIMES="1",  # a runtime environment that fails: once, not Ray's 3 times
               # a killed node is dead after 3 refused health checks a second apart, not 5 three seconds
               # apart (a node that is merely slow still has Ray's 10 s to answer each)
               RAY_health_check_period_ms="1000", RAY_health_check_failure_threshold="3")
    env.pop("RAY_ADDRESS", None)
    c = ray_nodes.Cluster(env)
    try:
        c.start_head(num_cpus=1)
        c.add_node(num_cpus=1)
        yield c
    finally:
        c.stop()


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    path, _, _ = om.conv3x3(tmp_path_factory.mktemp("model") / "conv.onnx", 3,
                            om.meta(task="restore", channels=3, name="conv"))
    return path


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    """16 colour images, 8 of them in a subfolder."""
    rng = np.random.default_rng(3)
    root = tmp_path_factory.mktemp("in")
    (root / "sub").mkdir()
    for i in range(16):
        img = rng.integers(0, 256, (40 + i, 48, 3), dtype=np.uint8)
        assert cv2.imwrite(str(root / ("sub" if i % 2 else "") / f"im{i:02d}.png"), img)
    return root


def imgen_cli(cluster, args: list[str], cwd: Path, *, env: dict | None = None, timeout: float = 300):
    """``python -m imgen ARGS`` as an operator runs it: its own process, real stderr."""
    env = dict(env or cluster.env, TMPDIR=str(cwd))  # where the run's Ray log file goes
    return subprocess.run([sys.executable, "-m", "imgen", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=timeout)


def files(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def only_imgen_lines(stderr: str) -> list[str]:
    lines = stderr.splitlines()
    assert lines and all(line.startswith("imgen: ") for line in lines), stderr
    return lines


def only_imgen_lines_or_problems(stderr: str) -> list[str]:
    """imgen's lines and the report's indented problem lines, nothing else."""
    lines = stderr.splitlines()
    assert lines and all(line.startswith(("imgen: ", "  ")) for line in lines), stderr
    return lines


def test_missing_token_is_named(cluster, model, folder, tmp_path):
    env = dict(cluster.env)
    env.pop("RAY_AUTH_MODE")
    r = imgen_cli(cluster, ["run", model, str(folder), "-o", str(tmp_path / "out"), "--ray", cluster.address],
                  tmp_path, env=env, timeout=120)
    assert r.returncode == 1
    (line,) = only_imgen_lines(r.stderr)
    assert f"cannot connect to Ray at {cluster.address}: the cluster requires token authentication" in line
    assert "RAY_AUTH_MODE=token" in line
    assert not (tmp_path / "out").exists()


def test_run_across_both_nodes_matches_local(cluster, model, folder, tmp_path):
    assert main(["run", model, str(folder), "-o", str(tmp_path / "local"), "-q"]) == 0
    r = imgen_cli(cluster, ["run", model, str(folder), "-o", str(tmp_path / "ray"), "-q",
                            "--ray", cluster.address, "--workers", "2"], tmp_path)
    assert r.returncode == 0, r.stderr
    lines = only_imgen_lines(r.stderr)  # Ray's own lines went to its log file, which is named
    assert lines[-1] == "imgen: wrote 16 of 16 image(s)"
    for log in tmp_path.glob("imgen-ray-*.log"):  # there when Ray said something
        assert f"imgen: Ray's own messages are in {log} (-v shows them here)" in lines
    assert files(tmp_path / "ray") == files(tmp_path / "local")


def test_denoise_on_ray_matches_local(cluster, tmp_path):
    rng = np.random.default_rng(5)
    src = tmp_path / "noisy"
    src.mkdir()
    clean = np.kron(rng.integers(40, 220, (6, 6), dtype=np.uint8), np.ones((8, 8), np.uint8))
    for i in range(4):
        noisy = np.clip(clean + rng.normal(0, 20, clean.shape), 0, 255).astype(np.uint8)
        assert cv2.imwrite(str(src / f"n{i}.png"), noisy)
    args = ["denoise", str(src), "--method", "bm3d", "--sigma", "20", "-q"]
    assert main([*args, "-o", str(tmp_path / "local")]) == 0
    r = imgen_cli(cluster, [*args, "-o", str(tmp_path / "ray"), "--ray", cluster.address], tmp_path)
    assert r.returncode == 0, r.stderr
    assert only_imgen_lines(r.stderr)[-1] == "imgen: wrote 4 of 4 image(s)"
    assert files(tmp_path / "ray") == files(tmp_path / "local")
    assert files(tmp_path / "ray") != files(src)


def test_video_bytes_identical_to_local(cluster, model, tmp_path):
    """320x240: large enough that x264 makes different bytes with 1 and 2 threads (a 1-CPU
    worker and this machine's automatic count), which the fixed encoder thread count prevents."""
    pytest.importorskip("av")
    import video_clips

    clip = video_clips.make_clip(tmp_path / "clip.mp4", frames=24, width=320, height=240)
    args = ["video", str(clip), "--model", model, "-q"]
    assert main([*args, "-o", str(tmp_path / "local.mp4")]) == 0
    r = imgen_cli(cluster, [*args, "-o", str(tmp_path / "ray.mp4"), "--ray", cluster.address], tmp_path)
    assert r.returncode == 0, r.stderr
    only_imgen_lines(r.stderr)
    assert (tmp_path / "ray.mp4").read_bytes() == (tmp_path / "local.mp4").read_bytes()


@pytest.mark.parametrize("failing", [
    "working_dir",
    # pip first clones this whole virtual environment (2.4 GB, with torch) on each node: 12 s on a
    # quiet 2-core machine, 40 s and more under load (Ray's 3 tries: minutes), so .ci/run's heavy step
    pytest.param("pip", marks=pytest.mark.heavy),
])
def test_runtime_env_that_fails_is_named(cluster, model, folder, tmp_path, failing):
    missing = {"working_dir": ["--runtime-env", json.dumps({"working_dir": (tmp_path / "missing.zip").as_uri()})],
               "pip": ["--ray-pip", str(tmp_path / "missing-1.0-py3-none-any.whl")]}[failing]
    r = imgen_cli(cluster, ["run", model, str(folder), "-o", str(tmp_path / "out"), "-q", "--ray", cluster.address,
                            *missing], tmp_path)
    assert r.returncode == 1
    (line,) = [x for x in only_imgen_lines(r.stderr) if "error" in x]
    assert "imgen: error: the job's runtime environment could not be set up on node " in line
    assert "--runtime-env / --ray-pip" in line
    assert not (tmp_path / "out").exists()


def test_inpaint_with_a_mask_per_file_on_ray_matches_local(cluster, folder, tmp_path, capsys):
    """--mask-dir on the cluster: each file's own mask; one without a mask is that file's error."""
    masks = tmp_path / "masks"
    (masks / "sub").mkdir(parents=True)
    for k, image in enumerate(sorted(folder.rglob("*.png"))[:-1]):  # the last one has no mask
        m = np.zeros(cv2.imread(str(image)).shape[:2], np.uint8)
        m[2 + k:12 + k, 5:30] = 255
        assert cv2.imwrite(str(masks / f"{image.stem}.png"), m)
    args = ["inpaint", str(folder), "--mask-dir", str(masks), "--method", "telea", "-q"]
    assert main([*args, "-o", str(tmp_path / "local")]) == 1
    local = capsys.readouterr().err.splitlines()
    r = imgen_cli(cluster, [*args, "-o", str(tmp_path / "ray"), "--ray", cluster.address, "--workers", "2"], tmp_path)
    assert r.returncode == 1, r.stderr
    lines = [x for x in only_imgen_lines_or_problems(r.stderr) if "Ray's own messages" not in x]
    assert lines == local and "imgen: wrote 15 of 16 image(s)" in lines, r.stderr
    assert files(tmp_path / "ray") == files(tmp_path / "local") and len(files(tmp_path / "ray")) == 15


def test_reconstruct_on_ray_matches_local(cluster, tmp_path):
    rng = np.random.default_rng(8)
    (tmp_path / "faces").mkdir()
    for k in range(6):
        assert cv2.imwrite(str(tmp_path / "faces" / f"f{k}.png"), rng.integers(0, 256, (32, 32), dtype=np.uint8))
    args = ["reconstruct", "faces-vae-encoder", "faces-vae-decoder", str(tmp_path / "faces"), "-q"]
    assert main([*args, "-o", str(tmp_path / "local")]) == 0
    r = imgen_cli(cluster, [*args, "-o", str(tmp_path / "ray"), "--ray", cluster.address], tmp_path)
    assert r.returncode == 0, r.stderr
    assert only_imgen_lines(r.stderr)[-1] == "imgen: wrote 6 of 6 image(s)"
    assert files(tmp_path / "ray") == files(tmp_path / "local") and len(files(tmp_path / "ray")) == 6


DRIVER = """
import logging, sys
from imgen.distributed import WorkerResources, connected, map_images
from imgen.distributed._logs import ray_output_to
from imgen.imageio import plan_outputs
import ray_nodes

address, model, folder, out, records, log = sys.argv[1:7]
logging.basicConfig(level=logging.WARNING, format="imgen: %(message)s")  # as the CLI does
with ray_output_to(log):  # as the CLI does without -v
    with connected(address):
        jobs, _ = plan_outputs([folder], out)
        summary = map_images(jobs, ray_nodes.RecordingFactory(model, records, 0.4), batch_size=2,
                             resources=WorkerResources(workers=2, max_retries=3))
print(summary.done, len(summary.failures))
"""


def test_node_lost_mid_run(cluster, model, folder, tmp_path):
    """Both nodes work; the second is killed outright part-way; every file is still written,
    the same as the local run's."""
    assert main(["run", model, str(folder), "-o", str(tmp_path / "local"), "-q"]) == 0
    records = tmp_path / "records"
    records.mkdir()
    driver = subprocess.Popen([sys.executable, "-c", DRIVER, cluster.address, model, str(folder),
                               str(tmp_path / "ray"), str(records), str(tmp_path / "ray.log")],
                              cwd=tmp_path, env=cluster.env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 120
        while len({p.name.split("-")[0] for p in records.iterdir()}) < 2:
            assert driver.poll() is None and time.monotonic() < deadline, "both nodes never worked"
            time.sleep(0.2)
        cluster.nodes[1].kill()
        out, err = driver.communicate(timeout=240)
    finally:
        driver.kill()
    assert driver.returncode == 0, err
    assert out == "16 0\n", out + err
    # Ray's messages about the lost node went to its log; imgen may say it retried a batch's files
    assert all(line.startswith("imgen: ") for line in err.splitlines()), err
    assert len(list(records.iterdir())) < 16 // 2 + 8, "the run finished before the node died"
    assert files(tmp_path / "ray") == files(tmp_path / "local")
    cluster.wait_for_nodes(1)


def test_node_without_imgen_is_named(cluster, model, folder, tmp_path):
    # A node without imgen: where imgen is installed in site-packages (CI), a package that
    # shadows it and fails as a missing one would.
    bare = tmp_path / "bare" / "imgen"
    bare.mkdir(parents=True)
    (bare / "__init__.py").write_text('raise ModuleNotFoundError("No module named \'imgen\'", name="imgen")\n')
    env = dict(cluster.env, PYTHONPATH=os.pathsep.join([str(bare.parent), str(Path(__file__).parent)]))
    node = cluster.add_node(num_cpus=1, env=env, name="bare")
    r = imgen_cli(cluster, ["run", model, str(folder), "-o", str(tmp_path / "out"), "-q",
                            "--ray", cluster.address], tmp_path)
    assert r.returncode == 1
    (line,) = [x for x in only_imgen_lines(r.stderr) if "error" in x]
    assert f":{node.manager_port} " in line and "No module named 'imgen'" in line
    assert "--ray-pip" in line and "--runtime-env" in line
    assert not (tmp_path / "out").exists()

    # The fix the line offers: ship imgen to the workers with a runtime environment (here its path).
    env_file = tmp_path / "env.json"
    env_file.write_text(json.dumps({"env_vars": {"PYTHONPATH": PYTHONPATH}}))
    r = imgen_cli(cluster, ["run", model, str(folder), "-o", str(tmp_path / "out"), "-q",
                            "--ray", cluster.address, "--runtime-env", str(env_file)], tmp_path)
    assert r.returncode == 0, r.stderr
    assert only_imgen_lines(r.stderr)[-1] == "imgen: wrote 16 of 16 image(s)"
