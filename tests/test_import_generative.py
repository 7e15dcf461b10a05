"""imgen_train.import_generative: published CycleGAN/pix2pix and DCGAN generators, detected from
their state dicts and exported with a parity gate.

The reference modules below are copied from the reference repositories (junyanz/pytorch-CycleGAN-
and-pix2pix models/networks.py, pytorch/examples dcgan/main.py), trimmed of training-only
arguments; the importer rebuilds its own modules from the detected layout, so parity against these
checks the layout, not a module compared with itself.
"""
from __future__ import annotations

import functools

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="imgen_train needs torch (pip install torch, then imgen[train])")
pytest.importorskip("onnxscript", reason="the dynamo ONNX exporter needs onnxscript (imgen[train])")
from torch import nn  # noqa: E402

import imgen  # noqa: E402
from imgen.model_info import parse_metadata  # noqa: E402
from imgen_train.convert import export_checkpoint  # noqa: E402
from imgen_train.import_checkpoint import UnknownCheckpointError, detect, model_from_state_dict  # noqa: E402


# -- reference: junyanz/pytorch-CycleGAN-and-pix2pix models/networks.py ------------------------

def get_norm_layer(norm_type="instance"):
    if norm_type == "batch":
        return functools.partial(nn.BatchNorm2d, affine=True, track_running_stats=True)
    return functools.partial(nn.InstanceNorm2d, affine=False, track_running_stats=False)


class RefResnetBlock(nn.Module):
    def __init__(self, dim, padding_type, norm_layer, use_dropout, use_bias):
        super().__init__()
        conv_block = [nn.ReflectionPad2d(1), nn.Conv2d(dim, dim, kernel_size=3, padding=0, bias=use_bias),
                      norm_layer(dim), nn.ReLU(True)]
        if use_dropout:
            conv_block += [nn.Dropout(0.5)]
        conv_block += [nn.ReflectionPad2d(1), nn.Conv2d(dim, dim, kernel_size=3, padding=0, bias=use_bias),
                       norm_layer(dim)]
        self.conv_block = nn.Sequential(*conv_block)

    def forward(self, x):
        return x + self.conv_block(x)


class RefResnetGenerator(nn.Module):
    def __init__(self, input_nc, output_nc, ngf=64, norm_layer=nn.BatchNorm2d, use_dropout=False, n_blocks=6):
        super().__init__()
        if type(norm_layer) == functools.partial:  # noqa: E721 (as in the reference)
            use_bias = norm_layer.func == nn.InstanceNorm2d
        else:
            use_bias = norm_layer == nn.InstanceNorm2d
        model = [nn.ReflectionPad2d(3), nn.Conv2d(input_nc, ngf, kernel_size=7, padding=0, bias=use_bias),
                 norm_layer(ngf), nn.ReLU(True)]
        n_downsampling = 2
        for i in range(n_downsampling):
            mult = 2**i
            model += [nn.Conv2d(ngf * mult, ngf * mult * 2, kernel_size=3, stride=2, padding=1, bias=use_bias),
                      norm_layer(ngf * mult * 2), nn.ReLU(True)]
        mult = 2**n_downsampling
        for i in range(n_blocks):
            model += [RefResnetBlock(ngf * mult, "reflect", norm_layer, use_dropout, use_bias)]
        for i in range(n_downsampling):
            mult = 2 ** (n_downsampling - i)
            model += [nn.ConvTranspose2d(ngf * mult, int(ngf * mult / 2), kernel_size=3, stride=2, padding=1,
                                         output_padding=1, bias=use_bias),
                      norm_layer(int(ngf * mult / 2)), nn.ReLU(True)]
        model += [nn.ReflectionPad2d(3)]
        model += [nn.Conv2d(ngf, output_nc, kernel_size=7, padding=0)]
        model += [nn.Tanh()]
        self.model = nn.Sequential(*model)

    def forward(self, input):
        return self.model(input)


class RefUnetSkipConnectionBlock(nn.Module):
    def __init__(self, outer_nc, inner_nc, input_nc=None, submodule=None, outermost=False, innermost=False,
                 norm_layer=nn.BatchNorm2d, use_dropout=False):
        super().__init__()
        self.outermost = outermost
        if type(norm_layer) == functools.partial:  # noqa: E721
            use_bias = norm_layer.func == nn.InstanceNorm2d
        else:
            use_bias = norm_layer == nn.InstanceNorm2d
        if input_nc is None:
            input_nc = outer_nc
        downconv = nn.Conv2d(input_nc, inner_nc, kernel_size=4, stride=2, padding=1, bias=use_bias)
        downrelu = nn.LeakyReLU(0.2, True)
        downnorm = norm_layer(inner_nc)
        uprelu = nn.ReLU(True)
        upnorm = norm_layer(outer_nc)
        if outermost:
            upconv = nn.ConvTranspose2d(inner_nc * 2, outer_nc, kernel_size=4, stride=2, padding=1)
            model = [downconv] + [submodule] + [uprelu, upconv, nn.Tanh()]
        elif innermost:
            upconv = nn.ConvTranspose2d(inner_nc, outer_nc, kernel_size=4, stride=2, padding=1, bias=use_bias)
            model = [downrelu, downconv] + [uprelu, upconv, upnorm]
        else:
            upconv = nn.ConvTranspose2d(inner_nc * 2, outer_nc, kernel_size=4, stride=2, padding=1, bias=use_bias)
            down = [downrelu, downconv, downnorm]
            up = [uprelu, upconv, upnorm]
            model = down + [submodule] + up + ([nn.Dropout(0.5)] if use_dropout else [])
        self.model = nn.Sequential(*model)

    def forward(self, x):
        if self.outermost:
            return self.model(x)
        return torch.cat([x, self.model(x)], 1)


class RefUnetGenerator(nn.Module):
    def __init__(self, input_nc, output_nc, num_downs, ngf=64, norm_layer=nn.BatchNorm2d, use_dropout=False):
        super().__init__()
        unet_block = RefUnetSkipConnectionBlock(ngf * 8, ngf * 8, input_nc=None, submodule=None,
                                                norm_layer=norm_layer, innermost=True)
        for i in range(num_downs - 5):
            unet_block = RefUnetSkipConnectionBlock(ngf * 8, ngf * 8, input_nc=None, submodule=unet_block,
                                                    norm_layer=norm_layer, use_dropout=use_dropout)
        unet_block = RefUnetSkipConnectionBlock(ngf * 4, ngf * 8, input_nc=None, submodule=unet_block, norm_layer=norm_layer)
        unet_block = RefUnetSkipConnectionBlock(ngf * 2, ngf * 4, input_nc=None, submodule=unet_block, norm_layer=norm_layer)
        unet_block = RefUnetSkipConnectionBlock(ngf, ngf * 2, input_nc=None, submodule=unet_block, norm_layer=norm_layer)
        self.model = RefUnetSkipConnectionBlock(output_nc, ngf, input_nc=input_nc, submodule=unet_block,
                                                outermost=True, norm_layer=norm_layer)

    def forward(self, input):
        return self.model(input)


# -- reference: pytorch/examples dcgan/main.py --------------------------------------------------

class RefDCGANGenerator(nn.Module):
    def __init__(self, nz, ngf, nc):
        super().__init__()
        self.main = nn.Sequential(
            nn.ConvTranspose2d(nz, ngf * 8, 4, 1, 0, bias=False), nn.BatchNorm2d(ngf * 8), nn.ReLU(True),
            nn.ConvTranspose2d(ngf * 8, ngf * 4, 4, 2, 1, bias=False), nn.BatchNorm2d(ngf * 4), nn.ReLU(True),
            nn.ConvTranspose2d(ngf * 4, ngf * 2, 4, 2, 1, bias=False), nn.BatchNorm2d(ngf * 2), nn.ReLU(True),
            nn.ConvTranspose2d(ngf * 2, ngf, 4, 2, 1, bias=False), nn.BatchNorm2d(ngf), nn.ReLU(True),
            nn.ConvTranspose2d(ngf, nc, 4, 2, 1, bias=False), nn.Tanh())

    def forward(self, input):
        return self.main(input)


class RefDCGANDiscriminator(nn.Module):
    def __init__(self, ndf, nc):
        super().__init__()
        self.main = nn.Sequential(
            nn.Conv2d(nc, ndf, 4, 2, 1, bias=False), nn.LeakyReLU(0.2, inplace=True),
            nn.Conv2d(ndf, ndf * 2, 4, 2, 1, bias=False), nn.BatchNorm2d(ndf * 2), nn.LeakyReLU(0.2, inplace=True),
            nn.Conv2d(ndf * 2, ndf * 4, 4, 2, 1, bias=False), nn.BatchNorm2d(ndf * 4), nn.LeakyReLU(0.2, inplace=True),
            nn.Conv2d(ndf * 4, ndf * 8, 4, 2, 1, bias=False), nn.BatchNorm2d(ndf * 8), nn.LeakyReLU(0.2, inplace=True),
            nn.Conv2d(ndf * 8, 1, 4, 1, 0, bias=False), nn.Sigmoid())


# -- helpers ------------------------------------------------------------------------------------

def randomised(net: nn.Module, seed: int = 0) -> nn.Module:
    """Random weights everywhere, batch-norm running statistics and affine terms included (a fresh
    BN is the identity in eval mode and would hide a mis-wired one)."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for m in net.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.running_mean.copy_(torch.randn(m.num_features, generator=g) * 0.1)
                m.running_var.copy_(torch.rand(m.num_features, generator=g) + 0.5)
                m.weight.copy_(torch.rand(m.num_features, generator=g) + 0.5)
                m.bias.copy_(torch.randn(m.num_features, generator=g) * 0.1)
            elif isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)):
                fan = m.weight[0].numel()
                m.weight.copy_(torch.randn(m.weight.shape, generator=g) * (1.5 / fan) ** 0.5)
                if m.bias is not None:
                    m.bias.copy_(torch.randn(m.bias.shape, generator=g) * 0.1)
    return net.eval()


def old_instance_norm_keys(net: nn.Module) -> dict:
    """The state dict as older PyTorch saved it: running_mean/var/num_batches_tracked for every
    InstanceNorm2d (what the reference __patch_instance_norm_state_dict deletes)."""
    sd = dict(net.state_dict())
    for name, m in net.named_modules():
        if isinstance(m, nn.InstanceNorm2d):
            sd[f"{name}.running_mean"] = torch.zeros(m.num_features)
            sd[f"{name}.running_var"] = torch.ones(m.num_features)
            sd[f"{name}.num_batches_tracked"] = torch.tensor(0)
    return sd


def export_state(sd: dict, tmp_path, name="model"):
    ckpt, out = tmp_path / f"{name}.pth", tmp_path / f"{name}.onnx"
    torch.save(sd, ckpt)
    report = export_checkpoint(ckpt, out)
    return out, report


def read_model_info(path):
    import onnx

    return parse_metadata({p.key: p.value for p in onnx.load(str(path)).metadata_props})


def ort_run(path, feeds: dict) -> np.ndarray:
    import onnxruntime as ort

    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return sess.run(None, feeds)[0]


TRANSLATORS = {
    "resnet6-instance": (lambda: RefResnetGenerator(3, 3, 8, get_norm_layer("instance"), n_blocks=6), 4, True),
    "resnet9-instance-gray": (lambda: RefResnetGenerator(1, 1, 4, get_norm_layer("instance"), n_blocks=9), 4, True),
    "resnet6-batch-dropout": (lambda: RefResnetGenerator(3, 3, 6, get_norm_layer("batch"), True, n_blocks=6), 4, False),
    "unet7-batch": (lambda: RefUnetGenerator(3, 3, 7, 4, get_norm_layer("batch"), use_dropout=True), 128, False),
    "unet8-batch": (lambda: RefUnetGenerator(3, 3, 8, 2, get_norm_layer("batch"), use_dropout=True), 256, False),
    "unet7-instance": (lambda: RefUnetGenerator(3, 3, 7, 4, get_norm_layer("instance")), 128, True),
}


@pytest.mark.parametrize("layout", list(TRANSLATORS))
def test_imported_modules_match_the_reference_modules(layout):
    """Every layout: the importer's module, built from the detected layout and loaded with the
    reference's state dict, gives the reference's output (eval mode: dropout off, BN running stats)."""
    make, multiple, _ = TRANSLATORS[layout]
    ref = randomised(make())
    sd = old_instance_norm_keys(ref) if "instance" in layout else ref.state_dict()
    model = model_from_state_dict(sd)
    assert model.size_multiple == multiple
    c = ref.model[1].in_channels if "resnet" in layout else ref.model.model[0].in_channels
    x = torch.rand(2, c, multiple * 2, multiple * 3) * 2 - 1
    with torch.no_grad():
        assert torch.equal(model(x), ref(x))


@pytest.mark.parametrize("layout", ["resnet6-instance", "unet7-batch", "unet7-instance"])
def test_translators_export_with_parity(layout, tmp_path):
    make, multiple, whole = TRANSLATORS[layout]
    ref = randomised(make())
    sd = old_instance_norm_keys(ref) if "instance" in layout else ref.state_dict()
    out, report = export_state(sd, tmp_path)
    assert report.max_abs_error <= 1e-4
    info = read_model_info(out)
    assert (info.task, info.value_range, info.size_multiple, info.scale) == ("translate", (-1.0, 1.0), multiple, 1)
    assert bool(info.whole_image) == whole and info.tile == 0
    rng = np.random.default_rng(1)
    x = rng.uniform(-1, 1, (2, 3, multiple * 2, multiple * 3)).astype(np.float32)
    with torch.no_grad():
        want = ref(torch.from_numpy(x)).numpy()
    got = ort_run(out, {"image": x})
    assert got.shape == want.shape
    assert np.max(np.abs(got - want)) < 1e-4
    # imgen.norm_stats: large images run as tiles fed the statistics of a whole-image pass
    # (tests/test_norm_stats.py); the ResnetGenerator's overlap comes from its receptive field, 10 + 8 * 6
    assert info.norm_stats == ("instance" if whole else None)
    assert info.receptive_field == (58 if "resnet" in layout else None)
    if whole and "resnet" in layout:  # instance norm: whole-image statistics, so imgen runs it whole
        model = imgen.load(str(out))
        img = np.random.default_rng(0).integers(0, 256, (96, 128, 3), dtype=np.uint8)
        img = (np.cumsum(img, axis=1) // 128 % 256).astype(np.uint8)  # statistics vary across the image
        whole_out = model(img)
        with torch.no_grad():
            t = torch.from_numpy(img.transpose(2, 0, 1)[None].astype(np.float32) / 127.5 - 1)
            want = np.clip(np.rint((ref(t)[0].numpy().transpose(1, 2, 0) + 1) * 127.5), 0, 255)
        assert np.abs(whole_out.astype(int) - want).max() <= 1


def test_detects_layout_parameters():
    sd = RefResnetGenerator(3, 3, 16, get_norm_layer("instance"), n_blocks=9).state_dict()
    assert detect(sd) == ("pix2pix_resnet", {"layout": "resnet", "in_channels": 3, "out_channels": 3, "ngf": 16,
                                             "norm": "instance", "blocks": 9, "dropout": False})
    sd = RefUnetGenerator(3, 3, 8, 8, get_norm_layer("batch"), use_dropout=True).state_dict()
    assert detect(sd) == ("pix2pix_unet", {"layout": "unet", "in_channels": 3, "out_channels": 3, "ngf": 8,
                                           "norm": "batch", "blocks": 8})
    sd = RefDCGANGenerator(100, 8, 3).state_dict()
    assert detect(sd) == ("examples_dcgan", {"layout": "dcgan", "in_channels": 3, "out_channels": 3, "ngf": 8,
                                             "blocks": 5, "latent": 100})


def test_dcgan_generator_matches_and_generates(tmp_path):
    ref = randomised(RefDCGANGenerator(100, 8, 3))
    out, report = export_state(ref.state_dict(), tmp_path, "netG")
    assert report.max_abs_error <= 1e-4
    info = read_model_info(out)
    assert (info.task, info.latent_shape, info.value_range, info.channels) == ("generate", (100,), (-1.0, 1.0), 3)
    z = imgen.latents(str(out), 5, seed=3)
    with torch.no_grad():
        want = ref(torch.from_numpy(z).reshape(5, 100, 1, 1)).numpy()
    assert np.max(np.abs(ort_run(out, {"latent": z}) - want)) < 1e-4
    # imgen generate with it works as with the shipped ones: seeded, uint8 HWC in [0, 255]
    a, b = imgen.generate(str(out), 6, seed=7), imgen.generate(str(out), 6, seed=7)
    assert a.shape == (6, 64, 64, 3) and a.dtype == np.uint8 and np.array_equal(a, b)
    expected = np.clip(np.rint((want.transpose(0, 2, 3, 1) + 1) * 127.5), 0, 255)
    assert np.abs(imgen.generate(str(out), 5, seed=3).astype(int) - expected).max() <= 1
    path = imgen.interpolate(str(out), [0, 1], steps=4)
    assert path.shape[1:] == (64, 64, 3) and len(path) >= 4
    assert np.array_equal(path[0], imgen.generate(str(out), 1, seed=0)[0])


def test_dcgan_discriminator_is_named(tmp_path):
    sd = RefDCGANDiscriminator(8, 3).state_dict()
    with pytest.raises(UnknownCheckpointError, match="discriminator"):
        detect(sd)


@pytest.mark.parametrize("damage", ["shape", "missing-block-conv", "channels"])
def test_broken_layouts_raise_clear_errors(damage):
    sd = dict(RefResnetGenerator(3, 3, 8, get_norm_layer("instance"), n_blocks=6).state_dict())
    if damage == "shape":
        sd["model.10.conv_block.1.weight"] = torch.zeros(32, 16, 3, 3)
        match = "model.10.conv_block.1.weight has shape"
    elif damage == "missing-block-conv":
        del sd["model.12.conv_block.5.weight"]
        match = "expected"
    else:
        sd["model.1.weight"] = torch.zeros(8, 2, 7, 7)
        match = "channels"
    with pytest.raises(UnknownCheckpointError, match=match):
        detect(sd)


def test_the_module_imports_on_its_own():
    """import_checkpoint registers this module's layouts: importing either first must work."""
    import subprocess
    import sys

    for first in ("imgen_train.import_generative", "imgen_train.import_checkpoint"):
        code = f"import {first}; from imgen_train.import_checkpoint import DETECTORS; print(len(DETECTORS))"
        done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr
