"""imgen.adopt: third-party ONNX files read (symbolic dims, noise inputs) and probed (scale, size
multiple, receptive field, whole-image dependence), metadata written, declared keys kept."""
from __future__ import annotations

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

import imgen
from imgen import ModelError
from imgen.adopt import adopt, eval_dim, probe, read_graph
from imgen.cli import main as cli_main

import onnx_models as om


def _model(path, nodes, inits, in_shape, out_shape, extra_inputs=(), metadata=None):
    graph = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, in_shape),
                                           *extra_inputs],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, out_shape)],
                              initializer=[numpy_helper.from_array(v, k) for k, v in inits.items()])
    return om._save(graph, path, metadata)


def conv_stack(path, layers=3, channels=3):
    """``layers`` 3x3 convolutions with ReLUs between: receptive radius == layers."""
    rng = np.random.default_rng(0)
    nodes, inits, prev = [], {}, "x"
    for k in range(layers):
        inits[f"w{k}"] = rng.normal(0, 0.3, (channels, channels, 3, 3)).astype(np.float32)
        out = "y" if k == layers - 1 else f"h{k}"
        nodes.append(helper.make_node("Conv", [prev, f"w{k}"], [out if k == layers - 1 else f"c{k}"], pads=[1] * 4))
        if k < layers - 1:
            nodes.append(helper.make_node("Relu", [f"c{k}"], [out]))
        prev = out
    return _model(path, nodes, inits, ["N", channels, "H", "W"], ["N", channels, "H", "W"])


def space_to_depth_sr(path):
    """SpaceToDepth 8 then DepthToSpace 16 of 3 channels repeated: needs multiples of 8, scale 2."""
    nodes = [helper.make_node("SpaceToDepth", ["x"], ["d"], blocksize=8),
             helper.make_node("Concat", ["d", "d", "d", "d"], ["d4"], axis=1),
             helper.make_node("DepthToSpace", ["d4"], ["y"], blocksize=16, mode="CRD")]
    return _model(path, nodes, {}, ["N", 3, "H", "W"], ["N", 3, "H2", "W2"])


def global_pool(path):
    """y = x + mean(x) over the image: every output pixel depends on the whole image."""
    nodes = [helper.make_node("GlobalAveragePool", ["x"], ["m"]), helper.make_node("Add", ["x", "m"], ["y"])]
    return _model(path, nodes, {}, ["N", 3, "H", "W"], ["N", 3, "H", "W"])


def test_symbolic_dims_are_evaluated():
    assert eval_dim("4*height", "height", 10) == 40
    assert eval_dim("8*(height//8)", "height", 21) == 16
    assert eval_dim("height*2 + 1", "height", 3) == 7
    assert eval_dim("import os", "height", 3) is None
    assert eval_dim("2**height", "height", 3) is None


def test_scale_and_multiple_read_from_the_graph(tmp_path):
    path = tmp_path / "m.onnx"
    model = onnx.load(space_to_depth_sr(path))
    dims = model.graph.output[0].type.tensor_type.shape.dim
    dims[2].dim_param, dims[3].dim_param = "2*(8*(H//8))", "2*(8*(W//8))"
    onnx.save(model, str(path))
    facts = read_graph(path)
    assert (facts.scale, facts.size_multiple) == (2, 8)


def test_probe_finds_scale_multiple_and_receptive_field(tmp_path):
    found = probe(space_to_depth_sr(tmp_path / "sr.onnx")).info
    assert (found.scale, found.size_multiple, found.channels, found.task) == (2, 8, 3, "restore")
    assert {"scale", "size_multiple", "channels", "receptive_field"} <= set(found.inferred)
    stack = probe(conv_stack(tmp_path / "c.onnx", layers=3)).info
    assert (stack.receptive_field, stack.whole_image, stack.scale) == (3, False, 1)
    assert stack.tile_overlap >= 4 * 3


def test_whole_image_dependence_is_found(tmp_path):
    info = probe(global_pool(tmp_path / "g.onnx")).info
    assert info.whole_image is True and info.tile == 0 and info.receptive_field is None


def test_noise_input_found_by_name_and_fed(tmp_path):
    path = om.minus_noise(tmp_path / "n.onnx", channels=1, kind="scalar", metadata=None)
    bare = onnx.load(path)
    del bare.metadata_props[:]
    onnx.save(bare, str(tmp_path / "bare.onnx"))
    info = probe(tmp_path / "bare.onnx").info
    assert (info.noise_input, info.noise_kind, info.task) == ("sigma", "scalar", "denoise")
    assert "noise_input" in info.inferred


def test_adopt_writes_metadata_keeping_what_is_declared(tmp_path):
    src = conv_stack(tmp_path / "c.onnx", layers=2)
    model = onnx.load(src)
    for k, v in {"imgen.tile_overlap": "40", "producer.note": "kept"}.items():
        e = model.metadata_props.add()
        e.key, e.value = k, v
    onnx.save(model, src)
    adopt(src, tmp_path / "out.onnx")
    props = {p.key: p.value for p in onnx.load(str(tmp_path / "out.onnx")).metadata_props}
    assert props["imgen.tile_overlap"] == "40" and props["producer.note"] == "kept"
    assert props["imgen.receptive_field"] == "2" and "tile_overlap" not in props["imgen.inferred"]
    m = imgen.load(str(tmp_path / "out.onnx"), providers=["cpu"])
    assert m.info.receptive_field == 2 and "receptive_field" in m.info.inferred
    x = np.random.default_rng(0).random((1, 3, 9, 11), dtype=np.float32)
    ref = imgen.load(src, providers=["cpu"], info={"channels": 3}).run({"x": x})[0]
    np.testing.assert_array_equal(m.run({"x": x})[0], ref)


def test_cli_import_of_an_onnx_file_needs_no_torch_and_info_shows_sources(tmp_path, capsys):
    src = conv_stack(tmp_path / "c.onnx", layers=2)
    assert cli_main(["import", src, "-o", str(tmp_path / "a.onnx")]) == 0
    assert '"receptive_field"' in capsys.readouterr().out
    assert cli_main(["info", str(tmp_path / "a.onnx")]) == 0
    out = capsys.readouterr().out
    assert "receptive_field" in out and "inferred" in out and "declared" in out


def test_bad_files_are_clear_errors(tmp_path, capsys):
    (tmp_path / "bad.onnx").write_bytes(b"not onnx")
    assert cli_main(["import", str(tmp_path / "bad.onnx"), "-o", str(tmp_path / "o.onnx")]) == 1
    assert "not a readable ONNX file" in capsys.readouterr().err
    with pytest.raises(ModelError, match="expected a 4-D NCHW image input"):
        gen = om.generator(tmp_path / "g.onnx")
        read_graph(gen)
    assert not (tmp_path / "o.onnx").exists()


def test_cli_import_info_declares_what_probing_would_infer(tmp_path, capsys):
    src = global_pool(tmp_path / "g.onnx")   # probing alone: whole_image true, tile 0
    out = tmp_path / "a.onnx"
    assert cli_main(["import", src, "-o", str(out), "--info", "whole_image=false", "--info", "tile_overlap=16",
                     "--info", "receptive_field=3"]) == 0
    capsys.readouterr()
    m = imgen.load(str(out), providers=["cpu"])
    assert (m.info.whole_image, m.info.tile_overlap, m.info.receptive_field) == (False, 16, 3)
    assert not {"whole_image", "tile_overlap", "receptive_field"} & set(m.info.inferred)
    assert "scale" in m.info.inferred


@pytest.mark.parametrize("entry, message", [("window=8", "unknown model info key(s) window"),
                                            ("range=1,0", "imgen.range must have low < high")])
def test_cli_import_info_errors_leave_no_file(tmp_path, capsys, entry, message):
    src = conv_stack(tmp_path / "c.onnx", layers=1)
    assert cli_main(["import", src, "-o", str(tmp_path / "a.onnx"), "--info", entry]) == 1
    assert message in capsys.readouterr().err
    assert not (tmp_path / "a.onnx").exists()


def test_declare_validates_across_keys():
    from imgen.adopt import declare

    base = imgen.ModelInfo(channels=3)
    assert declare(base, {"input_channels": "4", "extra_channels": "noise"}).extra_channels == "noise"
    with pytest.raises(ModelError, match="extra_channels 'noise' needs"):
        declare(base, {"extra_channels": "noise"})
    assert declare(base, None) is base
