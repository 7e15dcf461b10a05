"""imgen_train.families: small random-init networks in each family's published layouts are recognised,
rebuilt to give the authors' outputs, and exported by ``imgen import`` with their conventions as metadata
(no shared data needed).  The real files: tests/test_import_real.py."""
from __future__ import annotations

import contextlib
import io
import json

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="imgen_train needs torch (pip install torch, then imgen[train])")
pytest.importorskip("onnxscript", reason="the dynamo ONNX exporter needs onnxscript (imgen[train])")
import spandrel_models as sm  # noqa: E402

sm.use_stubs()  # the import route asks spandrel first

from torch import nn  # noqa: E402

from imgen.cli import main as cli_main  # noqa: E402
from imgen_train import families  # noqa: E402
from imgen_train.families import Family, Registry, ScaleRequired, carn, imdn, rfdn, rlfn  # noqa: E402
from imgen_train.import_errors import Mismatch  # noqa: E402


def _randomise(net: nn.Module, seed: int = 0) -> nn.Module:
    """Weights and BatchNorm statistics away from their init, so folding and eps matter."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in net.state_dict().items():
            if not p.is_floating_point():
                continue
            if name.endswith("running_var"):
                p.copy_(torch.rand(p.shape, generator=g) * 0.5 + 0.02)
            else:
                p.copy_(torch.randn(p.shape, generator=g) * 0.1)
    return net.eval()


def saoyan_dncnn(channels=1, layers=5, width=8, first_bias=False, eps=1e-5):
    """SaoYan/DnCNN-PyTorch's models.DnCNN (first_bias=False) or the cszn port's body (first_bias=True,
    eps 1e-4): conv, ReLU, [conv, BN, ReLU] * (layers - 2), conv, under ``dncnn``."""
    mods = [nn.Conv2d(channels, width, 3, padding=1, bias=first_bias), nn.ReLU()]
    for _ in range(layers - 2):
        mods += [nn.Conv2d(width, width, 3, padding=1, bias=False), nn.BatchNorm2d(width, eps=eps), nn.ReLU()]
    mods.append(nn.Conv2d(width, channels, 3, padding=1, bias=False))
    net = nn.Module()
    net.dncnn = nn.Sequential(*mods)
    return _randomise(net)


def _image(channels, h=23, w=19, seed=0):
    return torch.from_numpy(np.random.default_rng(seed).random((1, channels, h, w), dtype=np.float32))


def _cli(args):
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = cli_main(args)
    return code, out.getvalue()


# --- DnCNN ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("prefix, first_bias, eps, source", [
    ("dncnn", False, 1e-5, "noise"),   # SaoYan
    ("dncnn", True, 1e-4, "image"),    # cszn official port
    ("model", True, 1e-4, "image"),    # KAIR's training layout
])
@pytest.mark.parametrize("channels", [1, 3])
def test_dncnn_layouts_fold_batch_norm_with_the_layouts_eps(prefix, first_bias, eps, source, channels):
    net = saoyan_dncnn(channels, first_bias=first_bias, eps=eps)
    sd = {f"module.{prefix}.{k.split('.', 1)[1]}": v for k, v in net.state_dict().items()}  # DataParallel
    found = families.find({k.removeprefix("module."): v for k, v in sd.items()})
    assert found.family == "DnCNN"
    x = _image(channels)
    with torch.no_grad():
        torch.testing.assert_close(found.module(x), x - net.dncnn(x), atol=1e-5, rtol=1e-5)
    assert found.metadata["imgen.source_output"] == source
    assert found.metadata["imgen.bn_eps"] == f"{eps:g}"
    assert found.metadata["imgen.channels"] == str(channels) and found.metadata["imgen.task"] == "denoise"


def test_dncnn_bare_sequential_without_batch_norm():
    body = _randomise(nn.Sequential(nn.Conv2d(1, 8, 3, padding=1), nn.ReLU(), nn.Conv2d(8, 8, 3, padding=1),
                                    nn.ReLU(), nn.Conv2d(8, 1, 3, padding=1)))
    found = families.find(body.state_dict())
    x = _image(1)
    with torch.no_grad():
        torch.testing.assert_close(found.module(x), x - body(x))
    assert "imgen.bn_eps" not in found.metadata


def test_dncnn_mismatch_names_the_layer():
    sd = saoyan_dncnn().state_dict()
    sd = {k.removeprefix("dncnn."): v for k, v in sd.items()}
    sd["5.weight"] = torch.zeros(8, 6, 3, 3)
    with pytest.raises(Mismatch, match=r"5.weight takes 6 channels but 2 gives 8"):
        families.find(sd)


# --- VDSR / SRCNN / FSRCNN / ESPCN ---------------------------------------------------------------------

class AuthorsVDSR(nn.Module):
    """twtygqyy/pytorch-vdsr's vdsr.Net, narrow and shallow."""

    def __init__(self, width=8, blocks=3):
        super().__init__()

        class Block(nn.Module):
            def __init__(self):
                super().__init__()
                self.conv = nn.Conv2d(width, width, 3, padding=1, bias=False)
                self.relu = nn.ReLU()

            def forward(self, x):
                return self.relu(self.conv(x))

        self.residual_layer = nn.Sequential(*[Block() for _ in range(blocks)])
        self.input = nn.Conv2d(1, width, 3, padding=1, bias=False)
        self.output = nn.Conv2d(width, 1, 3, padding=1, bias=False)
        self.relu = nn.ReLU()

    def forward(self, x):
        return self.output(self.residual_layer(self.relu(self.input(x)))) + x


def test_vdsr_needs_a_scale_and_declares_its_conventions():
    net = _randomise(AuthorsVDSR())
    with pytest.raises(ScaleRequired, match=r"--scale \(2, 3, 4\)"):
        families.find(net.state_dict())
    found = families.find(net.state_dict(), 3)
    x = _image(1)
    with torch.no_grad():
        torch.testing.assert_close(found.module(x), net(x))
    m = found.metadata
    assert (m["imgen.pre_upsample"], m["imgen.scale"], m["imgen.color_space"], m["imgen.channels"]) == \
        ("bicubic", "3", "y", "1")


def test_srcnn_is_pre_upsampled_y():
    net = nn.Module()
    net.conv1, net.conv2, net.conv3 = nn.Conv2d(1, 8, 9, padding=4), nn.Conv2d(8, 4, 5, padding=2), \
        nn.Conv2d(4, 1, 5, padding=2)
    _randomise(net)
    found = families.find(net.state_dict(), 2)
    x = _image(1)
    ref = net.conv3(torch.relu(net.conv2(torch.relu(net.conv1(x)))))
    with torch.no_grad():
        torch.testing.assert_close(found.module(x), ref)
    assert found.metadata["imgen.pre_upsample"] == "bicubic" and found.metadata["imgen.color_space"] == "y"


def test_fsrcnn_and_espcn_upscale_the_y_channel():
    fsrcnn = nn.Module()
    fsrcnn.first_part = nn.Sequential(nn.Conv2d(1, 8, 5, padding=2), nn.PReLU(8))
    fsrcnn.mid_part = nn.Sequential(nn.Conv2d(8, 4, 1), nn.PReLU(4), nn.Conv2d(4, 4, 3, padding=1), nn.PReLU(4),
                                    nn.Conv2d(4, 8, 1), nn.PReLU(8))
    fsrcnn.last_part = nn.ConvTranspose2d(8, 1, 9, stride=3, padding=4, output_padding=2)
    _randomise(fsrcnn)
    with pytest.raises(ScaleRequired):
        families.find(fsrcnn.state_dict())
    found = families.find(fsrcnn.state_dict(), 3)
    x = _image(1)
    with torch.no_grad():
        torch.testing.assert_close(found.module(x), fsrcnn.last_part(fsrcnn.mid_part(fsrcnn.first_part(x))))
    espcn = nn.Module()
    espcn.first_part = nn.Sequential(nn.Conv2d(1, 8, 5, padding=2), nn.Tanh(), nn.Conv2d(8, 4, 3, padding=1), nn.Tanh())
    espcn.last_part = nn.Sequential(nn.Conv2d(4, 4, 3, padding=1), nn.PixelShuffle(2))
    _randomise(espcn)
    found = families.find(espcn.state_dict())
    with torch.no_grad():
        torch.testing.assert_close(found.module(x), espcn.last_part(espcn.first_part(x)))
    assert found.metadata["imgen.scale"] == "2" and "imgen.pre_upsample" not in found.metadata


# --- CARN / RLFN ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("efficient, shared, group, name", [(True, True, 4, "CARN-M"), (False, False, 1, "CARN")])
def test_carn_layouts_need_a_scale_when_multi_scale(efficient, shared, group, name):
    net = _randomise(carn.CARN(8, efficient, group, shared, (2, 3, 4), multi=True))
    with torch.no_grad():  # the published mean shift, RGB in [0, 1]
        net.sub_mean.shifter.bias.copy_(torch.tensor([-0.4488, -0.4371, -0.4040]))
    with pytest.raises(ScaleRequired, match=r"one network serves x2, x3, x4; say which with --scale \(2, 3, 4\)"):
        families.find(net.state_dict())
    found = families.find(net.state_dict(), 3)
    assert found.family.startswith(name) and found.metadata["imgen.range"] == "0,1"
    x = _image(3, 11, 9)
    with torch.no_grad():
        out = found.module(x)
        torch.testing.assert_close(out, net(x, 3))
    assert out.shape[-2:] == (33, 27)


def test_single_scale_carn_reads_its_scale():
    net = _randomise(carn.CARN(8, False, 1, False, (4,), multi=False))
    found = families.find(net.state_dict())
    assert found.metadata["imgen.scale"] == "4"


def test_rlfn_scale_from_weights_and_range_left_to_behaviour():
    net = _randomise(rlfn.RLFN(3, 8, 8, 4, 2, 2))
    found = families.find(net.state_dict())
    assert found.family == "RLFN" and found.infer_range and found.metadata["imgen.scale"] == "2"
    x = _image(3, 17, 16)
    with torch.no_grad():
        torch.testing.assert_close(found.module(x), net(x))


def test_imdn_scale_from_weights():
    net = _randomise(imdn.IMDN(3, 16, 2, 4, 3))
    found = families.find(net.state_dict())
    assert found.family == "IMDN" and found.infer_range and found.metadata["imgen.scale"] == "3"
    x = _image(3, 9, 8)
    with torch.no_grad():
        out = found.module(x)
        torch.testing.assert_close(out, net(x))
    assert out.shape[-2:] == (27, 24)
    sd = net.state_dict()
    del sd["IMDB1.cca.conv_du.0.weight"]
    with pytest.raises(Mismatch, match="cca"):
        families.find(sd)


def test_rfdn_scale_from_weights():
    net = _randomise(rfdn.RFDN(3, 8, 2, 4, 2, 4))
    found = families.find(net.state_dict())
    assert found.family == "RFDN" and found.infer_range and found.metadata["imgen.scale"] == "4"
    assert found.metadata["imgen.min_size"] == "15"
    x = _image(3, 17, 16)
    with torch.no_grad():
        torch.testing.assert_close(found.module(x), net(x))


class _Offset(nn.Module):
    """Bilinear x2 plus a constant: right for one range only when the constant is large on the other's."""

    def __init__(self, offset):
        super().__init__()
        self.offset = offset

    def forward(self, x):
        return nn.functional.interpolate(x, scale_factor=2, mode="bilinear", align_corners=False) + self.offset


def test_infer_range_by_behaviour():
    assert families.infer_range(_Offset(2.0), 2, 3)[0] == "0,255"   # +2 levels of 255: harmless; of 1: saturated
    decided, why = families.infer_range(_Offset(0.0), 2, 3)          # linear: both ranges equal
    assert decided is None and "not decided" in why


def test_registry_refuses_duplicates():
    reg = Registry()
    reg.add(Family("X", "x", lambda sd, s: None))
    with pytest.raises(ValueError, match="registered twice"):
        reg.add(Family("X", "x", lambda sd, s: None))
    assert families.FAMILIES.names() == ["DnCNN", "VDSR", "SRCNN", "FSRCNN", "ESPCN", "CARN", "RLFN", "IMDN", "RFDN"]


# --- through imgen import ------------------------------------------------------------------------------

@pytest.mark.slow
def test_cli_imports_saoyan_layout_with_dataparallel_prefix(tmp_path, caplog):
    import onnxruntime as ort

    net = saoyan_dncnn()
    torch.save({"module." + k: v for k, v in net.state_dict().items()}, tmp_path / "net.pth")
    code, out = _cli(["import", str(tmp_path / "net.pth"), "-o", str(tmp_path / "d.onnx"),
                      "--info", "published=Set12 sigma 25: 30.404 dB"])
    assert code == 0
    report = json.loads(out)
    assert report["metadata"]["imgen.source_output"] == "noise"
    assert report["metadata"]["imgen.published"] == "Set12 sigma 25: 30.404 dB"
    assert report["max_abs_error"] < 1e-4
    assert "parity probe 3/3" in caplog.text and "exporting DnCNN to ONNX" in caplog.text  # progress lines
    x = _image(1, 31, 17)
    got = ort.InferenceSession(str(tmp_path / "d.onnx"), providers=["CPUExecutionProvider"]).run(
        None, {"image": x.numpy()})[0]
    with torch.no_grad():
        np.testing.assert_allclose(got, (x - net.dncnn(x)).numpy(), atol=1e-5)


@pytest.mark.slow
def test_cli_vdsr_scale_and_conventions(tmp_path, capsys, caplog):
    torch.save(_randomise(AuthorsVDSR()).state_dict(), tmp_path / "v.pth")
    assert cli_main(["import", str(tmp_path / "v.pth"), "-o", str(tmp_path / "v.onnx")]) == 1
    assert "--scale (2, 3, 4)" in capsys.readouterr().err
    code, out = _cli(["import", str(tmp_path / "v.pth"), "-o", str(tmp_path / "v.onnx"), "--scale", "4",
                      "--skip-parity"])
    assert code == 0
    meta = json.loads(out)["metadata"]
    assert {k: meta[k] for k in ("imgen.pre_upsample", "imgen.scale", "imgen.color_space", "imgen.channels",
                                 "imgen.parity")} == {"imgen.pre_upsample": "bicubic", "imgen.scale": "4",
                                                      "imgen.color_space": "y", "imgen.channels": "1",
                                                      "imgen.parity": "skipped"}
    assert "parity probes skipped" in caplog.text


def test_cli_info_accepts_the_convention_keys(tmp_path):
    from imgen.adopt import check_declarable

    check_declarable({"pre_upsample": "bicubic", "color_space": "y", "range": "0,255", "published": "x"})


@pytest.mark.slow
def test_cli_info_range_settles_what_behaviour_would_decide(tmp_path):
    torch.save(_randomise(rlfn.RLFN(3, 8, 8, 4, 1, 2)).state_dict(), tmp_path / "r.pth")
    code, out = _cli(["import", str(tmp_path / "r.pth"), "-o", str(tmp_path / "r.onnx"), "--info", "range=0,255"])
    assert code == 0
    report = json.loads(out)
    assert report["metadata"]["imgen.range"] == "0,255" and "range" not in report["metadata"].get("imgen.inferred", "")
    assert report["metadata"]["imgen.min_size"] == "15"


def test_cli_scale_for_a_network_that_keeps_the_size_is_refused(tmp_path, capsys):
    from test_import import kair_dncnn_state

    torch.save(kair_dncnn_state(), tmp_path / "k.pth")
    assert cli_main(["import", str(tmp_path / "k.pth"), "-o", str(tmp_path / "k.onnx"), "--scale", "2"]) == 1
    assert "--scale 2: dncnn keeps the image size" in capsys.readouterr().err
    assert not (tmp_path / "k.onnx").exists()
