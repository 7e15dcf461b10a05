"""cli/_distributed.py: the options every --ray command shares (--runtime-env, --ray-pip, ...)."""
from __future__ import annotations

import argparse
import json
import re

import cv2
import numpy as np
import pytest

from imgen.cli import main
from imgen.cli._distributed import runtime_env
from imgen.errors import ImgenError


def _args(runtime_env=None, ray_pip=None):
    return argparse.Namespace(runtime_env=runtime_env, ray_pip=ray_pip)


def test_runtime_env_inline_json_and_pip():
    assert runtime_env(_args()) is None
    env = runtime_env(_args('{"env_vars": {"A": "1"}, "pip": ["numpy"]}', ["imgen[cpu]==0.1.0"]))
    assert env == {"env_vars": {"A": "1"}, "pip": ["numpy", "imgen[cpu]==0.1.0"]}
    assert runtime_env(_args(None, ["x"])) == {"pip": ["x"]}
    env = runtime_env(_args('{"pip": {"packages": ["a"], "pip_check": false}}', ["b"]))
    assert env == {"pip": {"packages": ["a", "b"], "pip_check": False}}


def test_runtime_env_files(tmp_path):
    j = tmp_path / "env.json"
    j.write_text(json.dumps({"working_dir": "/code"}))
    assert runtime_env(_args(str(j))) == {"working_dir": "/code"}
    pytest.importorskip("yaml")
    y = tmp_path / "env.yaml"
    y.write_text("pip:\n  - imgen[cpu]\nenv_vars:\n  OMP_NUM_THREADS: '1'\n")
    assert runtime_env(_args(str(y), ["extra"])) == {"pip": ["imgen[cpu]", "extra"],
                                                     "env_vars": {"OMP_NUM_THREADS": "1"}}


@pytest.mark.parametrize("text, message", [
    ('{"pip": ', "--runtime-env (inline JSON) is not valid JSON"),
    ("missing.json", "--runtime-env takes a .json/.yaml file or inline JSON"),
    ('{"pip": "requirements.txt"}', None),
])
def test_runtime_env_errors(text, message):
    if message is None:  # a pip string cannot take --ray-pip's additions
        with pytest.raises(ImgenError, match="--ray-pip adds to the runtime environment's pip list"):
            runtime_env(_args(text, ["x"]))
        return
    with pytest.raises(ImgenError, match=re.escape(message)):
        runtime_env(_args(text))


def test_runtime_env_must_be_a_mapping(tmp_path):
    f = tmp_path / "env.json"
    f.write_text("[1, 2]")
    with pytest.raises(ImgenError, match="must be a mapping of runtime environment fields"):
        runtime_env(_args(str(f)))


@pytest.fixture
def noisy(tmp_path):
    rng = np.random.default_rng(2)
    root = tmp_path / "in"
    root.mkdir()
    for i in range(3):
        assert cv2.imwrite(str(root / f"n{i}.png"), rng.integers(0, 256, (20, 24), dtype=np.uint8))
    return root


@pytest.mark.parametrize("command", ["run", "denoise", "restore", "translate", "inpaint", "reconstruct", "video"])
def test_ray_only_options_need_ray(command, noisy, tmp_path, capsys):
    head = {"run": ["run", "denoise-gray", str(noisy)], "denoise": ["denoise", str(noisy)],
            "restore": ["restore", str(noisy), "--task", "sr", "--scale", "2"],
            "translate": ["translate", "sepia-cyclegan-a2b", str(noisy)],
            "inpaint": ["inpaint", str(noisy), "--mask-from-alpha", "--method", "telea"],
            "reconstruct": ["reconstruct", "faces-vae-encoder", "faces-vae-decoder", str(noisy)],
            "video": ["video", str(noisy), "--method", "wavelet"]}[command]
    for extra in (["--runtime-env", "{}"], ["--ray-pip", "imgen"], ["--workers", "2"]):
        assert main([*head, "-o", str(tmp_path / "o"), *extra]) == 1
        assert f"{extra[0]} only apply with --ray" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize("head", [["denoise"], ["inpaint", "--mask-from-alpha", "--method", "ns"],
                                  ["reconstruct", "faces-vae-encoder", "faces-vae-decoder"]])
def test_ray_refuses_threads(head, noisy, tmp_path, capsys):
    assert main([*head, str(noisy), "-o", str(tmp_path / "o"), "--ray", "--threads", "2"]) == 1
    assert "--cpus-per-worker" in capsys.readouterr().err


def test_denoise_resume_without_ray(noisy, tmp_path, capsys):
    out = tmp_path / "out"
    args = ["denoise", str(noisy), "-o", str(out), "--method", "wavelet", "-q"]
    assert main(args) == 0
    (out / "n1.png").unlink()
    kept = (out / "n0.png").stat().st_mtime_ns
    capsys.readouterr()
    assert main([*args, "--resume"]) == 0
    assert "imgen: wrote 1 of 1 image(s); 2 already done, skipped (--resume)" in capsys.readouterr().err
    assert (out / "n1.png").exists() and (out / "n0.png").stat().st_mtime_ns == kept


def test_cluster_options_are_checked_when_built_and_turned_into_argument_values():
    from imgen.distributed import ClusterOptions

    from imgen.cli._distributed import cluster_options

    with pytest.raises(ValueError, match="workers must be >= 1"):
        ClusterOptions(workers=0)
    with pytest.raises(ValueError, match="cpus_per_worker must be > 0"):
        ClusterOptions(cpus_per_worker=0)
    with pytest.raises(ValueError, match="gpus_per_worker must be >= 0"):
        ClusterOptions(gpus_per_worker=-1)
    args = argparse.Namespace(ray="auto", runtime_env=None, ray_pip=None, workers=3, cpus_per_worker=None,
                              gpus_per_worker=0.5)
    assert cluster_options(args) == ClusterOptions(address="auto", workers=3, cpus_per_worker=1, gpus_per_worker=0.5)
    assert ClusterOptions(gpus_per_worker=0.5).resources(0.5).gpus_per_worker == 0.5
