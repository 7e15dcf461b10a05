"""DCGAN, VAE and CycleGAN in imgen_train: shapes, a few training steps per task (finite losses
that move, sample grids, exact resume) and export with the parity gate."""
from __future__ import annotations

import csv
import math

import cv2
import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="imgen_train needs torch (pip install torch, then imgen[train])")
pytest.importorskip("onnxscript", reason="the dynamo ONNX exporter needs onnxscript (imgen[train])")

import imgen  # noqa: E402
from imgen_train import archs  # noqa: E402
from imgen_train.export_onnx import export  # noqa: E402
from imgen_train.tasks.cyclegan import ImagePool  # noqa: E402
from imgen_train.train import TrainOptions, train  # noqa: E402

TINY = {
    "dcgan": dict(image_size=16, latent=8, width=4),
    "vae": dict(image_size=16, latent=4, width=4),
    "cyclegan": dict(in_channels=3, width=4, depth=1, disc_width=4),
}


@pytest.mark.parametrize("size", [8, 16, 32])
def test_dcgan_shapes(size):
    model = archs.build("dcgan", image_size=size, latent=8, width=4).eval()
    with torch.no_grad():
        img = model.generator(torch.randn(3, 8))
        logits = model.discriminator(img)
    assert img.shape == (3, 1, size, size) and logits.shape == (3,)
    assert float(img.abs().max()) <= 1


def test_vae_shapes_and_reparameterisation():
    model = archs.build("vae", in_channels=3, image_size=16, latent=5, width=4).eval()
    x = torch.rand(2, 3, 16, 16)
    logits, mean, logvar = model(x)
    assert logits.shape == x.shape and mean.shape == logvar.shape == (2, 5)
    eps = torch.randn(2, 5)
    a, _, _ = model(x, eps)
    b, _, _ = model(x, torch.zeros(2, 5))
    assert not torch.allclose(a, b) and torch.allclose(b, logits)


@pytest.mark.parametrize("hw", [(16, 24), (20, 12)])
def test_cyclegan_shapes(hw):
    model = archs.build("cyclegan", **TINY["cyclegan"]).eval()
    x = torch.rand(2, 3, *hw) * 2 - 1
    with torch.no_grad():
        assert model.g_ab(x).shape == x.shape and model.g_ba(x).shape == x.shape
        assert model.d_a(torch.rand(1, 3, 64, 64)).shape == (1, 1, 6, 6)  # 70x70 patches on a 64x64 input


def test_bad_configs_are_named():
    with pytest.raises(ValueError, match="power of two >= 8, got 24"):
        archs.build("dcgan", image_size=24)
    with pytest.raises(ValueError, match="norm must be one of instance, batch, none"):
        archs.build("cyclegan", norm="group")


def test_image_pool_swaps_half_once_full():
    pool = ImagePool(4)
    rng = np.random.default_rng(0)
    first = torch.arange(4.0).view(4, 1)
    assert torch.equal(pool.query(first, rng), first)  # filling: fakes come back as they are
    fakes = -torch.arange(1.0, 201.0).view(200, 1)
    out = pool.query(fakes, rng)
    swapped = out != fakes
    assert 70 < int(swapped.sum()) < 130 and len(pool.images) == 4
    history = set(first.flatten().tolist()) | set(fakes.flatten().tolist())
    assert set(out[swapped].tolist()) <= history  # what came back was stored earlier
    assert ImagePool(0).query(first, rng) is first


@pytest.fixture(scope="module")
def folders(tmp_path_factory):
    """Gray 16x16 blobs, and colour photos-like tiles with B = a warm tint of other tiles."""
    root = tmp_path_factory.mktemp("gen-data")
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[0:16, 0:16]
    (root / "gray").mkdir()
    for k in range(12):
        cy, cx = rng.uniform(5, 11, 2)
        img = 200 * np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / 18) + rng.normal(0, 5, (16, 16))
        cv2.imwrite(str(root / "gray" / f"{k:02d}.png"), np.clip(img, 0, 255).astype(np.uint8))
    for d in ("A", "B"):
        (root / d).mkdir()
    for k in range(6):
        img = rng.integers(0, 256, (3, 3, 3)).astype(np.float32)
        img = cv2.resize(img, (40, 40), interpolation=cv2.INTER_CUBIC)
        if k % 2:
            img = img * np.array([0.7, 0.9, 1.1])  # BGR: warmer
        cv2.imwrite(str(root / "AB"[k % 2] / f"{k}.png"), np.clip(img, 0, 255).astype(np.uint8))
    return root


def _options(folders, out, arch, **kw):
    base = dict(train_dir=str(folders / "gray"), out=str(out), arch=arch, patch=16, batch=4, iters=12, lr=2e-3,
                val_count=3, val_every=6, ckpt_every=6, log_every=3, sample_every=6, threads=1, progress=False,
                seed=1, bn_recalibrate=2)
    if arch == "dcgan":
        base.update(latent=8, width=4)
    elif arch == "vae":
        base.update(latent=4, width=4)
    else:
        base.update(train_dir=str(folders / "A"), train_dir_b=str(folders / "B"), channels=3, width=4, depth=1,
                    disc_width=4, norm="none", schedule="linear", patch=32)
    base.update(kw)
    return TrainOptions(**base)


def _rows(path):
    with open(path) as f:
        return list(csv.DictReader(f))


@pytest.mark.parametrize("arch, losses", [("dcgan", ["d", "g", "d_real"]), ("vae", ["loss", "recon", "kl"]),
                                          ("cyclegan", ["g", "d", "cycle", "idt"])])
def test_a_few_steps_train_log_and_sample(folders, tmp_path, arch, losses):
    result = train(_options(folders, tmp_path / arch, arch))
    rows = [r for r in _rows(tmp_path / arch / "log.csv") if "+" not in r["step"]]
    assert [r["step"] for r in rows] == ["3", "6", "9", "12"]
    assert list(rows[0])[1:1 + len(losses)] == losses
    for name in losses:
        values = [float(r[name]) for r in rows]
        assert all(math.isfinite(v) for v in values) and len(set(values)) > 1, (name, values)
    assert (tmp_path / arch / "samples" / "step_000012.png").exists()
    assert result["step"] == 12
    if arch == "vae":  # the ELBO on held-out images is logged and improves
        elbos = [float(r["val_elbo"]) for r in rows if r["val_elbo"]]
        assert elbos[-1] > elbos[0] and (tmp_path / arch / "best.pt").exists()
    if arch == "dcgan":  # generator BN statistics re-estimated at the end
        assert (tmp_path / arch / "final.pt").exists()


def test_gan_augmentation_shifts_and_rescales_within_range():
    from imgen_train.tasks.gan import augment_images

    x = torch.rand(6, 1, 16, 16)
    same = augment_images(x, np.random.default_rng(0), shift=0, brightness=0)
    assert torch.equal(same, x)
    a = augment_images(x, np.random.default_rng(1), shift=2, brightness=0.2)
    b = augment_images(x, np.random.default_rng(1), shift=2, brightness=0.2)
    assert torch.equal(a, b) and a.shape == x.shape and a.min() >= 0 and a.max() <= 1
    assert not torch.allclose(a, x, atol=1e-3)


def test_gan_shift_moves_whole_pixels_without_blurring():
    """Every shifted image is the original moved by (dy, dx) in -2..2: its interior pixels are the
    original's, not interpolations (bilinear sub-pixel shifts blurred the training faces)."""
    from imgen_train.tasks.gan import augment_images

    x = torch.rand(32, 1, 16, 16)
    out = augment_images(x, np.random.default_rng(5), shift=2, brightness=0)
    moved = 0
    for k in range(32):
        hits = [(dy, dx) for dy in range(-2, 3) for dx in range(-2, 3)
                if torch.equal(out[k, :, 2:14, 2:14], x[k, :, 2 - dy:14 - dy, 2 - dx:14 - dx])]
        assert len(hits) == 1
        moved += hits[0] != (0, 0)
    assert moved > 16


def test_dcgan_trains_with_augmentation(folders, tmp_path):
    result = train(_options(folders, tmp_path / "aug", "dcgan", shift=2.0, brightness=0.15, iters=6, bn_recalibrate=0))
    assert result["step"] == 6 and all(math.isfinite(v) for v in result["losses"].values())


def test_dcgan_with_diffaugment_trains_and_resumes_exactly(folders, tmp_path):
    kw = dict(diffaugment="color,translation,cutout", iters=6, bn_recalibrate=0)
    result = train(_options(folders, tmp_path / "full", "dcgan", **kw))
    assert result["step"] == 6 and all(math.isfinite(v) for v in result["losses"].values())
    train(_options(folders, tmp_path / "part", "dcgan", stop_at=4, **kw))
    train(_options(folders, tmp_path / "part", "dcgan", resume=True, **kw))
    full = torch.load(tmp_path / "full" / "last.pt", weights_only=False)
    part = torch.load(tmp_path / "part" / "last.pt", weights_only=False)
    for key, value in full["state_dict"].items():
        torch.testing.assert_close(part["state_dict"][key], value, rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match="--diffaugment: unknown transform"):
        train(_options(folders, tmp_path / "bad", "dcgan", diffaugment="blur", iters=2))


def test_cyclegan_resume_matches_an_uninterrupted_run(folders, tmp_path):
    """The history pools are part of the checkpoint, so a resumed run continues exactly."""
    train(_options(folders, tmp_path / "full", "cyclegan", iters=8, pool_size=3))
    train(_options(folders, tmp_path / "part", "cyclegan", iters=8, pool_size=3, stop_at=6))
    train(_options(folders, tmp_path / "part", "cyclegan", iters=8, pool_size=3, resume=True))
    full = torch.load(tmp_path / "full" / "last.pt", weights_only=False)
    part = torch.load(tmp_path / "part" / "last.pt", weights_only=False)
    for key, value in full["state_dict"].items():
        torch.testing.assert_close(part["state_dict"][key], value, rtol=1e-5, atol=1e-6)


def test_cyclegan_mse_cycle_loss_is_squared_and_bad_names_are_refused(folders, tmp_path):
    """--cycle-loss mse: the logged cycle term is the squared distance (it shrinks with the change,
    where L1's would be larger for sub-unit differences), and an unknown name is refused."""
    kw = dict(iters=3, pool_size=2, residual=True, upsample="resize", norm="none")
    l1 = train(_options(folders, tmp_path / "l1", "cyclegan", **kw))["losses"]
    mse = train(_options(folders, tmp_path / "mse", "cyclegan", cycle_loss="mse", **kw))["losses"]
    assert math.isfinite(mse["cycle"]) and 0 <= mse["cycle"] < l1["cycle"]
    with pytest.raises(ValueError, match="cycle_loss must be one of l1, mse, got 'l2'"):
        train(_options(folders, tmp_path / "bad", "cyclegan", cycle_loss="l2", iters=1))


def test_cyclegan_diffaugment_changes_training_and_bad_names_are_refused(folders, tmp_path):
    """--diffaugment reaches the CycleGAN discriminators: the same seed gives other losses with it."""
    kw = dict(iters=3, pool_size=2)
    plain = train(_options(folders, tmp_path / "plain", "cyclegan", **kw))["losses"]
    aug = train(_options(folders, tmp_path / "aug", "cyclegan", diffaugment="color,translation", **kw))["losses"]
    assert all(math.isfinite(v) for v in aug.values()) and aug["d"] != plain["d"]
    with pytest.raises(ValueError, match="--diffaugment: unknown transform"):
        train(_options(folders, tmp_path / "bad", "cyclegan", diffaugment="blur", iters=1))


def test_task_must_match_the_architecture(folders, tmp_path):
    with pytest.raises(ValueError, match="--arch dcgan is trained by task 'gan', not 'denoise'"):
        train(_options(folders, tmp_path / "x", "dcgan", task="denoise"))
    with pytest.raises(ValueError, match="--train-dir-b"):
        train(_options(folders, tmp_path / "y", "cyclegan", train_dir_b=None))


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    torch.manual_seed(0)
    root = tmp_path_factory.mktemp("gen-onnx")
    out = {}
    for arch, config in TINY.items():
        if arch == "cyclegan":
            config = dict(config, norm="none")
        model = archs.build(arch, **config).eval()
        for m in model.modules():  # non-trivial BN statistics, so eval-mode BN is really checked
            if isinstance(m, torch.nn.BatchNorm2d):
                m.running_mean.uniform_(-0.2, 0.2)
                m.running_var.uniform_(0.5, 2.0)
        out[arch] = (model, export(model, root / f"{arch}.onnx", name=f"tiny-{arch}"))
    return out


def test_generator_export_has_dynamic_batch_and_metadata(exported):
    model, report = exported["dcgan"]
    assert report.max_abs_error <= 1e-4 and {b for b, _, _ in report.checked_sizes} == {1, 5, 64}
    m = imgen.load(report.path, providers=["cpu"])
    assert m.info.task == "generate" and m.info.latent_shape == (8,) and m.info.value_range == (-1.0, 1.0)
    z = imgen.latents(m, 5, seed=3)
    with torch.no_grad():
        ref = model.generator(torch.from_numpy(z)).numpy()
    np.testing.assert_allclose(imgen.generate(m, 5, seed=3, batch_size=5, dtype="float32"),
                               np.clip((ref.transpose(0, 2, 3, 1) + 1) / 2, 0, 1), atol=1e-5)


def test_vae_exports_encoder_and_decoder(exported):
    model, report = exported["vae"]
    assert set(report.parts) == {"encoder", "decoder"} and report.max_abs_error <= 1e-4
    enc = imgen.load(report.parts["encoder"]["path"], providers=["cpu"])
    dec = imgen.load(report.parts["decoder"]["path"], providers=["cpu"])
    assert (enc.info.task, dec.info.task) == ("encode", "decode") and enc.info.name == "tiny-vae-encoder"
    assert [o.name for o in enc.outputs] == ["mean", "logvar"]
    x = np.random.default_rng(0).random((3, 16, 16, 1)).astype(np.float32)
    mean, logvar = imgen.encode(enc, list(x))
    with torch.no_grad():
        ref_mean, ref_logvar = model.encoder(torch.from_numpy(x.transpose(0, 3, 1, 2)))
        ref_img = model.decoder(ref_mean).numpy().transpose(0, 2, 3, 1)
    np.testing.assert_allclose(mean, ref_mean.numpy(), atol=1e-5)
    np.testing.assert_allclose(logvar, ref_logvar.numpy(), atol=1e-5)
    np.testing.assert_allclose(imgen.reconstruct(enc, dec, list(x)), ref_img, atol=1e-5)


def test_cyclegan_exports_both_directions_at_odd_sizes(exported):
    model, report = exported["cyclegan"]
    assert set(report.parts) == {"a2b", "b2a"}
    assert all(h % 4 == 0 and w % 4 == 0 for _, h, w in report.checked_sizes)
    m = imgen.load(report.parts["b2a"]["path"], providers=["cpu"])
    assert m.info.task == "translate" and m.info.size_multiple == 4 and m.info.extra["direction"] == "b2a"
    assert m.info.norm_stats is None and not m.info.whole_image  # no normalisation: nothing image-wide
    img = np.random.default_rng(1).random((21, 30, 3)).astype(np.float32)  # padded to 24x32 by imgen
    out = m(img, tile=0)
    padded = np.pad(img, ((0, 3), (0, 2), (0, 0)), mode="reflect")
    with torch.no_grad():
        ref = model.g_ba(torch.from_numpy(padded.transpose(2, 0, 1))[None] * 2 - 1)[0].numpy()
    np.testing.assert_allclose(out, ((ref.transpose(1, 2, 0) + 1) / 2)[:21, :30], atol=1e-5)


def test_cyclegan_with_instance_norm_exports_feedable_statistics(tmp_path):
    torch.manual_seed(0)
    model = archs.build("cyclegan", **TINY["cyclegan"]).eval()  # norm="instance", the paper's
    report = export(model, tmp_path / "c.onnx", name="tiny-in")
    m = imgen.load(report.parts["a2b"]["path"], providers=["cpu"])
    assert m.info.norm_stats == "instance" and m.info.whole_image and m.info.tile == 512
    assert m.norm_stats is not None and len(m.norm_stats.outputs) == 2 * sum(
        isinstance(x, torch.nn.InstanceNorm2d) for x in model.g_ab.modules())


# -- upsampling without checkerboard (#20) ---------------------------------------------------------

def _constant_response(upsample: str, seed: int = 0) -> torch.Tensor:
    """G_AB of a random-init, normalisation-free generator on a flat grey 96x96 image (the 32x32 centre,
    beyond the reach of the zero-padded stride-2 convs at the borders)."""
    torch.manual_seed(seed)
    model = archs.build("cyclegan", **TINY["cyclegan"], norm="none", upsample=upsample).eval()
    with torch.no_grad():
        return model.g_ab(torch.full((1, 3, 96, 96), 0.2))[..., 32:64, 32:64]


def _spread(t: torch.Tensor) -> float:
    """Largest spatial variation of any channel."""
    return float((t.amax((-2, -1)) - t.amin((-2, -1))).max())


@pytest.mark.parametrize("upsample", ["resize", "pixelshuffle"])
def test_cyclegan_upsampling_has_no_transposed_convs_and_no_checkerboard(upsample):
    model = archs.build("cyclegan", **TINY["cyclegan"], norm="none", upsample=upsample)
    assert not any(isinstance(m, torch.nn.ConvTranspose2d) for m in model.modules())
    assert _spread(_constant_response(upsample)) < 1e-5  # flat in, flat out (ICNR for the sub-pixel one)


def test_transposed_upsampling_paints_a_checkerboard_on_a_flat_image():
    """The check above can fail: the paper's two transposed convs give a period-4 pattern (each of
    the 16 phases flat, the phases different)."""
    out = _constant_response("transposed")
    assert _spread(out) > 1e-3
    assert max(_spread(out[..., dy::4, dx::4]) for dy in range(4) for dx in range(4)) < 1e-5


def test_cyclegan_bad_upsample_is_named():
    with pytest.raises(ValueError, match="upsample must be one of transposed, resize, pixelshuffle, got 'bilinear'"):
        archs.build("cyclegan", upsample="bilinear")


@pytest.mark.parametrize("upsample", ["resize", "pixelshuffle"])
def test_cyclegan_without_transposed_convs_exports_both_directions(upsample, tmp_path):
    import onnx

    model = archs.build("cyclegan", **TINY["cyclegan"], norm="none", upsample=upsample).eval()
    report = export(model, tmp_path / "c.onnx", name="c")  # the parity gate runs at odd sizes
    assert set(report.parts) == {"a2b", "b2a"} and report.max_abs_error < 1e-4
    for part in report.parts.values():
        ops = {n.op_type for n in onnx.load(part["path"]).graph.node}
        assert "ConvTranspose" not in ops and "Conv" in ops, ops
    x = np.random.default_rng(0).integers(0, 256, (21, 30, 3), dtype=np.uint8)
    assert imgen.load(str(tmp_path / "c-a2b.onnx"), providers=["cpu"])(x).shape == x.shape
