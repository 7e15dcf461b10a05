"""imgen_train.export_onnx: dynamic sizes, metadata, and a parity gate that really fails."""
from __future__ import annotations

import numpy as np
import onnx
import pytest

torch = pytest.importorskip("torch", reason="imgen_train needs torch (pip install torch, then imgen[train])")
pytest.importorskip("onnxscript", reason="the dynamo ONNX exporter needs onnxscript (imgen[train])")

import imgen  # noqa: E402
from imgen_train import archs  # noqa: E402
from imgen_train.export_onnx import OPSET, ExportError, export, fuse_batch_norm  # noqa: E402


def _trained_bn(model):
    """Give batch norm layers non-trivial statistics so folding them is tested."""
    torch.manual_seed(0)
    for m in model.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.uniform_(-0.2, 0.2)
            m.running_var.uniform_(0.5, 2.0)
            m.weight.data.uniform_(0.5, 1.5)
            m.bias.data.uniform_(-0.1, 0.1)
    return model.eval()


@pytest.fixture(scope="module")
def ffdnet_onnx(tmp_path_factory):
    model = _trained_bn(archs.build("ffdnet", depth=4, width=8))
    path = tmp_path_factory.mktemp("exp") / "ffd.onnx"
    report = export(model, path, name="tiny-ffdnet")
    return model, path, report


def test_export_is_one_file_with_pinned_opset_and_metadata(ffdnet_onnx):
    _, path, report = ffdnet_onnx
    assert report.max_abs_error <= 1e-4
    assert {h % 2 for _, h, _ in report.checked_sizes} == {0}
    assert any(h != w for _, h, w in report.checked_sizes)
    proto = onnx.load(str(path))
    assert [o.version for o in proto.opset_import if o.domain in ("", "ai.onnx")] == [OPSET]
    assert not any(t.data_location == onnx.TensorProto.EXTERNAL for t in proto.graph.initializer)
    assert not list(path.parent.glob("*.data"))
    meta = {p.key: p.value for p in proto.metadata_props}
    assert meta["imgen.task"] == "denoise" and meta["imgen.noise_input"] == "sigma"
    assert meta["imgen.noise_kind"] == "scalar" and meta["imgen.size_multiple"] == "2"
    dims = [[d.dim_param or d.dim_value for d in i.type.tensor_type.shape.dim] for i in proto.graph.input]
    assert all(isinstance(d, str) for d in (dims[0][0], dims[0][2], dims[0][3]))


def test_exported_model_runs_in_imgen_at_odd_sizes(ffdnet_onnx):
    model, path, _ = ffdnet_onnx
    m = imgen.load(str(path), providers=["cpu"])
    assert m.info.size_multiple == 2 and m.info.noise_input == "sigma"
    rng = np.random.default_rng(0)
    img = rng.random((21, 34)).astype(np.float32)
    out = m(img, sigma=0.1)
    assert out.shape == img.shape
    padded = np.pad(img, ((0, 1), (0, 0)), mode="reflect")
    with torch.no_grad():
        ref = model(torch.from_numpy(padded)[None, None], torch.full((1, 1, 1, 1), 0.1))[0, 0, :21].numpy()
    np.testing.assert_allclose(out, ref, atol=1e-4)


@pytest.mark.parametrize("channels", [1, 3])
def test_dncnn_exports_at_odd_sizes(tmp_path, channels):
    model = archs.build("dncnn", in_channels=channels, depth=3, width=8).eval()
    report = export(model, tmp_path / "d.onnx")
    assert any(h % 2 and w % 2 for _, h, w in report.checked_sizes)
    m = imgen.load(str(tmp_path / "d.onnx"), providers=["cpu"])
    assert m.info.channels == channels and m.info.noise_input is None


class _Drifts(torch.nn.Module):
    """Agrees with its graph at trace time, differs by 1e-2 in eager mode (a monkeypatched model)."""

    def __init__(self, inner):
        super().__init__()
        self.inner, self.config, self.name = inner, inner.config, inner.name
        self.in_channels, self.size_multiple, self.noise_input = inner.in_channels, 1, False

    def forward(self, x):
        out = self.inner(x)
        if not torch.compiler.is_compiling() and not torch.jit.is_tracing():
            out = out + 1e-2
        return out


def test_parity_gate_fails_and_keeps_no_file(tmp_path, monkeypatch):
    model = archs.build("dncnn", depth=3, width=8).eval()
    import imgen_train.export_onnx as ex

    monkeypatch.setattr(ex, "fuse_batch_norm", lambda m: _Drifts(m))
    with pytest.raises(ExportError, match="differs from torch by 0.01"):
        export(model, tmp_path / "bad.onnx")
    assert not list(tmp_path.iterdir())


def test_fuse_batch_norm_keeps_outputs():
    model = _trained_bn(archs.build("ffdnet", depth=4, width=8))
    fused = fuse_batch_norm(model)
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in fused.modules())
    x, s = torch.rand(2, 1, 10, 12), torch.full((2, 1, 1, 1), 0.2)
    with torch.no_grad():
        torch.testing.assert_close(fused(x, s), model(x, s), atol=1e-5, rtol=1e-5)


def test_fp16_variant_is_checked_against_fp32(tmp_path):
    model = archs.build("dncnn", depth=3, width=8).eval()
    report = export(model, tmp_path / "d.onnx", fp16=True)
    fp16 = report.variants["fp16"]
    assert fp16["max_abs_error_vs_fp32"] <= 2e-2
    m = imgen.load(fp16["path"], providers=["cpu"])
    assert m.inputs[0].type == "tensor(float16)"
    assert m(np.full((9, 11), 0.5, np.float32)).shape == (9, 11)


def test_parity_probes_are_natural_images_in_the_models_range():
    from imgen_train.export_onnx import natural_feeds
    from imgen_train.graphs import Graph

    g = Graph("", torch.nn.Identity(), ("image",), ("output",), {"imgen.range": "0,255"}, None, spatial=True)
    x = natural_feeds(g, {"image": np.zeros((2, 3, 40, 50), np.float32)}, seed=0)["image"]
    assert x.shape == (2, 3, 40, 50) and 0 <= x.min() and x.max() <= 255 and x.max() > 100
    rows = np.abs(np.diff(x[0, 0], axis=0)).mean()  # neighbours alike, unlike uniform noise (~85)
    assert rows < 30


def test_parity_tolerance_is_relative_to_the_output():
    from imgen_train.export_onnx import tolerance

    assert tolerance(1e-4, np.array([0.5, -0.2])) == 1e-4
    assert tolerance(1e-4, np.array([255.0, 3.0])) == pytest.approx(255e-4)


def test_skip_parity_warns_and_marks_the_file(tmp_path, monkeypatch, caplog):
    model = archs.build("dncnn", depth=3, width=8).eval()
    import imgen_train.export_onnx as ex

    monkeypatch.setattr(ex, "fuse_batch_norm", lambda m: _Drifts(m))  # would fail the gate
    report = export(model, tmp_path / "unchecked.onnx", skip_parity=True)
    assert report.max_abs_error is None and "parity probes skipped" in caplog.text
    meta = {p.key: p.value for p in onnx.load(str(tmp_path / "unchecked.onnx")).metadata_props}
    assert meta["imgen.parity"] == "skipped"
