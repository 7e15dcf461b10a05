"""The real published checkpoints in ../shared/models/real (README there): each imports through
``imgen import``, matches the authors' own model code in plain PyTorch, and reproduces its published
figure with the published protocol.  Skipped without the shared folder; slow (minutes on 2 cores)."""
from __future__ import annotations

import contextlib
import importlib.util
import io
import json
import math
import sys
import types
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="imgen_train needs torch (pip install torch, then imgen[train])")
pytest.importorskip("onnxscript", reason="the dynamo ONNX exporter needs onnxscript (imgen[train])")
cv2 = pytest.importorskip("cv2")
import spandrel_models as sm  # noqa: E402

sm.use_stubs()

import imgen  # noqa: E402
from imgen import degrade  # noqa: E402
from imgen.bench.protocol import Protocol  # noqa: E402
from imgen.cli import main as cli_main  # noqa: E402

pytestmark = [pytest.mark.shared, pytest.mark.slow]


@pytest.fixture(scope="module")
def real():
    from conftest import shared_dir

    path = shared_dir() / "models" / "real"
    if not (path / "README.md").exists():
        pytest.skip(f"real checkpoints not found at {path} (set IMGEN_SHARED to the shared folder)")
    return path


@pytest.fixture(scope="module")
def out_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("real")


def _module(path: Path, name: str):
    """The authors' code beside a checkpoint, imported from its path."""
    spec = importlib.util.spec_from_file_location(name, path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _import(args) -> dict:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert cli_main(["import", *args]) == 0
    return json.loads(out.getvalue())


def _psnr(a, b, peak=1.0):
    return 10 * math.log10(peak ** 2 / np.mean((np.asarray(a, np.float64) - np.asarray(b, np.float64)) ** 2))


def _set5(shared: Path, scale: int):
    """(name, HR uint8 RGB modcropped to the scale) for Set5."""
    out = []
    for path in sorted((shared / "data" / "set5_sr" / f"image_SRF_{scale}").glob("*_HR.png")):
        hr = cv2.cvtColor(cv2.imread(str(path)), cv2.COLOR_BGR2RGB)
        h, w = hr.shape[0] - hr.shape[0] % scale, hr.shape[1] - hr.shape[1] % scale
        out.append((path.name, np.ascontiguousarray(hr[:h, :w])))
    assert len(out) == 5
    return out


def _ycbcr_y(rgb01: np.ndarray) -> np.ndarray:
    """MATLAB rgb2ycbcr's Y for RGB in [0, 1] (BT.601 studio range), in [0, 1]."""
    return (16.0 + 65.481 * rgb01[..., 0] + 128.553 * rgb01[..., 1] + 24.966 * rgb01[..., 2]) / 255.0


def _matlab_upscale(plane: np.ndarray, scale: int) -> np.ndarray:
    """MATLAB imresize(plane, scale, 'bicubic') of a float plane (rows first, as MATLAB)."""
    out = degrade._resize_axis(plane.astype(np.float64), 0, plane.shape[0] * scale, float(scale))  # noqa: SLF001
    return degrade._resize_axis(out, 1, plane.shape[1] * scale, float(scale))  # noqa: SLF001


# --- SaoYan DnCNN-S-25 -----------------------------------------------------------------------------------

@pytest.mark.heavy  # DnCNN against the authors' code on all of Set12, 13-53 s on 2 cores: .ci/run's heavy step
def test_saoyan_dncnn_matches_authors_and_reproduces_set12(real, out_dir, shared):
    folder = real / "saoyan_dncnn"
    onnx = out_dir / "dncnn-s-25.onnx"
    report = _import([str(folder / "DnCNN-S-25.pth"), "-o", str(onnx), "--info",
                      "published=Set12 sigma 25: 30.404 dB (SaoYan/DnCNN-PyTorch README)"])
    assert report["metadata"]["imgen.source_output"] == "noise"
    authors = _module(folder / "models.py", "saoyan_models").DnCNN(channels=1, num_of_layers=17)
    sd = torch.load(folder / "DnCNN-S-25.pth", map_location="cpu", weights_only=True)
    authors.load_state_dict({k.removeprefix("module."): v for k, v in sd.items()})
    authors.eval()
    model = imgen.load(str(onnx), providers=["cpu"])
    scores, worst = [], 0.0
    for k, path in enumerate(sorted((shared / "data" / "set12").glob("*.png"))):
        x = cv2.imread(str(path), cv2.IMREAD_GRAYSCALE).astype(np.float32) / 255.0
        noisy = (x + np.random.default_rng(0).normal(0, 25 / 255, x.shape)).astype(np.float32)
        out = model(noisy)
        if k < 2:  # the authors' test.py: clean = clamp(noisy - net(noisy), 0, 1)
            with torch.no_grad():
                t = torch.from_numpy(noisy)[None, None]
                ref = torch.clamp(t - authors(t), 0, 1)[0, 0].numpy()
            worst = max(worst, float(np.max(np.abs(np.clip(out, 0, 1) - ref))))
        scores.append(_psnr(np.clip(out, 0, 1), x))
    print(f"SaoYan DnCNN-S-25: Set12 sigma 25 {np.mean(scores):.3f} dB (published 30.404); max |ours - authors| "
          f"{worst:.2g}")
    assert worst < 1e-4
    assert abs(np.mean(scores) - 30.404) <= 0.05, f"Set12 mean PSNR {np.mean(scores):.3f} dB"


# --- VDSR ---------------------------------------------------------------------------------------------------

VDSR_PUBLISHED = {2: 37.65, 3: 33.77, 4: 31.45}


@pytest.mark.heavy  # VDSR at the HR size on all of Set5, 15-27 s a scale on 2 cores: .ci/run's heavy step
@pytest.mark.parametrize("scale", [2, 3, 4])
def test_vdsr_matches_authors_and_reproduces_set5_y(real, out_dir, shared, scale):
    """Through the Python API on RGB: the engine honours imgen.color_space y (MATLAB rgb2ycbcr) and
    imgen.pre_upsample bicubic (MATLAB imresize), so the published protocol is the plain model call."""
    import onnxruntime as ort

    from imgen_train.safe_unpickle import load_restricted, state_dict_of

    folder = real / "vdsr"
    onnx = out_dir / f"vdsr-x{scale}.onnx"
    report = _import([str(folder / "model_epoch_50.pth"), "-o", str(onnx), "--trust-pickle", "--scale", str(scale),
                      "--info", f"published=Set5 Y x{scale}: {VDSR_PUBLISHED[scale]} dB (twtygqyy/pytorch-vdsr)"])
    meta = report["metadata"]
    assert (meta["imgen.pre_upsample"], meta["imgen.color_space"], meta["imgen.scale"]) == ("bicubic", "y", str(scale))
    model = imgen.load(str(onnx), providers=["cpu"])
    assert model.info.published.startswith(f"Set5 Y x{scale}")
    scores, worst = [], 0.0
    for k, (_, hr) in enumerate(_set5(shared, scale)):
        rgb = hr.astype(np.float32) / 255.0
        lr = degrade.downscale(rgb, scale)          # float: Y(downscale(RGB)) = downscale(Y(RGB)), imresize is linear
        out = model(lr)                             # Y through VDSR at the HR size, chroma MATLAB bicubic
        assert out.shape == rgb.shape and out.dtype == np.float32
        y = _ycbcr_y(rgb.astype(np.float64))
        out_y = _ycbcr_y(out.astype(np.float64))
        if k == 0:  # the graph itself against the authors' Net on the same Y input
            authors = _module(folder / "vdsr.py", "vdsr_authors").Net()
            authors.load_state_dict(state_dict_of(load_restricted(folder / "model_epoch_50.pth")))
            authors.eval()
            up = _matlab_upscale(degrade.downscale(y, scale), scale).astype(np.float32)
            graph = ort.InferenceSession(str(onnx), providers=["CPUExecutionProvider"]).run(
                None, {"image": up[None, None]})[0][0, 0]
            with torch.no_grad():
                ref = authors(torch.from_numpy(up)[None, None])[0, 0].numpy()
            worst = float(np.max(np.abs(graph - ref)))
        s = scale
        scores.append(_psnr(np.clip(out_y, 0, 1)[s:-s, s:-s] * 255, y[s:-s, s:-s] * 255, 255))
    print(f"VDSR x{scale}: Set5 Y {np.mean(scores):.3f} dB through imgen.load(...)(rgb) (published "
          f"{VDSR_PUBLISHED[scale]}); max |onnx - authors| {worst:.2g}")
    assert worst < 1e-4
    assert abs(np.mean(scores) - VDSR_PUBLISHED[scale]) <= 0.1


def test_vdsr_restore_cli_and_video_give_the_api_pixels(real, out_dir, shared, tmp_path):
    """imgen restore --task sr --model vdsr-x2.onnx and imgen video --model on it: the pixels of the
    Python API (one Set5 image, uint8 files)."""
    onnx = out_dir / "vdsr-x2.onnx"
    if not onnx.exists():
        _import([str(real / "vdsr" / "model_epoch_50.pth"), "-o", str(onnx), "--trust-pickle", "--scale", "2"])
    name, hr = min(_set5(shared, 2), key=lambda item: item[1].size)
    lr = degrade.downscale(hr, 2)                                   # uint8 RGB
    api = imgen.restore(lr, task="sr", model=str(onnx))
    assert api.shape == hr.shape and api.dtype == np.uint8
    assert np.array_equal(api, imgen.load(str(onnx))(lr))
    assert cv2.imwrite(str(tmp_path / "lr.png"), cv2.cvtColor(lr, cv2.COLOR_RGB2BGR))
    assert cli_main(["restore", str(tmp_path / "lr.png"), "-o", str(tmp_path / "sr"), "--task", "sr",
                     "--model", str(onnx)]) == 0
    cli = cv2.cvtColor(cv2.imread(str(tmp_path / "sr" / "lr.png")), cv2.COLOR_BGR2RGB)
    assert np.array_equal(cli, api)
    frames = tmp_path / "frames"
    frames.mkdir()
    for k in range(2):
        assert cv2.imwrite(str(frames / f"{k:06d}.png"), cv2.cvtColor(lr, cv2.COLOR_RGB2BGR))
    assert cli_main(["video", str(frames / "%06d.png"), "-o", str(tmp_path / "out" / "%06d.png"), "--model", str(onnx),
                     "--task", "sr", "-q"]) == 0
    written = sorted((tmp_path / "out").glob("*.png"))
    assert len(written) == 2
    for path in written:
        got = cv2.cvtColor(cv2.imread(str(path)), cv2.COLOR_BGR2RGB)
        assert np.array_equal(got, api)
    y = lambda rgb: _ycbcr_y(rgb.astype(np.float64) / 255.0)[2:-2, 2:-2] * 255  # noqa: E731
    print(f"VDSR x2 on {name} through the CLI (uint8 files): Y {_psnr(y(cli), y(hr), 255):.2f} dB")


# --- CARN-M ---------------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def carn_authors(real):
    folder = real / "carn"
    added = []
    try:  # carn_m.py does `import model.ops as ops`
        ops = _module(folder / "ops.py", "model.ops")
        pkg = types.ModuleType("model")
        pkg.ops = ops
        for name, mod in (("model", pkg), ("model.ops", ops)):
            if name not in sys.modules:
                sys.modules[name] = mod
                added.append(name)
        net = _module(folder / "carn_m.py", "carn_m_authors").Net(scale=0, multi_scale=True, group=4)
    finally:
        for name in added:
            del sys.modules[name]
    net.load_state_dict(torch.load(folder / "carn_m.pth", map_location="cpu", weights_only=True))
    return net.eval()


@pytest.mark.heavy  # ours and the authors' CARN-M on all of Set5, 8-12 s a scale on 2 cores: .ci/run's heavy step
@pytest.mark.parametrize("scale", [2, 3, 4])
def test_carn_m_matches_authors_on_set5(real, out_dir, shared, carn_authors, scale):
    onnx = out_dir / f"carn-m-x{scale}.onnx"
    _import([str(real / "carn" / "carn_m.pth"), "-o", str(onnx), "--scale", str(scale)])
    model = imgen.load(str(onnx), providers=["cpu"])
    proto = Protocol(shave=scale, y_channel=True)
    ours, theirs, worst = [], [], 0.0
    for _, hr in _set5(shared, scale):
        lr = degrade.downscale(hr, scale).astype(np.float32) / 255.0
        out = np.clip(model(lr), 0, 1)
        with torch.no_grad():
            ref = carn_authors(torch.from_numpy(lr.transpose(2, 0, 1).copy())[None], scale)
        ref = np.clip(ref[0].numpy().transpose(1, 2, 0), 0, 1)
        worst = max(worst, float(np.max(np.abs(out - ref))))
        clean = hr.astype(np.float32) / 255.0
        ours.append(proto.psnr(clean, out))
        theirs.append(proto.psnr(clean, ref))
    print(f"CARN-M x{scale}: Set5 Y ours {np.mean(ours):.3f} dB, authors' code {np.mean(theirs):.3f} dB "
          f"(paper {({2: 37.53, 3: 33.99, 4: 31.92})[scale]}); max |ours - authors| {worst:.2g}")
    assert worst < 1e-4
    assert abs(np.mean(ours) - np.mean(theirs)) <= 0.1


# --- RLFN -------------------------------------------------------------------------------------------------------

def test_rlfn_range_inferred_and_matches_authors(real, out_dir, shared):
    folder = real / "rlfn"
    onnx = out_dir / "rlfn.onnx"
    report = _import([str(folder / "team00_rlfn.pth"), "-o", str(onnx)])
    assert report["metadata"]["imgen.range"] == "0,255" and "range" in report["metadata"]["imgen.inferred"]
    assert any("--info range=0,255" in n for n in report["notes"])
    authors = _module(folder / "team00_RLFN.py", "rlfn_authors").RLFN_Prune()
    authors.load_state_dict(torch.load(folder / "team00_rlfn.pth", map_location="cpu", weights_only=True))
    authors.eval()
    hr = cv2.cvtColor(cv2.imread(str(next((shared / "data" / "set5_sr" / "image_SRF_4").glob("*_HR.png")))),
                      cv2.COLOR_BGR2RGB)
    hr = hr[: hr.shape[0] // 4 * 4, : hr.shape[1] // 4 * 4]
    lr = degrade.downscale(hr, 4)
    out = imgen.load(str(onnx), providers=["cpu"])(lr.astype(np.float32) / 255.0)  # imgen scales to 0-255 and back
    with torch.no_grad():  # the challenge's test_demo.py: RGB in [0, 255], output on the same scale
        ref = authors(torch.from_numpy(lr.astype(np.float32).transpose(2, 0, 1).copy())[None])
    ref = ref[0].numpy().transpose(1, 2, 0)
    diff = np.abs(np.clip(out, 0, 1) * 255 - np.clip(ref, 0, 255))
    print(f"RLFN x4: max |ours - authors| {diff.max():.3g} on the 0-255 scale ({diff.max() / 255:.2g} of the range), "
          f"PSNR vs HR {_psnr(np.clip(ref, 0, 255), hr, 255):.2f} dB")
    assert diff.max() / 255 <= 1e-3
