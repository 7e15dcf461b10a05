"""imgen_train.train: a few steps on tiny generated images; loss falls, checkpoints resume, CSV written."""
from __future__ import annotations

import csv
import math

import cv2
import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="imgen_train needs torch (pip install torch, then imgen[train])")

from imgen_train.data import NoiseSpec, PatchSampler, augment, list_images, split_files  # noqa: E402
from imgen_train.train import TrainOptions, load_model, train  # noqa: E402


@pytest.fixture
def image_dir(tmp_path):
    """Smooth gray images (easy to denoise) with a few edges."""
    rng = np.random.default_rng(0)
    folder = tmp_path / "imgs"
    folder.mkdir()
    yy, xx = np.mgrid[0:40, 0:40]
    for k in range(6):
        img = 128 + 60 * np.sin(xx / (4 + k)) * np.cos(yy / 5) + 40 * (xx > 20 + k)
        img += rng.normal(0, 2, img.shape)
        cv2.imwrite(str(folder / f"{k}.png"), np.clip(img, 0, 255).astype(np.uint8))
    return folder


def _options(image_dir, out, **kw):
    base = dict(train_dir=str(image_dir), out=str(out), arch="ffdnet", depth=3, width=16, noise="10,40",
                patch=16, batch=8, iters=40, lr=3e-3, val_count=2, val_every=20, ckpt_every=20, log_every=10,
                threads=1, progress=False, seed=3)
    base.update(kw)
    return TrainOptions(**base)


def _rows(path):
    with open(path) as f:
        return list(csv.DictReader(f))


def test_training_reduces_loss_and_writes_log(image_dir, tmp_path):
    result = train(_options(image_dir, tmp_path / "run"))
    rows = _rows(tmp_path / "run" / "log.csv")
    assert [r["step"] for r in rows] == ["10", "20", "30", "40", "40+bn"]  # +bn: BN statistics re-estimated
    assert float(rows[-1]["val_psnr"]) == pytest.approx(result["final_psnr"], abs=1e-3)
    rows = rows[:4]
    losses = [float(r["loss"]) for r in rows]
    assert losses[-1] < 0.5 * losses[0]
    assert rows[1]["val_psnr"] and rows[3]["val_psnr"] and not rows[0]["val_psnr"]
    assert result["step"] == 40 and math.isfinite(result["best_psnr"])
    for name in ("last.pt", "best.pt", "final.pt", "options.json"):
        assert (tmp_path / "run" / name).exists()
    model, state = load_model(tmp_path / "run" / "best.pt")
    assert state["arch"] == "ffdnet" and model.config.depth == 3


def test_resume_matches_an_uninterrupted_run(image_dir, tmp_path):
    train(_options(image_dir, tmp_path / "full", arch="dncnn", iters=30, ckpt_every=10, val_every=10))
    train(_options(image_dir, tmp_path / "part", arch="dncnn", iters=30, stop_at=20, ckpt_every=10, val_every=10))
    train(_options(image_dir, tmp_path / "part", arch="dncnn", iters=30, ckpt_every=10, val_every=10, resume=True))
    full = torch.load(tmp_path / "full" / "last.pt", weights_only=False)
    part = torch.load(tmp_path / "part" / "last.pt", weights_only=False)
    assert full["step"] == part["step"] == 30
    for key, value in full["state_dict"].items():
        torch.testing.assert_close(part["state_dict"][key], value, rtol=1e-5, atol=1e-6)
    assert [r["step"] for r in _rows(tmp_path / "part" / "log.csv")] == ["10", "20", "30"]  # DnCNN: no BN here


def test_batch_norm_recalibration_uses_exact_statistics(image_dir, tmp_path):
    from imgen_train.train import recalibrate_batch_norm

    o = _options(image_dir, tmp_path / "r")
    sampler = PatchSampler.from_files(list_images(o.train_dir), channels=1, patch=16, batch=4,
                                      noise=NoiseSpec.parse("20"), seed=0)
    model = torch.nn.Sequential(torch.nn.Conv2d(1, 3, 1), torch.nn.BatchNorm2d(3))
    model.noise_input = False
    assert recalibrate_batch_norm(model, sampler, 3, 100, torch.device("cpu"))
    with torch.no_grad():
        feats = torch.cat([model[0](sampler.batch(100 + k)["noisy"]) for k in range(3)])
    torch.testing.assert_close(model[1].running_mean, feats.mean(dim=(0, 2, 3)), rtol=1e-4, atol=1e-5)
    assert model[1].momentum == 0.1
    assert not recalibrate_batch_norm(torch.nn.Conv2d(1, 1, 1), sampler, 3, 0, torch.device("cpu"))


def test_validation_re_estimates_batch_norm_without_changing_training(image_dir, tmp_path):
    from imgen_train.tasks import TASKS
    from imgen_train.tasks.denoise import evaluate

    kw = dict(iters=40, val_every=20, bn_recalibrate=0)
    train(_options(image_dir, tmp_path / "exact", val_bn_batches=3, **kw))
    train(_options(image_dir, tmp_path / "running", val_bn_batches=0, **kw))
    exact = torch.load(tmp_path / "exact" / "last.pt", weights_only=False)["state_dict"]
    running = torch.load(tmp_path / "running" / "last.pt", weights_only=False)["state_dict"]
    means = [k for k in exact if k.endswith("running_mean")]
    assert means
    for key, value in exact.items():  # the weights do not depend on how validation estimates BN
        if "running" not in key and "num_batches" not in key:
            torch.testing.assert_close(running[key], value, rtol=0, atol=0)
    assert any(not torch.allclose(exact[k], running[k]) for k in means)
    # the statistics validated are the exact averages over 3 batches drawn after the schedule's end
    o = _options(image_dir, tmp_path / "exact", val_bn_batches=3, **kw)
    model, _ = load_model(tmp_path / "exact" / "last.pt")
    task = TASKS["denoise"](model, o, torch.device("cpu"))
    assert task.recalibrate(3, o.iters + 40)
    for key in means:
        torch.testing.assert_close(model.state_dict()[key], exact[key], rtol=1e-5, atol=1e-6)
    logged = float(_rows(tmp_path / "exact" / "log.csv")[3]["val_psnr"])
    assert evaluate(model, task.val, torch.device("cpu")) == pytest.approx(logged, abs=1e-3)


def test_mse_sigma_weighs_each_patch_by_its_noise_level():
    from imgen_train.tasks.base import SIGMA_FLOOR, SIGMA_UNIT, pixel_loss

    diff = torch.zeros(3, 1, 4, 4)
    diff[0], diff[1], diff[2] = 0.01, 0.05, 0.001  # errors that grow with the noise level
    sigma = torch.tensor([0.02, 0.2, 0.0]).view(3, 1, 1, 1)
    expected = SIGMA_UNIT * (0.01 ** 2 / (0.02 + SIGMA_FLOOR) + 0.05 ** 2 / (0.2 + SIGMA_FLOOR)
                             + 0.001 ** 2 / SIGMA_FLOOR) / 3
    assert float(pixel_loss(diff, "mse_sigma", sigma)) == pytest.approx(expected, rel=1e-5)
    assert float(pixel_loss(diff, "mse")) == pytest.approx((0.01 ** 2 + 0.05 ** 2 + 0.001 ** 2) / 3, rel=1e-5)
    with pytest.raises(ValueError, match="sigma"):
        pixel_loss(diff, "mse_sigma")


def test_mse_sigma_trains_a_denoiser_and_unknown_losses_are_refused(image_dir, tmp_path):
    result = train(_options(image_dir, tmp_path / "w", loss="mse_sigma", bn_recalibrate=0))
    losses = [float(r["loss"]) for r in _rows(tmp_path / "w" / "log.csv")]
    assert losses[-1] < 0.5 * losses[0] and math.isfinite(result["best_psnr"])
    with pytest.raises(ValueError, match="--loss 'msa'.*mse, l1, mse_sigma"):
        train(_options(image_dir, tmp_path / "typo", loss="msa"))


def test_resume_without_checkpoint_is_an_error(image_dir, tmp_path):
    with pytest.raises(FileNotFoundError, match="no checkpoint"):
        train(_options(image_dir, tmp_path / "none", resume=True))


def test_batches_are_seeded_and_noise_is_in_range():
    rng = np.random.default_rng(0)
    images = [rng.integers(0, 256, (20, 24, 1), dtype=np.uint8) for _ in range(3)]
    sampler = PatchSampler(images, patch=8, batch=5, noise=NoiseSpec.parse("5,30"), seed=1)
    a, b, c = sampler.batch(4), sampler.batch(4), sampler.batch(5)
    assert torch.equal(a["noisy"], b["noisy"]) and not torch.equal(a["noisy"], c["noisy"])
    assert a["clean"].shape == (5, 1, 8, 8) and a["sigma"].shape == (5, 1, 1, 1)
    assert float(a["sigma"].min()) >= 5 / 255 and float(a["sigma"].max()) <= 30 / 255


def test_the_eight_augmentations_are_distinct():
    patch = np.arange(12).reshape(3, 4, 1)
    outs = {augment(patch, m).tobytes() + bytes(augment(patch, m).shape) for m in range(8)}
    assert len(outs) == 8


@pytest.mark.parametrize("text, expected", [("25", (25, 25)), ("0,75", (0, 75)), ("0-75", (0, 75)), (15, (15, 15))])
def test_noise_spec_parse(text, expected):
    spec = NoiseSpec.parse(text)
    assert (spec.low, spec.high) == expected


def test_noise_spec_rejects_bad_ranges():
    with pytest.raises(ValueError, match="LOW,HIGH"):
        NoiseSpec.parse("50,10")


def test_cli_train_then_export_then_serve(image_dir, tmp_path, capsys):
    """imgen train -> imgen export -> imgen.load: the path the shipped model took, in miniature."""
    import imgen
    from imgen.cli import main

    out = tmp_path / "cli-run"
    assert main(["train", "--train-dir", str(image_dir), "--out", str(out), "--arch", "ffdnet", "--depth", "3",
                 "--width", "8", "--patch", "16", "--batch", "4", "--iters", "6", "--val-count", "2",
                 "--val-every", "3", "--ckpt-every", "3", "--threads", "1", "--no-progress"]) == 0
    assert '"step": 6' in capsys.readouterr().out
    assert main(["export", str(out / "best.pt"), "-o", str(tmp_path / "m.onnx")]) == 0
    model = imgen.load(str(tmp_path / "m.onnx"), providers=["cpu"])
    assert model.info.noise_input == "sigma" and "trained by imgen train" in model.info.description
    assert model(np.zeros((15, 9), np.float32), sigma=0.1).shape == (15, 9)


def test_cli_train_rejects_bad_options(image_dir, tmp_path, capsys):
    from imgen.cli import main

    assert main(["train", "--train-dir", str(image_dir), "--out", str(tmp_path / "r"), "--patch", "15",
                 "--no-progress"]) == 1
    assert "multiple of 2" in capsys.readouterr().err


def test_options_from_toml_with_flag_overrides(image_dir, tmp_path):
    from imgen_train.train import parse_options

    cfg = tmp_path / "run.toml"
    cfg.write_text(f'train-dir = "{image_dir}"\narch = "dncnn"\ndepth = 5\niters = 7\nnoise = "25"\n')
    o = parse_options(["--config", str(cfg), "--iters", "9"], "test")
    assert (o.train_dir, o.arch, o.depth, o.iters, o.noise) == (str(image_dir), "dncnn", 5, 9, "25")
    cfg.write_text('colour = 3\n')
    with pytest.raises(ValueError, match="unknown option.*colour"):
        parse_options(["--config", str(cfg), "--train-dir", "x"], "test")


def test_split_files_holds_out_the_last_files_or_takes_a_val_dir(image_dir, tmp_path):
    files = list_images(image_dir)
    assert split_files(image_dir, None, 2) == (files[:-2], files[-2:])
    assert split_files(image_dir, image_dir, 2) == (files, files)
    for bad in (0, len(files)):
        with pytest.raises(ValueError, match=f"--val-count {bad}: need 1 to {len(files) - 1} held-out images"):
            split_files(image_dir, None, bad)


def test_patch_not_a_multiple_of_the_size_multiple_is_named(image_dir, tmp_path):
    with pytest.raises(ValueError, match="--patch 15 must be a multiple of 2 for ffdnet"):
        train(_options(image_dir, tmp_path / "odd", patch=15))


def test_log_carries_cpu_seconds_across_a_resume(image_dir, tmp_path):
    train(_options(image_dir, tmp_path / "run", iters=40, stop_at=20, bn_recalibrate=0))
    train(_options(image_dir, tmp_path / "run", iters=40, resume=True, bn_recalibrate=0))
    rows = _rows(tmp_path / "run" / "log.csv")
    cpu = [float(r["cpu_seconds"]) for r in rows]
    assert cpu == sorted(cpu) and cpu[-1] > 0  # the resumed half continues the count


def test_resume_drops_rows_logged_after_the_checkpoint(image_dir, tmp_path):
    """A run killed between checkpoints has logged steps that the resume runs again: each step is
    logged once."""
    import shutil

    run = tmp_path / "run"
    train(_options(image_dir, run, iters=40, stop_at=20, bn_recalibrate=0))
    shutil.copy(run / "last.pt", tmp_path / "at20.pt")
    train(_options(image_dir, run, iters=40, stop_at=30, resume=True, bn_recalibrate=0))
    assert [r["step"] for r in _rows(run / "log.csv")] == ["10", "20", "30"]
    shutil.copy(tmp_path / "at20.pt", run / "last.pt")  # killed after step 30 was logged, before its checkpoint
    train(_options(image_dir, run, iters=40, resume=True, bn_recalibrate=0))
    assert [r["step"] for r in _rows(run / "log.csv")] == ["10", "20", "30", "40"]


def test_init_from_an_exported_onnx_reproduces_it(tmp_path):
    """A fresh run can start from a shipped ONNX file (batch norm folded): the same function."""
    import onnxruntime as ort
    import torch

    from imgen.engine import resolve_model_path
    from imgen_train import archs
    from imgen_train.train import load_initial_weights

    path = resolve_model_path("denoise-gray")
    model = archs.build("ffdnet", in_channels=1, depth=12, width=64, batch_norm=False).eval()
    load_initial_weights(model, path)
    x = np.random.default_rng(0).random((1, 1, 32, 48), dtype=np.float32)
    sigma = np.full((1, 1, 1, 1), 25 / 255, np.float32)
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    names = [i.name for i in session.get_inputs()]
    expected = session.run(None, dict(zip(names, [x, sigma])))[0]
    with torch.no_grad():
        got = model(torch.from_numpy(x), torch.from_numpy(sigma)).numpy()
    np.testing.assert_allclose(got, expected, atol=1e-5)
    with pytest.raises(ValueError, match="batch_norm=False"):
        load_initial_weights(archs.build("ffdnet", in_channels=1, depth=12, width=64), path)
    with pytest.raises(ValueError, match="12 convolutions, the model 13"):
        load_initial_weights(archs.build("ffdnet", in_channels=1, depth=13, width=64, batch_norm=False), path)
