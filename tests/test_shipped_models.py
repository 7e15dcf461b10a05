"""Models shipped in python/imgen/models: load by name, self-describing, and they denoise."""
from __future__ import annotations

import math
import os
import subprocess
import sys

import numpy as np
import pytest

import imgen
from imgen.engine import resolve_model_path


def _psnr(a, b):
    return 10 * math.log10(1 / np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))


@pytest.fixture(scope="module")
def camera_noisy():
    skimage = pytest.importorskip("skimage")
    clean = skimage.data.camera()[96:352, 128:384].astype(np.float32) / 255  # 256x256 crop
    noisy = (clean + np.random.default_rng(0).normal(0, 25 / 255, clean.shape)).astype(np.float32)
    return clean, noisy


def test_denoise_gray_is_shipped_and_self_describing():
    assert "denoise-gray" in imgen.shipped_models()
    model = imgen.load("denoise-gray", providers=["cpu"])
    info = model.info
    assert (info.task, info.channels, info.size_multiple) == ("denoise", 1, 2)
    assert info.noise_input == "sigma" and info.noise_kind in ("map", "scalar")
    assert info.description and "train400" in info.description
    assert resolve_model_path("denoise-gray").endswith("denoise-gray.onnx")


def test_a_folder_named_like_a_shipped_model_does_not_hide_it(tmp_path, monkeypatch):
    """`imgen bench --task sr` run where a run folder `sr-x2/` exists used to fail: 'model path is a folder'."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "sr-x2").mkdir()
    assert resolve_model_path("sr-x2").endswith(os.path.join("models", "sr-x2.onnx"))
    (tmp_path / "mine").mkdir()
    assert resolve_model_path("mine") == "mine"  # not a shipped name: the loader names the folder
    (tmp_path / "denoise-gray").write_bytes(b"")  # an existing FILE still wins over the shipped name
    assert resolve_model_path("denoise-gray") == "denoise-gray"


@pytest.mark.parametrize("sigma", [25 / 255, None], ids=["sigma-given", "sigma-estimated"])
def test_denoise_gray_removes_noise(camera_noisy, sigma):
    clean, noisy = camera_noisy
    model = imgen.load("denoise-gray", providers=["cpu"])
    out = np.clip(model(noisy, sigma=sigma), 0, 1)
    gain = _psnr(out, clean) - _psnr(noisy, clean)
    assert gain > 5, f"PSNR gain {gain:.2f} dB"


def test_denoise_gray_on_uint8_and_odd_sizes(camera_noisy):
    clean, noisy = camera_noisy
    model = imgen.load("denoise-gray", providers=["cpu"])
    img8 = np.clip(np.rint(noisy[:101, :77] * 255), 0, 255).astype(np.uint8)
    out = model(img8, sigma=25 / 255)
    assert out.dtype == np.uint8 and out.shape == (101, 77)
    assert _psnr(out / 255, clean[:101, :77]) > _psnr(img8 / 255, clean[:101, :77]) + 5


def test_shipped_models_are_small():
    for name in imgen.shipped_models():
        size = (imgen.engine._MODELS_DIR / f"{name}.onnx").stat().st_size
        assert size < 4 * 2**20, f"{name}.onnx is {size / 2**20:.1f} MiB"


def test_imgen_never_imports_torch():
    code = ("import sys, imgen, imgen.cli, imgen.cli.train, imgen.cli.export, imgen.cli.import_; "
            "imgen.load('denoise-gray'); "
            "assert 'torch' not in sys.modules and 'imgen_train' not in sys.modules, "
            "[m for m in sys.modules if m.startswith(('torch', 'imgen_train'))]")
    subprocess.run([sys.executable, "-c", code], check=True)


@pytest.mark.parametrize("command", [["train", "--train-dir", "x"], ["export", "a.pt", "-o", "b.onnx"],
                                     ["import", "a.pth", "-o", "b.onnx"]])
def test_training_commands_without_torch_name_the_install(monkeypatch, capsys, command):
    from imgen.cli import main

    monkeypatch.setitem(sys.modules, "torch", None)  # import torch -> ImportError
    assert main(command) == 1
    err = capsys.readouterr().err
    assert "needs PyTorch" in err and "pip install 'imgen[train]'" in err


def test_dejpeg_gray_is_shipped_and_self_describing():
    assert "dejpeg-gray" in imgen.shipped_models()
    info = imgen.load("dejpeg-gray", providers=["cpu"]).info
    assert (info.task, info.channels, info.scale, info.size_multiple) == ("jpeg", 1, 1, 8)
    assert info.noise_input is None  # blind to the quality
    assert info.tile_overlap >= 40   # twice the receptive radius (20 px)
    assert info.description and "train400" in info.description and "10-40" in info.description
    assert resolve_model_path("dejpeg-gray").endswith("dejpeg-gray.onnx")


def test_int8_variants_are_chosen_on_cpu_only(monkeypatch):
    cpu, gpu = ["CPUExecutionProvider"], ["CUDAExecutionProvider", "CPUExecutionProvider"]
    for name in ("denoise-gray", "dejpeg-gray", "sr-x2"):
        assert resolve_model_path(name, cpu).endswith(f"{name}-int8.onnx")
        assert resolve_model_path(name, gpu).endswith(f"{name}.onnx")
        assert resolve_model_path(name).endswith(f"{name}.onnx")
        assert resolve_model_path(f"{name}-int8", gpu).endswith(f"{name}-int8.onnx")  # asked for by name
    assert resolve_model_path("sr-x3", cpu).endswith("sr-x3.onnx")  # no int8 variant ships
    monkeypatch.setenv("IMGEN_INT8", "0")
    assert resolve_model_path("denoise-gray", cpu).endswith("denoise-gray.onnx")


def test_denoise_gray_int8_is_as_good_as_float(camera_noisy):
    from imgen.engine import shipped_path

    clean, noisy = camera_noisy
    int8 = imgen.load("denoise-gray", providers=["cpu"])
    assert int8.name == "denoise-gray-int8"
    fp32 = imgen.load(shipped_path("denoise-gray"), providers=["cpu"])
    assert fp32.name == "denoise-gray"
    loss = _psnr(fp32(noisy, sigma=25 / 255), clean) - _psnr(int8(noisy, sigma=25 / 255), clean)
    assert loss <= 0.2
