"""imgen_train.archs: output shapes for gray/colour models, the registry's rules."""
from __future__ import annotations

import pytest

torch = pytest.importorskip("torch", reason="imgen_train needs torch (pip install torch, then imgen[train])")

from imgen_train import archs  # noqa: E402


@pytest.mark.parametrize("channels", [1, 3])
@pytest.mark.parametrize("size", [(1, 17, 23), (2, 32, 9), (3, 1, 1)])
def test_dncnn_shapes_any_size(channels, size):
    n, h, w = size
    model = archs.build("dncnn", in_channels=channels, depth=4, width=8).eval()
    with torch.no_grad():
        out = model(torch.rand(n, channels, h, w))
    assert out.shape == (n, channels, h, w)


@pytest.mark.parametrize("channels", [1, 3])
@pytest.mark.parametrize("size", [(1, 18, 24), (2, 32, 10), (1, 2, 2)])
@pytest.mark.parametrize("sigma_shape", ["scalar", "map"])
def test_ffdnet_shapes_even_sizes(channels, size, sigma_shape):
    n, h, w = size
    model = archs.build("ffdnet", in_channels=channels, depth=4, width=8).eval()
    sigma = torch.full((n, 1, 1, 1) if sigma_shape == "scalar" else (n, 1, h, w), 0.1)
    with torch.no_grad():
        out = model(torch.rand(n, channels, h, w), sigma)
    assert out.shape == (n, channels, h, w)


def test_residual_dncnn_with_zero_last_layer_is_identity():
    model = archs.build("dncnn", depth=3, width=4).eval()
    torch.nn.init.zeros_(model.model[-1].weight)
    torch.nn.init.zeros_(model.model[-1].bias)
    x = torch.rand(1, 1, 7, 9)
    assert torch.equal(model(x), x)


def test_untrained_dejpeg_is_identity_and_its_last_conv_learns():
    """DeJpeg starts at the decoded JPEG (zero last conv) yet gets a gradient there (He init, BN)."""
    model = archs.build("dejpeg", depth=4, width=8)
    x = torch.rand(2, 1, 16, 24)
    out = model(x)
    assert torch.equal(out, x)
    (out - torch.rand_like(x)).square().mean().backward()
    assert model.model[-1].weight.grad.abs().sum() > 0


def test_ffdnet_noise_level_changes_output():
    torch.manual_seed(0)
    model = archs.build("ffdnet", depth=3, width=8).eval()
    x = torch.rand(1, 1, 8, 8)
    a = model(x, torch.full((1, 1, 1, 1), 0.0))
    b = model(x, torch.full((1, 1, 1, 1), 0.3))
    assert not torch.allclose(a, b)


def test_registry_lists_every_architecture_once():
    assert set(archs.ARCHS) == {"dncnn", "ffdnet", "dcgan", "vae", "cyclegan", "gated_inpaint", "srnet", "dejpeg",
                                 "deblurnet", "wiener_refine"}
    with pytest.raises(ValueError, match="registered twice"):
        archs._registry(("a", archs.DnCNN, archs.DnCNNConfig), ("a", archs.FFDNet, archs.FFDNetConfig))


def test_wiener_refine_trains_on_wieners_output_and_starts_at_the_identity():
    """Its graph deblurs (task deblur); it is trained by deblur_wiener; untrained, it passes Wiener's output on."""
    assert archs.ARCHS["wiener_refine"].cls.task == "deblur" and archs.task_of("wiener_refine") == "deblur_wiener"
    assert archs.task_of("deblurnet") == "deblur"
    net = archs.build("wiener_refine", depth=4, width=8).eval()
    x = torch.rand(1, 1, 10, 12)
    torch.testing.assert_close(net(x), x)
    assert net.graph_extra == {"input_from": "wiener", "wiener_balance": "0.01"}
    assert archs.build("wiener_refine", depth=2, width=4, wiener_balance=0.003).graph_extra["wiener_balance"] == "0.003"
    with pytest.raises(ValueError, match="wiener_balance"):
        archs.build("wiener_refine", wiener_balance=0)


def test_unknown_arch_and_option_are_named():
    with pytest.raises(ValueError, match="unknown architecture 'unet'.*dncnn, ffdnet"):
        archs.build("unet")
    with pytest.raises(ValueError, match="no option.*heads.*options:.*depth"):
        archs.build("dncnn", heads=4)


@pytest.mark.parametrize("channels", [1, 3])
def test_deblurnet_shapes_on_its_size_multiple(channels):
    model = archs.build("deblurnet", in_channels=channels, depth=2, width=8).eval()
    with torch.no_grad():
        out = model(torch.rand(2, channels, 24, 40))
    assert out.shape == (2, channels, 24, 40) and model.size_multiple == 8


def test_deblurnet_receptive_radius_bounds_what_a_pixel_sees():
    """Autograd from single output pixels at every phase of the 8-pixel grid: the declared radius
    is never exceeded, and it is not loose by more than the grid (so the tile overlap is sound)."""
    torch.manual_seed(0)
    model = archs.build("deblurnet", depth=4, width=4).eval()
    worst, size, c = 0, 224, 104
    for dy, dx in ((0, 0), (3, 5), (7, 1), (4, 7)):
        x = torch.zeros(1, 1, size, size, requires_grad=True)
        model(x + torch.rand(1, 1, size, size))[0, 0, c + dy, c + dx].backward()
        ys, xs = (x.grad[0, 0].abs() > 0).nonzero(as_tuple=True)
        worst = max(worst, int((ys - c - dy).abs().max()), int((xs - c - dx).abs().max()))
    assert model.receptive_radius - 8 <= worst <= model.receptive_radius
    assert model.tile_overlap >= 4 * (model.receptive_radius + 1) and model.tile_overlap % 8 == 0
