"""imgen export --int8 (imgen_train.quantize): a tiny model quantises, runs in imgen and stays close to float."""
from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import onnx
import pytest

torch = pytest.importorskip("torch", reason="imgen_train needs torch (pip install torch, then imgen[train])")
pytest.importorskip("onnxscript", reason="the dynamo ONNX exporter needs onnxscript (imgen[train])")

import imgen  # noqa: E402
from imgen_train import archs, quantize  # noqa: E402
from imgen_train.export_onnx import export  # noqa: E402


@pytest.fixture(scope="module")
def calibration(tmp_path_factory):
    """A few smooth, textured gray images (natural-looking enough to calibrate on)."""
    folder = tmp_path_factory.mktemp("calib")
    rng = np.random.default_rng(0)
    for k in range(4):
        field = cv2.resize(rng.random((12, 12)).astype(np.float32), (96, 96), interpolation=cv2.INTER_CUBIC)
        field += rng.normal(0, 0.02, field.shape).astype(np.float32)
        cv2.imwrite(str(folder / f"{k}.png"), np.clip(field * 255, 0, 255).astype(np.uint8))
    return folder


@pytest.fixture(scope="module")
def exported(tmp_path_factory, calibration):
    torch.manual_seed(0)
    model = archs.build("ffdnet", depth=4, width=16).eval()
    path = tmp_path_factory.mktemp("q") / "tiny.onnx"
    report = export(model, path, name="tiny", int8=True, calibration=calibration)
    return path, report


def test_int8_variant_is_written_quantised_with_float_ends(exported):
    path, report = exported
    int8 = report.variants["int8"]
    proto = onnx.load(int8["path"])
    ops = [n.op_type for n in proto.graph.node]
    assert ops.count("QuantizeLinear") >= 2 and ops.count("DequantizeLinear") >= 2
    convs = [n for n in proto.graph.node if n.op_type == "Conv"]
    produced = {o: n.op_type for n in proto.graph.node for o in n.output}
    fed_float = [c for c in convs if produced.get(c.input[1]) != "DequantizeLinear"]
    assert [c.name for c in fed_float] == int8["float_convs"] and len(fed_float) == 2  # first and last
    meta = {e.key: e.value for e in proto.metadata_props}
    assert meta["imgen.name"] == "tiny-int8" and "qdq" in meta[quantize.KEY]
    assert int8["psnr_vs_float"] >= quantize.MIN_PSNR


def test_int8_runs_in_imgen_close_to_float(exported):
    path, report = exported
    rng = np.random.default_rng(5)
    clean = cv2.resize(rng.random((10, 14)).astype(np.float32), (70, 50), interpolation=cv2.INTER_CUBIC)
    noisy = (clean + rng.normal(0, 25 / 255, clean.shape)).astype(np.float32)
    outs = [imgen.load(str(p), providers=["cpu"])(noisy, sigma=25 / 255) for p in (path, report.variants["int8"]["path"])]
    assert outs[0].shape == outs[1].shape == noisy.shape
    err = float(np.sqrt(np.mean((outs[0].astype(np.float64) - outs[1]) ** 2)))
    assert err <= 0.02


def test_search_float_keeps_the_conv_that_helps_most_float(tmp_path, calibration, exported, monkeypatch):
    """One greedy round: every middle conv is tried float; the one whose float gives the highest
    selection PSNR is kept float, and the file says which and why."""
    import json

    path, _ = exported
    scores = []
    real = quantize.psnr_against

    def spy(reference, candidate, feeds):
        scores.append((Path(candidate).name, real(reference, candidate, feeds)))
        return scores[-1][1]

    monkeypatch.setattr(quantize, "psnr_against", spy)
    report = quantize.quantize_file(path, tmp_path / "s.onnx", calibration=calibration, search_float=1)
    tried = [score for name, score in scores if name == "candidate.onnx"]
    names = quantize.conv_names(onnx.load(str(path)))
    assert len(tried) == len(names) - 2  # each conv but the first and last
    assert len(report.nodes_float) == 3 and report.nodes_float[0] == names[0] and report.nodes_float[-1] == names[-1]
    searched = json.loads({e.key: e.value for e in onnx.load(str(tmp_path / "s.onnx")).metadata_props}[quantize.KEY])
    assert searched["float_search"][0]["selection_psnr"] == pytest.approx(max(tried), abs=1e-3)
    assert searched["float_search"][0]["kept_float"] in report.nodes_float
    for bad in (-1, True, 1.5):
        with pytest.raises(ValueError, match="search_float"):
            quantize.quantize_file(path, tmp_path / "x.onnx", calibration=calibration, search_float=bad)


def test_int8_that_strays_is_refused_and_not_kept(tmp_path, calibration, monkeypatch, exported):
    path, _ = exported
    monkeypatch.setattr(quantize, "MIN_PSNR", 500.0)
    dst = tmp_path / "bad.onnx"
    with pytest.raises(quantize.QuantizationError, match="not kept"):
        quantize.quantize_file(path, dst, calibration=calibration)
    assert not dst.exists()


def test_no_calibration_images_is_a_clear_error(tmp_path, exported, monkeypatch):
    monkeypatch.delenv("IMGEN_SHARED", raising=False)
    monkeypatch.chdir(tmp_path)
    with pytest.raises(FileNotFoundError, match="calibration"):
        quantize.quantize_file(exported[0], tmp_path / "x.onnx")


def test_colour_models_calibrate_on_colour_patches(tmp_path, monkeypatch):
    shared = tmp_path / "shared"
    for name in ("train400", "bsds400_color"):
        (shared / "data" / name).mkdir(parents=True)
    monkeypatch.setenv("IMGEN_SHARED", str(shared))
    assert quantize.default_calibration_dir(1) == shared / "data" / "train400"
    assert quantize.default_calibration_dir(3) == shared / "data" / "bsds400_color"
    folder = shared / "data" / "bsds400_color"
    rng = np.random.default_rng(2)
    for k in range(3):
        rgb = cv2.resize(rng.random((8, 8, 3)).astype(np.float32), (64, 64), interpolation=cv2.INTER_CUBIC)
        rgb[..., 0] = 0.9  # a red cast: channel 0 of the model's RGB input
        cv2.imwrite(str(folder / f"{k}.png"), cv2.cvtColor(np.clip(rgb * 255, 0, 255).astype(np.uint8),
                                                           cv2.COLOR_RGB2BGR))
    images = quantize.read_calibration_images(folder, 3)
    assert images[0].shape == (64, 64, 3) and np.allclose(images[0][..., 0], 0.9, atol=0.01)
    assert quantize.read_calibration_images(folder, 1)[0].shape == (64, 64)
    for task in ("denoise", "jpeg", "sr"):
        info = {"imgen.task": task, "imgen.channels": "3", "imgen.scale": "2" if task == "sr" else "1"}
        feeds = quantize.calibration_feeds(info, ["x", "sigma"], images, count=4, size=16)
        image = feeds[0]["x"]
        assert image.shape == (1, 3, 16, 16) and image.dtype == np.float32
        assert image[0, 0].mean() > image[0, 1].mean() + 0.2  # the channels are the photo's, not gray repeated


def test_a_colour_denoiser_quantises(tmp_path, monkeypatch):
    folder = tmp_path / "colour"
    folder.mkdir()
    rng = np.random.default_rng(3)
    for k in range(4):
        rgb = cv2.resize(rng.random((12, 12, 3)).astype(np.float32), (96, 96), interpolation=cv2.INTER_CUBIC)
        cv2.imwrite(str(folder / f"{k}.png"), np.clip(rgb * 255, 0, 255).astype(np.uint8))
    torch.manual_seed(0)
    model = archs.build("ffdnet", in_channels=3, depth=4, width=16).eval()
    report = export(model, tmp_path / "c.onnx", name="c", int8=True, calibration=folder)
    assert report.variants["int8"]["psnr_vs_float"] >= quantize.MIN_PSNR


def test_export_cli_has_int8_and_calibration():
    import argparse

    from imgen.cli import export as cli_export

    parser = argparse.ArgumentParser()
    cli_export.add_parser(parser.add_subparsers())
    args = parser.parse_args(["export", "ck.pt", "-o", "m.onnx", "--int8", "--calibration", "DIR"])
    assert args.int8 and args.calibration == "DIR"


def test_a_fake_quant_checkpoint_exports_int8_with_its_float_convs(tmp_path, calibration):
    """A checkpoint trained with --fake-quant --fake-quant-float 0,1,-1 gets the int8 file it was
    trained for: convs 0, 1 and the last float; a corrupt fake_quant entry is named."""
    from imgen_train.convert import export_checkpoint
    from imgen_train.train import TrainOptions, train

    run = tmp_path / "run"
    train(TrainOptions(train_dir=str(calibration), out=str(run), arch="ffdnet", depth=4, width=8, batch_norm=False,
                       fake_quant=True, fake_quant_float="0,1,-1", noise="10,40", patch=16, batch=4, iters=4,
                       val_count=1, val_every=4, ckpt_every=4, log_every=2, threads=1, progress=False))
    report = export_checkpoint(run / "last.pt", tmp_path / "m.onnx", int8=True, calibration=calibration)
    proto = onnx.load(report.variants["int8"]["path"])
    convs = [n.name for n in proto.graph.node if n.op_type == "Conv"]
    assert report.variants["int8"]["float_convs"] == [convs[0], convs[1], convs[-1]]
    state = torch.load(run / "last.pt", weights_only=False)
    state["fake_quant"]["float_weights"] = ["0"]
    torch.save(state, run / "bad.pt")
    with pytest.raises(ValueError, match="float_weights should be a list of conv indices"):
        export_checkpoint(run / "bad.pt", tmp_path / "bad.onnx", int8=True, calibration=calibration)
