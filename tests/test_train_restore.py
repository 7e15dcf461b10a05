"""imgen_train tasks/restore.py: SR, JPEG and deblur training on tiny images, export with task
metadata, the exported SR and deblur models through imgen (tiled = whole, luma SR on colour images,
a learned deblurrer on a folder from the API and the CLI)."""
from __future__ import annotations

import csv

import cv2
import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="imgen_train needs torch (pip install torch, then imgen[train])")

import imgen  # noqa: E402
from imgen import degrade  # noqa: E402
from imgen_train.train import TrainOptions, train  # noqa: E402


def _textured_images(folder, side: int, count: int, seed: int, edge: int, edge_step: int):
    """``count`` gray PNGs of ``side``² with edges and texture (what SR, JPEG and deblurring restore)."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:side, 0:side]
    for k in range(count):
        img = 128 + 60 * np.sin(xx / (2 + k / 3)) * np.cos(yy / 3) + 50 * (xx + yy > edge + edge_step * k)
        cv2.imwrite(str(folder / f"{k}.png"), np.clip(img + rng.normal(0, 2, img.shape), 0, 255).astype(np.uint8))
    return folder


@pytest.fixture(scope="module")
def image_dir(tmp_path_factory):
    """Six 48² gray images."""
    return _textured_images(tmp_path_factory.mktemp("imgs"), 48, 6, seed=0, edge=40, edge_step=3)


def _options(image_dir, out, **kw):
    base = dict(train_dir=str(image_dir), out=str(out), depth=3, width=8, patch=16, batch=8, iters=30, lr=3e-3,
                val_count=2, val_every=10, ckpt_every=10, log_every=10, threads=1, progress=False, seed=1)
    base.update(kw)
    return TrainOptions(**base)


def _val(path):
    with open(path) as f:
        return [float(r["val_psnr"]) for r in csv.DictReader(f) if r["val_psnr"]]


@pytest.fixture(scope="module")
def sr_run(image_dir, tmp_path_factory):
    out = tmp_path_factory.mktemp("sr")
    result = train(_options(image_dir, out / "run", arch="srnet", scale=2))
    return out, result


def test_sr_training_validates_and_checkpoints(sr_run):
    out, result = sr_run
    assert len(_val(out / "run" / "log.csv")) == 3 and result["step"] == 30
    assert np.isfinite(result["best_psnr"]) and (out / "run" / "best.pt").exists()


def test_untrained_srnet_is_bicubic_and_validation_scores_it(image_dir):
    """The last conv starts at zero, so the net is OpenCV-equivalent bicubic (a = -0.75), and the
    task's validation PSNR (8-bit, scale shaved) is bicubic's, computed here independently."""
    from imgen_train import archs
    from imgen_train.tasks import TASKS

    o = _options(image_dir, "unused", arch="srnet", scale=2)
    net = archs.build("srnet", in_channels=1, scale=2, depth=3, width=8)
    task = TASKS["sr"](net, o, torch.device("cpu"))
    scores = []
    for lr, hr in task.val:
        up = cv2.resize(lr[0, 0].numpy(), None, fx=2, fy=2, interpolation=cv2.INTER_CUBIC)
        up = np.round(np.clip(up, 0, 1) * 255) / 255
        diff = (up - hr[0, 0].numpy())[2:-2, 2:-2]
        scores.append(10 * np.log10(1 / np.mean(diff.astype(np.float64) ** 2)))
    assert task.validate() == pytest.approx(np.mean(scores), abs=0.02)


def test_sr_batches_are_aligned_lr_hr_pairs(image_dir):
    from imgen_train import archs
    from imgen_train.tasks import TASKS

    o = _options(image_dir, "unused", arch="srnet", scale=2)
    task = TASKS["sr"](archs.build("srnet", in_channels=1, scale=2, depth=3, width=8), o, torch.device("cpu"))
    a, b = task.batch(5), task.batch(5)
    assert torch.equal(a["degraded"], b["degraded"])  # seeded by (seed, step)
    assert a["degraded"].shape == (8, 1, 8, 8) and a["clean"].shape == (8, 1, 16, 16)
    # the LR patch is the MATLAB-bicubic shrink of its HR patch (away from the patch border)
    hr = (a["clean"][0, 0].numpy() * 255).round().astype(np.uint8)
    lr = degrade.downscale(hr, 2).astype(np.float32) / 255
    np.testing.assert_allclose(a["degraded"][0, 0, 2:-2, 2:-2].numpy(), lr[2:-2, 2:-2], atol=2 / 255)


def test_sr_patch_must_be_a_multiple_of_the_scale(image_dir, tmp_path):
    with pytest.raises(ValueError, match="multiple of the scale 3"):
        train(_options(image_dir, tmp_path / "r", arch="srnet", scale=3, patch=16))


@pytest.fixture(scope="module")
def sr_onnx(sr_run):
    from imgen_train.convert import export_checkpoint

    out, _ = sr_run
    export_checkpoint(out / "run" / "best.pt", out / "sr.onnx")
    return out / "sr.onnx"


def test_srnet_with_relu_exports_without_prelu(image_dir, tmp_path):
    """activation="relu": onnxruntime fuses it into the conv, which it cannot do with a per-channel
    PReLU; the export's parity check holds and the file keeps the choice in its config."""
    import json

    import onnx
    from imgen_train.convert import export_checkpoint

    train(_options(image_dir, tmp_path / "run", arch="srnet", scale=2, activation="relu", iters=10))
    export_checkpoint(tmp_path / "run" / "best.pt", tmp_path / "relu.onnx")
    proto = onnx.load(str(tmp_path / "relu.onnx"))
    ops = [n.op_type for n in proto.graph.node]
    assert "PRelu" not in ops and ops.count("Relu") == 2 and ops.count("Add") == 1  # the residual over bicubic
    config = json.loads({e.key: e.value for e in proto.metadata_props}["imgen.arch_config"])
    assert config["activation"] == "relu"
    assert imgen.load(str(tmp_path / "relu.onnx"), providers=["cpu"])(np.zeros((9, 7), np.uint8)).shape == (18, 14)
    with pytest.raises(ValueError, match="activation must be one of"):
        train(_options(image_dir, tmp_path / "bad", arch="srnet", scale=2, activation="gelu"))


def test_sr_export_metadata(sr_onnx):
    model = imgen.load(str(sr_onnx), providers=["cpu"])
    assert model.info.task == "sr" and model.info.scale == 2 and model.info.channels == 1
    assert model(np.zeros((15, 9), np.uint8)).shape == (30, 18)


def test_learned_sr_tiled_matches_whole(sr_onnx):
    model = imgen.load(str(sr_onnx), providers=["cpu"])
    img = np.random.default_rng(3).random((70, 93), dtype=np.float32)
    whole = model(img, tile=0)
    tiled = model(img, tile=32, overlap=12)
    assert whole.shape == tiled.shape == (140, 186)
    np.testing.assert_allclose(tiled, whole, atol=1e-5)


def test_luma_sr_model_on_colour_keeps_bicubic_chroma(sr_onnx):
    from imgen import degrade
    from imgen._ycbcr import to_planes as _ycc_planes
    from imgen.processors import FrameProcessor, ProcessorOptions

    from skimage import data

    rgb = data.astronaut()[100:140, 150:186]
    proc = FrameProcessor(ProcessorOptions(model=str(sr_onnx), task="sr", scale=2))
    out = proc([rgb])[0]
    assert out.shape == (80, 72, 3) and out.dtype == np.uint8
    assert any("Cb and Cr MATLAB bicubic" in n for n in proc.notes)
    cb_out = _ycc_planes(out, "rgb")[1]
    cb_bicubic = degrade.upscale(_ycc_planes(rgb, "rgb")[1], 2)
    assert np.abs(cb_out - cb_bicubic).max() < 3 / 255  # chroma: MATLAB bicubic up to 8-bit rounding


def test_sr_model_refused_for_another_task(sr_onnx):
    from imgen.errors import ImgenError

    with pytest.raises(ImgenError, match="is for task sr, not jpeg"):
        imgen.restore(np.zeros((16, 16), np.uint8), task="jpeg", model=str(sr_onnx))


def test_a_model_that_keeps_the_size_is_refused_for_sr():
    from imgen.errors import ImgenError

    with pytest.raises(ImgenError, match="task sr needs a model that upscales.*denoise-gray.*scale 1"):
        imgen.restore(np.zeros((16, 16), np.uint8), task="sr", model="denoise-gray")


def test_jpeg_training_and_export(image_dir, tmp_path):
    from imgen_train.convert import export_checkpoint

    result = train(_options(image_dir, tmp_path / "run", arch="dejpeg", quality="10,30", iters=20))
    assert np.isfinite(result["best_psnr"])
    export_checkpoint(tmp_path / "run" / "best.pt", tmp_path / "j.onnx")
    model = imgen.load(str(tmp_path / "j.onnx"), providers=["cpu"])
    assert model.info.task == "jpeg" and model.info.scale == 1
    assert imgen.restore(np.full((24, 20), 90, np.uint8), task="jpeg", model=str(tmp_path / "j.onnx")).shape == (24, 20)


@pytest.mark.parametrize("quality", ["0,10", "40,10", "x", "10,200"])
def test_jpeg_quality_range_refused(image_dir, tmp_path, quality):
    with pytest.raises(ValueError, match="--quality must be"):
        train(_options(image_dir, tmp_path / "r", arch="dejpeg", quality=quality))


def test_cli_restore_folder_with_learned_sr(sr_onnx, tmp_path):
    from imgen.cli import main

    folder = tmp_path / "in"
    folder.mkdir()
    cv2.imwrite(str(folder / "a.png"), np.full((20, 30, 3), 120, np.uint8))
    cv2.imwrite(str(folder / "b.png"), np.full((17, 11), 60, np.uint8))
    assert main(["restore", str(folder), "-o", str(tmp_path / "out"), "--task", "sr", "--model", str(sr_onnx),
                 "-q"]) == 0
    assert cv2.imread(str(tmp_path / "out" / "a.png"), cv2.IMREAD_UNCHANGED).shape == (40, 60, 3)
    assert cv2.imread(str(tmp_path / "out" / "b.png"), cv2.IMREAD_UNCHANGED).shape == (34, 22)
    assert main(["restore", str(folder), "-o", str(tmp_path / "o2"), "--task", "jpeg", "--model", str(sr_onnx),
                 "-q"]) == 1


def test_deblur_kernel_family_holds_the_fixed_kernels():
    from imgen_train.tasks import restore

    assert restore.GAUSS_SIGMA[0] < 1.6 < 3.0 < restore.GAUSS_SIGMA[1]
    assert {19, 25} <= set(restore.MOTION_SIZES) and restore.MOTION_SEEDS > 25
    rng = np.random.default_rng(0)
    kernels = [restore.draw_kernel(rng) for _ in range(40)]
    assert all(k.shape == (25, 25) or k.shape[0] in restore.MOTION_SIZES for k in kernels)
    assert all(abs(k.sum() - 1) < 1e-9 for k in kernels)
    assert len({k.tobytes() for k in kernels}) == 40  # not a handful of kernels
    assert restore.gauss_range("1,4") == (1.0, 4.0) and restore.gauss_range("2") == (2.0, 2.0)
    for bad in ("4,1", "0.1,2", "1,9", "wide", "1,2,3"):
        with pytest.raises(ValueError, match="--blur-gauss"):
            restore.gauss_range(bad)
    wide = [restore.draw_kernel(np.random.default_rng(k), (3.9, 4.0)) for k in range(20)]
    narrow = [restore.draw_kernel(np.random.default_rng(k), (0.8, 0.9)) for k in range(20)]
    gaussian = [(w.max(), n.max()) for w, n in zip(wide, narrow) if np.allclose(w, w.T) and np.allclose(w, w[::-1])]
    assert gaussian and all(w < 0.02 < 0.19 < n for w, n in gaussian)  # the same draws: wider Gaussians


def test_deblur_batches_are_blurred_sharp_pairs(image_dir):
    from imgen_train import archs
    from imgen_train.tasks import TASKS

    o = _options(image_dir, "unused", arch="deblurnet", depth=1, blur_noise="2,3")
    task = TASKS["deblur"](archs.build("deblurnet", depth=1, width=4), o, torch.device("cpu"))
    a, b = task.batch(4), task.batch(4)
    assert torch.equal(a["degraded"], b["degraded"])  # seeded by (seed, step)
    assert a["degraded"].shape == a["clean"].shape == (8, 1, 16, 16)
    # blur smooths: less high-frequency energy than the sharp patch, same mean brightness
    grad = lambda t: (t[..., 1:, :] - t[..., :-1, :]).abs().mean()  # noqa: E731
    assert grad(a["degraded"]) < grad(a["clean"])
    assert abs(float(a["degraded"].mean() - a["clean"].mean())) < 0.02
    # validation: each fixed kernel once per held-out image
    assert sorted(set(task.val_kernels)) == sorted(degrade.fixed_kernels()) and len(task.val) == 4 * 2


@pytest.mark.parametrize("kw, match", [({"patch": 20}, "multiple of the model's size multiple 8"),
                                       ({"patch": 32}, "smaller than the patch plus its blur margin"),
                                       ({"blur_noise": "3,1"}, "--blur-noise must be"),
                                       ({"blur_noise": "x"}, "--blur-noise must be")])
def test_deblur_options_refused(image_dir, tmp_path, kw, match):
    with pytest.raises(ValueError, match=match):
        train(_options(image_dir, tmp_path / "r", arch="deblurnet", **kw))


@pytest.fixture(scope="module")
def deblur_onnx(image_dir, tmp_path_factory):
    """A briefly trained (random-weight in effect) deblurnet, exported."""
    from imgen_train.convert import export_checkpoint

    out = tmp_path_factory.mktemp("deblur")
    result = train(_options(image_dir, out / "run", arch="deblurnet", depth=2, width=4, iters=4, val_every=4))
    assert np.isfinite(result["best_psnr"])
    export_checkpoint(out / "run" / "best.pt", out / "deblur.onnx")
    return out / "deblur.onnx"


def test_deblur_export_metadata(deblur_onnx):
    from imgen_train import archs

    model = imgen.load(str(deblur_onnx), providers=["cpu"])
    net = archs.build("deblurnet", depth=2, width=4)
    assert model.info.task == "deblur" and model.info.scale == 1 and model.info.size_multiple == 8
    assert model.info.tile == 1024 and model.info.tile_overlap == net.tile_overlap
    assert model(np.zeros((15, 9), np.uint8)).shape == (15, 9)


def test_learned_deblur_tiled_matches_whole_at_the_declared_overlap(tmp_path):
    """Random weights (the last conv too, so the network changes its input a lot): tiles at the
    declared overlap give the whole image's result; a small overlap visibly does not."""
    from imgen_train import archs
    from imgen_train.export_onnx import export

    torch.manual_seed(0)
    net = archs.build("deblurnet", depth=2, width=4).eval()
    torch.nn.init.kaiming_normal_(net.tail.weight)
    export(net, tmp_path / "random.onnx")
    model = imgen.load(str(tmp_path / "random.onnx"), providers=["cpu"])
    overlap = model.info.tile_overlap
    img = np.random.default_rng(5).random((300, 2 * overlap + 37), dtype=np.float32)
    whole = model(img, tile=0)
    assert np.abs(whole - img).mean() > 0.1
    tiled = model(img, tile=2 * overlap, overlap=overlap)
    assert whole.shape == tiled.shape == img.shape
    np.testing.assert_allclose(tiled, whole, atol=1e-4)
    assert np.abs(model(img, tile=2 * overlap, overlap=16) - whole).max() > 0.01


def test_learned_deblur_needs_no_kernel_and_runs_on_a_folder(deblur_onnx, tmp_path):
    from imgen.cli import main

    folder = tmp_path / "in"
    folder.mkdir()
    rng = np.random.default_rng(1)
    cv2.imwrite(str(folder / "a.png"), rng.integers(0, 256, (21, 30, 3), dtype=np.uint8))
    cv2.imwrite(str(folder / "b.png"), rng.integers(0, 256, (17, 11), dtype=np.uint8))
    assert main(["restore", str(folder), "-o", str(tmp_path / "out"), "--task", "deblur", "--model",
                 str(deblur_onnx), "-q"]) == 0
    assert cv2.imread(str(tmp_path / "out" / "a.png"), cv2.IMREAD_UNCHANGED).shape == (21, 30, 3)
    assert cv2.imread(str(tmp_path / "out" / "b.png"), cv2.IMREAD_UNCHANGED).shape == (17, 11)
    # the API on the folder's images gives what the CLI wrote
    b = cv2.imread(str(folder / "b.png"), cv2.IMREAD_UNCHANGED)
    api = imgen.restore(b, task="deblur", model=str(deblur_onnx))
    assert np.abs(api.astype(int) - cv2.imread(str(tmp_path / "out" / "b.png"), cv2.IMREAD_UNCHANGED)).max() <= 1
    # a deblurrer is refused for another task
    assert main(["restore", str(folder), "-o", str(tmp_path / "o2"), "--task", "jpeg", "--model", str(deblur_onnx),
                 "-q"]) == 1


@pytest.fixture(scope="module")
def wide_image_dir(tmp_path_factory):
    """Four 104² gray images, wide enough for deblur_wiener's patches (16 + 2 x its 40-pixel margin)."""
    return _textured_images(tmp_path_factory.mktemp("wide"), 104, 4, seed=1, edge=80, edge_step=5)


def test_deblur_wiener_feeds_wieners_output_of_the_blurred_image(wide_image_dir):
    """Validation inputs are Wiener's output (true kernel, clipped) of the whole blurred images,
    recomputed here from imgen.degrade and imgen.restoration; batches are seeded and Wiener-sharp."""
    from imgen_train import archs
    from imgen_train.tasks import TASKS

    from imgen import restoration

    o = _options(wide_image_dir, "unused", arch="wiener_refine", depth=2, blur_noise="2,3")
    task = TASKS["deblur_wiener"](archs.build("wiener_refine", depth=2, width=4), o, torch.device("cpu"))
    a, b = task.batch(3), task.batch(3)
    assert torch.equal(a["degraded"], b["degraded"]) and a["degraded"].shape == (8, 1, 16, 16)
    assert float(a["degraded"].min()) >= 0 and float(a["degraded"].max()) <= 1
    table, n = degrade.fixed_kernels(), len(task.val) // len(degrade.fixed_kernels())
    for i in (0, len(task.val) - 1):
        clean = np.rint(task.val[i][1][0, 0].numpy() * 255).astype(np.uint8)
        blurred = degrade.blur(clean, table[task.val_kernels[i]], 2.5 / 255, seed=i % n)
        want = np.clip(restoration.wiener(blurred.astype(np.float32) / 255, table[task.val_kernels[i]]), 0, 1)
        np.testing.assert_allclose(task.val[i][0][0, 0].numpy(), want, atol=1e-6)


def test_wiener_refine_exports_a_refiner_that_wiener_net_runs(wide_image_dir, tmp_path):
    from imgen_train.convert import export_checkpoint

    from imgen import restoration
    from imgen.errors import ImgenError
    from imgen.processors import make_processor

    result = train(_options(wide_image_dir, tmp_path / "run", arch="wiener_refine", depth=2, width=4, iters=4,
                            val_every=4, wiener_balance=0.003))
    assert np.isfinite(result["best_psnr"])
    export_checkpoint(tmp_path / "run" / "best.pt", tmp_path / "refine.onnx")
    model = imgen.load(str(tmp_path / "refine.onnx"), providers=["cpu"])
    assert model.info.task == "deblur" and model.info.extra["input_from"] == "wiener"
    assert model.info.extra["wiener_balance"] == "0.003"
    assert model.info.size_multiple == 2
    img = cv2.imread(str(wide_image_dir / "0.png"), cv2.IMREAD_GRAYSCALE)
    blurred = degrade.blur(img, "gauss1.6", 2.55 / 255, seed=0)
    assert restoration.wiener_net(blurred, "gauss1.6", refiner=str(tmp_path / "refine.onnx")).shape == img.shape
    with pytest.raises(ImgenError, match="wiener_net"):
        make_processor(model=str(tmp_path / "refine.onnx"), task="deblur")
