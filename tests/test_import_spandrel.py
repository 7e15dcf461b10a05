"""imgen_train.import_spandrel: small random-init models of the architectures spandrel knows, imported
through ``imgen import``: metadata from the descriptor, the padded parity gate at two sizes, the
probed receptive field, and tiled == whole within 1e-4 at the declared overlap for convolutional ones.

Without the real torchvision, tests/stubs stands in (tests/stubs/README.md)."""
from __future__ import annotations

import contextlib
import io
import os
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="imgen_train needs torch (pip install torch, then imgen[train])")
pytest.importorskip("onnxscript", reason="the dynamo ONNX exporter needs onnxscript (imgen[train])")
import spandrel_models as sm  # noqa: E402

STUB = sm.use_stubs()
spandrel = pytest.importorskip("spandrel", reason="pip install 'imgen[import]' && pip install --no-deps spandrel")

import imgen  # noqa: E402
from imgen.cli import main as cli_main  # noqa: E402
from imgen_train.import_spandrel import descriptor_info, load_descriptor, plan_sizes  # noqa: E402

#: arch -> (scale, size_multiple, whole_image, convolutional: tiled == whole at the declared overlap)
EXPECTED = {
    "Compact": (4, 1, False, True),
    "ESRGAN": (2, 1, False, True),
    "SPAN": (2, 1, False, True),
    "PLKSR": (2, 1, False, True),
    "RCAN": (2, 1, True, False),          # channel attention: global average pooling
    "DRUNet": (1, 8, False, False),
    "NAFNet": (1, 2, True, False),         # pads to 2 ** encoders itself; simplified channel attention
    "SwinIR": (2, 4, False, True),         # window 4 -> size multiple 4; a plain and a shifted-window block:
                                           # on the window grid, tiles equal the whole image (docs/import.md)
    "FBCNN": (1, 8, True, False),          # quality-factor head: global pooling
    "DAT": (2, 4, True, False),            # split windows 2x4 -> 4; channel-wise self-attention
    "SCUNet": (1, 64, False, False),       # pads to 64 itself
}
SLOW = {"DRUNet", "NAFNet", "SwinIR", "FBCNN", "DAT", "SCUNet"}
#: Families whose import takes minutes here: run with IMGEN_IMPORT_ALL=1 (times in docs/import.md).
HEAVY = {"DAT", "SCUNet", "FBCNN"}


#: Families whose import takes 10-15 s here: run in .ci/run's heavy step (python -m pytest -m heavy, #31).
HEAVY_STEP = {"SwinIR"}


def _param(arch):
    marks = [pytest.mark.slow] if arch in SLOW else []
    if arch in HEAVY_STEP:
        marks.append(pytest.mark.heavy)
    if arch in HEAVY:
        marks.append(pytest.mark.skipif(not os.environ.get("IMGEN_IMPORT_ALL"),
                                        reason=f"{arch}'s import takes minutes; IMGEN_IMPORT_ALL=1 runs it"))
    return pytest.param(arch, marks=marks)


@pytest.fixture(scope="module")
def imported(tmp_path_factory):
    """arch -> the ONNX file ``imgen import`` wrote for its small random-init checkpoint (once per module)."""
    done: dict[str, Path] = {}
    folder = tmp_path_factory.mktemp("spandrel")

    def get(arch: str) -> Path:
        if arch not in done:
            torch.save(sm.state_dict(arch), folder / f"{arch}.pth")
            out = folder / f"{arch}.onnx"
            report = io.StringIO()
            with contextlib.redirect_stdout(report):
                assert cli_main(["import", str(folder / f"{arch}.pth"), "-o", str(out)]) == 0
            assert '"max_abs_error"' in report.getvalue()
            done[arch] = out
        return done[arch]

    return get


def _import(arch, tmp_path):
    torch.save(sm.state_dict(arch), tmp_path / f"{arch}.pth")
    out = tmp_path / f"{arch}.onnx"
    assert cli_main(["import", str(tmp_path / f"{arch}.pth"), "-o", str(out)]) == 0
    return out


@pytest.mark.parametrize("arch", [_param(a) for a in EXPECTED])
def test_spandrel_architecture_imports_and_describes_itself(arch, imported):
    out = imported(arch)
    import onnx

    props = {p.key: p.value for p in onnx.load(str(out)).metadata_props}
    scale, multiple, whole, _ = EXPECTED[arch]
    assert props["imgen.arch"] == arch and props["imgen.importer"] == "spandrel"
    assert (int(props["imgen.scale"]), int(props["imgen.size_multiple"])) == (scale, multiple)
    assert props["imgen.whole_image"] == ("true" if whole else "false")
    if not whole:
        assert int(props["imgen.receptive_field"]) > 0
        assert int(props["imgen.tile_overlap"]) >= 4 * int(props["imgen.receptive_field"])
    assert "whole_image" in props["imgen.inferred"].split(",") or props.get("imgen.spandrel_tiling") == "internal"
    if multiple > 1 and arch not in ("DRUNet",):  # the network's own window/padding grid, declared
        assert int(props["imgen.window"]) == multiple
    if arch == "FBCNN":  # forward returns (image, quality factor): the image is exported, and said so
        assert "quality factor" in props["imgen.output"] and len(onnx.load(str(out)).graph.output) == 1


def test_window_grid_is_read_from_the_network():
    from imgen_train.import_spandrel import window_multiple

    d = load_descriptor(sm.state_dict("SwinIR"))
    assert window_multiple(d) == 4 and descriptor_info(d).size_multiple == 4
    assert window_multiple(load_descriptor(sm.state_dict("Compact"))) is None


def test_drunet_noise_map_input_is_declared(tmp_path):
    d = load_descriptor(sm.state_dict("DRUNet"))
    info = descriptor_info(d)
    assert (info.channels, info.input_channels, info.extra_channels, info.noise_units, info.task) == (
        3, 4, "noise", "fraction", "denoise")


def test_sizes_keep_padding_branches():
    d = load_descriptor(sm.state_dict("DRUNet"))
    sizes = plan_sizes(descriptor_info(d))
    assert all(s % 8 == 0 for s in sizes.trace) and sizes.trace[0] != sizes.trace[1]
    assert any(h % 8 or w % 8 for h, w in sizes.checks)   # one check size is padded
    assert any(not (h % 8 or w % 8) for h, w in sizes.checks)


@pytest.mark.parametrize("arch", [a for a, e in EXPECTED.items() if e[3]])
def test_tiled_equals_whole_at_the_declared_overlap(arch, imported):
    out = imported(arch)
    m = imgen.load(str(out), providers=["cpu"])
    tile = 48 + 2 * m.info.tile_overlap
    img = np.random.default_rng(0).random((tile + 21, tile + 37, 3), dtype=np.float32)  # 2 x 2 tiles at least
    whole = m(img)
    tiled = m(img, tile=tile, overlap=m.info.tile_overlap)
    assert m.info.tile_overlap >= m.info.overlap_needed
    np.testing.assert_allclose(tiled, whole, atol=1e-4)


def test_unrecognised_state_dict_names_every_route(tmp_path, capsys):
    torch.save({"encoder.conv1.weight": torch.zeros(8, 3, 7, 7)}, tmp_path / "x.pth")
    assert cli_main(["import", str(tmp_path / "x.pth"), "-o", str(tmp_path / "x.onnx")]) == 1
    err = capsys.readouterr().err
    assert "KAIR DnCNN" in err and "spandrel does not recognise" in err
    assert not (tmp_path / "x.onnx").exists()


def test_stub_is_only_used_without_torchvision():
    import importlib.util

    origin = importlib.util.find_spec("torchvision").origin or ""
    assert ("tests/stubs" in origin) == STUB


def test_stub_normalize_and_rotate_match_their_definitions():
    from torchvision.transforms.functional import normalize, rotate

    x = torch.rand(1, 3, 4, 5)
    torch.testing.assert_close(normalize(x, [0.5] * 3, [0.25] * 3), (x - 0.5) / 0.25)
    if STUB:
        torch.testing.assert_close(rotate(x, 90.0), torch.rot90(x, 1, dims=(-2, -1)))
        with pytest.raises(NotImplementedError):
            rotate(x, 30.0)


def test_adopting_the_bare_graph_finds_what_spandrel_declared(tmp_path, capsys):
    """Two paths to the same metadata: spandrel's descriptor (+ probe) and probing the bare graph."""
    import onnx

    from imgen.adopt import adopt

    out = _import("Compact", tmp_path)
    bare = onnx.load(str(out))
    declared = {p.key: p.value for p in bare.metadata_props}
    del bare.metadata_props[:]
    onnx.save(bare, str(tmp_path / "bare.onnx"))
    found = adopt(tmp_path / "bare.onnx", tmp_path / "adopted.onnx").info
    assert (found.scale, found.size_multiple, found.channels) == (4, 1, 3)
    assert found.receptive_field == int(declared["imgen.receptive_field"])
    assert {"scale", "size_multiple", "channels", "receptive_field"} <= set(found.inferred)


@pytest.fixture(scope="module")
def lama(tmp_path_factory):
    """A narrow random-init LaMa (spandrel's code, 8 features, one FFC block) exported by export_spandrel."""
    from imgen_train.import_spandrel import export_spandrel

    descriptor = sm.small_lama()
    out = tmp_path_factory.mktemp("lama") / "lama.onnx"
    return descriptor, out, export_spandrel(descriptor, out)


@pytest.mark.slow
def test_lama_imports_as_an_inpaint_model_with_its_mask_contract(lama):
    import onnx

    _, out, report = lama
    assert report.max_abs_error <= 1e-4 and len(report.checked_sizes) == 2   # FFT convolutions: ONNX DFT
    graph = onnx.load(str(out)).graph
    assert [i.name for i in graph.input] == ["image", "mask"] and "DFT" in {n.op_type for n in graph.node}
    m = imgen.load(str(out), providers=["cpu"])
    assert type(m).__name__ == "InpaintModel"
    info = m.info
    assert (info.task, info.mask_input, info.mask_polarity, info.zero_holes) == ("inpaint", "mask", "1", True)
    assert (info.size_multiple, info.min_size, info.whole_image, info.extra["arch"]) == (8, 16, True, "LaMa")


@pytest.mark.slow
def test_imported_lama_fills_holes_as_spandrel_does(lama):
    """Two paths: imgen's InpaintModel (crop, reflect-pad to 8, zero the holes) and spandrel's own call."""
    descriptor, out, _ = lama
    rng = np.random.default_rng(1)
    img = rng.random((37, 45, 3), dtype=np.float32)
    holes = np.zeros((37, 45), bool)
    holes[9:20, 14:30] = True
    got = imgen.load(str(out), providers=["cpu"])(img, holes)
    with torch.no_grad():
        ref = descriptor(torch.from_numpy(img.transpose(2, 0, 1)[None].copy()),
                         torch.from_numpy(holes[None, None].astype(np.float32)))[0].numpy().transpose(1, 2, 0)
    np.testing.assert_array_equal(got[~holes], img[~holes])
    np.testing.assert_allclose(got[holes], ref[holes], atol=1e-4)
    assert np.abs(got[holes] - img[holes]).mean() > 0.01


@pytest.mark.slow
def test_full_size_lama_state_dict_is_detected_as_inpainting():
    """spandrel's detection builds the published generator (64 features, 18 FFC blocks)."""
    from spandrel.architectures.LaMa import LaMa

    torch.manual_seed(0)
    d = load_descriptor(LaMa(in_nc=4, out_nc=3).state_dict())
    info = descriptor_info(d)
    assert (info.task, info.channels, info.mask_input, info.size_multiple, info.min_size) == ("inpaint", 3, "mask", 8, 16)
