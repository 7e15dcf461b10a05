"""imgen_train.fake_quant: convs computed on the int8 grid of the QDQ file, state dict untouched,
ranges learnt in training and carried by checkpoints across a resume."""
from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="imgen_train needs torch (pip install torch, then imgen[train])")

from imgen_train import archs  # noqa: E402
from imgen_train.fake_quant import FakeQuant  # noqa: E402
from imgen_train.train import train  # noqa: E402
from test_train import _options, image_dir  # noqa: E402,F401  (the fixture)


def _model(depth: int = 5, batch_norm: bool = False):
    torch.manual_seed(0)
    return archs.build("ffdnet", in_channels=1, depth=depth, width=8, batch_norm=batch_norm).eval()


def _inputs():
    g = torch.Generator().manual_seed(1)
    return torch.rand(2, 1, 24, 24, generator=g), torch.full((2, 1, 1, 1), 25 / 255)


def test_state_dict_is_untouched_and_detach_restores_the_float_model():
    model = _model()
    x, sigma = _inputs()
    with torch.no_grad():
        reference = model(x, sigma)
    keys = list(model.state_dict())
    fake = FakeQuant(model)
    model.train()
    with torch.no_grad():
        model(x, sigma)  # learns the ranges
    model.eval()
    with torch.no_grad():
        quantised = model(x, sigma)
    assert list(model.state_dict()) == keys
    assert 0 < float((quantised - reference).abs().max()) < 0.05  # int8 noise, not garbage
    fake.detach()
    with torch.no_grad():
        torch.testing.assert_close(model(x, sigma), reference, rtol=0, atol=0)


def test_a_middle_conv_computes_on_the_int8_grid():
    """Conv 2's weights rounded per output channel to max|w|/127 steps, its input to uint8 steps over
    the range learnt in training: the same as a numpy model of the QDQ arithmetic."""
    model = _model()
    fake = FakeQuant(model)
    conv = fake.convs[2]
    x = torch.relu(torch.randn(1, conv.in_channels, 10, 10, generator=torch.Generator().manual_seed(2)))
    conv.train()
    with torch.no_grad():
        conv(x)  # first batch: the range is this batch's [0, max]
    conv.eval()
    with torch.no_grad():
        got = conv(x).numpy()
    w = conv.weight.detach().numpy().astype(np.float64)
    w_scale = np.abs(w).max(axis=(1, 2, 3), keepdims=True) / 127
    w_q = np.clip(np.round(w / w_scale), -127, 127) * w_scale
    hi = float(x.max())
    assert float(fake.hi[2]) == pytest.approx(hi) and float(fake.lo[2]) == 0
    x_q = np.clip(np.round(x.numpy().astype(np.float64) / (hi / 255)), 0, 255) * (hi / 255)
    expected = torch.nn.functional.conv2d(torch.from_numpy(x_q), torch.from_numpy(w_q), conv.bias.detach().double(),
                                          padding=1).numpy()
    np.testing.assert_allclose(got, expected, atol=1e-5)


def test_the_first_and_last_convs_keep_float_weights_and_the_first_a_float_input():
    model = _model()
    fake = FakeQuant(model)
    assert fake.float_weights == {0, len(fake.convs) - 1}
    first = fake.convs[0]
    x = torch.rand(1, first.in_channels, 6, 6, generator=torch.Generator().manual_seed(3))
    with torch.no_grad():
        got = first(x)
        expected = torch.nn.functional.conv2d(x, first.weight, first.bias, padding=1)
    torch.testing.assert_close(got, expected, rtol=0, atol=0)


def test_batch_norm_and_bad_state_are_refused():
    with pytest.raises(ValueError, match="without batch norm"):
        FakeQuant(_model(batch_norm=True))
    fake = FakeQuant(_model(depth=5))
    with pytest.raises(ValueError, match="the model has 5"):
        fake.load_state_dict(FakeQuant(_model(depth=4)).state_dict())


def test_training_with_fake_quant_checkpoints_ranges_and_resumes(image_dir, tmp_path):  # noqa: F811
    options = dict(batch_norm=False, fake_quant=True, iters=20, ckpt_every=10, val_every=10)
    result = train(_options(image_dir, tmp_path / "qat", stop_at=10, **options))
    state = torch.load(tmp_path / "qat" / "last.pt", weights_only=False)
    ranges = state["fake_quant"]
    assert result["step"] == 10 and bool(ranges["seen"][1:].all()) and not bool(ranges["seen"][0])
    assert bool((ranges["hi"][1:] > 0).all())
    result = train(_options(image_dir, tmp_path / "qat", resume=True, **options))
    assert result["step"] == 20 and np.isfinite(result["best_psnr"])
    # a run trained without it cannot be resumed with it
    train(_options(image_dir, tmp_path / "plain", batch_norm=False, iters=10, ckpt_every=10, val_every=10))
    with pytest.raises(ValueError, match="not trained with fake quantisation"):
        train(_options(image_dir, tmp_path / "plain", resume=True, fake_quant=True, batch_norm=False, iters=20))


def test_ranges_follow_the_percentile_not_the_outliers():
    """quantize.py calibrates at the 99.999th percentile: one outlier in 10^6 values does not set the
    range (with percentile=100 it does)."""
    from imgen_train.fake_quant import _percentiles

    x = torch.linspace(0, 1, 1_000_000)
    x[7] = 50.0  # one outlier
    lo, hi = _percentiles(x, 99.999)
    assert lo == 0 and hi == pytest.approx(1.0, abs=1e-4)
    assert _percentiles(x, 100.0) == (0.0, 50.0)
    assert _percentiles(x - 0.5, 99.999) == pytest.approx((-0.49999, 0.49999), abs=2e-5)
    with pytest.raises(ValueError, match="percentile"):
        FakeQuant(_model(), percentile=10)


def test_range_sigma_leaves_the_low_noise_samples_out_of_the_ranges():
    """With range_sigma, a sample below it (here a 100x brighter one at sigma 0, standing in for a
    net whose activations blow up near sigma 0) does not set the ranges; without it, it does."""
    x, _ = _inputs()
    x = torch.cat([x[:1] * 100, x[1:]])
    sigma = torch.tensor([0.0, 25 / 255]).reshape(2, 1, 1, 1)
    highs = []
    for range_sigma in (None, 10 / 255):
        model = _model()
        fake = FakeQuant(model, range_sigma=range_sigma)
        model.train()
        with torch.no_grad():
            model(x, sigma)
        highs.append(fake.hi.clone())
    alone = _model()
    fake = FakeQuant(alone)
    alone.train()
    with torch.no_grad():
        alone(x[1:], sigma[1:])
    torch.testing.assert_close(highs[1], fake.hi)  # only the sigma-25 sample counted
    assert bool((highs[0][1:] > 5 * highs[1][1:]).all())
    with pytest.raises(ValueError, match="range_sigma"):
        FakeQuant(_model(), range_sigma=float("nan"))
