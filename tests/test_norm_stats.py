"""Instance-norm statistics out of and into a model file: the export-side rewrite
(imgen_train.norm_stats, onnx only) and the engine's contract (imgen.norm_stats) and passes
(ImageModel: whole within the pixel budget, else a downscaled statistics pass and tiles fed it)."""
from __future__ import annotations

import logging

import numpy as np
import onnx
import onnxruntime as ort
import pytest

import imgen
from imgen.errors import ModelError
from imgen_train.norm_stats import expose_instance_norm_stats

import onnx_models as om
from test_image_model import run_shapes


def rewritten(src, dst, metadata=True) -> str:
    proto = onnx.load(str(src))
    assert expose_instance_norm_stats(proto) == 1
    if metadata:
        entry = proto.metadata_props.add()
        entry.key, entry.value = "imgen.norm_stats", "instance"
    onnx.save(proto, str(dst))
    return str(dst)


@pytest.fixture
def pair(tmp_path):
    """(plain, rewritten) instance-norm nets: translate, 3 channels, range [-1, 1], whole_image."""
    meta = om.meta(task="translate", channels=3, range="-1,1", whole_image="true", tile=0, receptive_field=2)
    plain = om.instance_norm_net(tmp_path / "plain.onnx", 3, metadata=meta)
    return plain, rewritten(plain, tmp_path / "stats.onnx")


def photo(h=96, w=128, seed=0) -> np.ndarray:
    """Smooth colour image whose statistics vary across it (a tile's differ from the whole's)."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:h, 0:w] / max(h, w)
    base = np.stack([np.sin(5 * x + 2 * y), np.cos(7 * y) * x, x * y], -1)
    return np.clip((base + 1) * 100 + rng.normal(0, 8, (h, w, 3)), 0, 255).astype(np.uint8)


def session(path):
    opts = ort.SessionOptions()
    opts.log_severity_level = 3
    return ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])


# -- the rewrite (export side) ------------------------------------------------------------------

def test_rewritten_file_equals_the_plain_one_without_feeds(pair):
    plain, stats = pair
    x = np.random.default_rng(1).uniform(-1, 1, (2, 3, 37, 53)).astype(np.float32)
    want = session(plain).run(None, {"x": x})[0]
    sess = session(stats)
    assert [i.name for i in sess.get_inputs()] == ["x"]  # the given statistics are optional
    assert {i.name for i in sess.get_overridable_initializers()} >= {
        "imgen_use_given_stats", "imgen_report_stats", "imgen_given_mean_0", "imgen_given_var_0"}
    got = sess.run(None, {"x": x})[0]
    np.testing.assert_allclose(got, want, atol=1e-5)
    _, mean, var = sess.run(["y", "imgen_stat_mean_0", "imgen_stat_var_0"],
                            {"x": x, "imgen_report_stats": np.array(True)})
    assert mean.shape == var.shape == (2, 8, 1, 1) and np.all(var > 0)
    # own statistics fed back as given ones: the same output
    again = sess.run(["y"], {"x": x[:1], "imgen_use_given_stats": np.array(True),
                             "imgen_given_mean_0": mean[:1], "imgen_given_var_0": var[:1]})[0]
    np.testing.assert_allclose(again, want[:1], atol=1e-5)
    # other statistics change it: the switch is not folded away
    other = sess.run(["y"], {"x": x[:1], "imgen_use_given_stats": np.array(True),
                             "imgen_given_mean_0": mean[:1] + 1, "imgen_given_var_0": var[:1]})[0]
    assert np.abs(other - want[:1]).max() > 0.05


def test_rewrite_refuses_what_it_cannot_do(pair, tmp_path):
    _, stats = pair
    assert expose_instance_norm_stats(onnx.load(stats)) == 0  # no InstanceNormalization left
    proto = onnx.load(om.identity(tmp_path / "i.onnx", 3))
    assert expose_instance_norm_stats(proto) == 0  # nothing to rewrite: unchanged
    proto = onnx.load(pair[0])
    scale = next(t for t in proto.graph.initializer if t.name == "s")
    proto.graph.initializer.remove(scale)
    proto.graph.input.append(onnx.helper.make_tensor_value_info("s", onnx.TensorProto.FLOAT, [8]))
    with pytest.raises(ValueError, match="scale 's' is not an initializer"):
        expose_instance_norm_stats(proto)


# -- the engine ---------------------------------------------------------------------------------

def test_images_within_the_budget_run_whole(pair, monkeypatch):
    plain, stats = pair
    model = imgen.load(stats)
    assert model.norm_stats is not None and model.norm_stats.channels == (8, 8)
    img = photo()
    want = imgen.load(plain)(img)
    shapes = run_shapes(monkeypatch)
    out = model(img, whole_pixels=96 * 128)
    assert shapes == [(1, 3, 96, 128)]
    assert np.abs(out.astype(int) - want).max() <= 1


def test_tiles_fed_whole_image_statistics_match_the_whole_image(pair):
    plain, stats = pair
    img = photo().astype(np.float32) / 255
    model = imgen.load(stats)
    whole = model(img, tile=0)
    # the receptive field is 2 pixels: an overlap of 16 hides every seam; own-statistics tiles cannot
    tiled = model(img, tile=48, overlap=16)  # 96x128 is within the budget: statistics of the whole image
    np.testing.assert_allclose(tiled, whole, atol=2e-5)
    own = imgen.load(plain)(img, tile=48, overlap=16)
    assert np.abs(own - whole).max() > 0.02


def test_over_the_budget_a_downscaled_statistics_pass_feeds_the_tiles(pair, monkeypatch, caplog):
    plain, stats = pair
    img = photo(192, 256)
    model = imgen.load(stats)
    whole = model(img, tile=0).astype(float)
    shapes = run_shapes(monkeypatch)
    with caplog.at_level(logging.INFO, logger="imgen"):
        out = model(img, whole_pixels=96 * 128, overlap=16)
    assert "statistics from a 128x96 copy" in caplog.text
    assert shapes[0] == (1, 3, 96, 128)  # the statistics pass, then tiles of the budget's square (108 -> 108)
    assert all(s[2] <= 110 and s[3] <= 110 for s in shapes[1:]) and len(shapes) > 1
    own = imgen.load(plain)(img, tile=110, overlap=16).astype(float)

    def psnr(a):
        return 10 * np.log10(255**2 / np.mean((a - whole) ** 2))

    assert psnr(out.astype(float)) > psnr(own) + 6  # fed statistics, not each tile's own


def test_a_tiny_budget_keeps_a_usable_statistics_copy(pair, monkeypatch):
    """whole_pixels=1 would shrink the copy to 1x1 (too small for the net's reflection padding):
    its sides stop at MIN_STATS_SIDE (16), or the image's own when smaller."""
    _, stats = pair
    model = imgen.load(stats)
    shapes = run_shapes(monkeypatch)
    out = model(photo(150, 300), whole_pixels=1)
    assert out.shape == (150, 300, 3) and shapes[0] == (1, 3, 16, 16)
    shapes.clear()
    model(photo(8, 300), whole_pixels=1)
    assert shapes[0] == (1, 3, 8, 16)


def test_old_files_without_the_inputs_still_run_whole(pair, monkeypatch):
    plain, _ = pair
    model = imgen.load(plain)
    assert model.norm_stats is None
    shapes = run_shapes(monkeypatch)
    model(photo(), whole_pixels=1000)
    assert shapes == [(1, 3, 96, 128)]


def test_statistics_outputs_are_never_taken_for_the_image(pair, tmp_path):
    _, stats = pair
    proto = onnx.load(stats)
    outs = list(proto.graph.output)
    del proto.graph.output[:]
    proto.graph.output.extend(outs[1:] + outs[:1])  # the statistics first
    onnx.save(proto, str(tmp_path / "first.onnx"))
    img = photo()
    np.testing.assert_array_equal(imgen.load(str(tmp_path / "first.onnx"))(img), imgen.load(stats)(img))


def test_hostile_and_mismatched_files_and_options(pair, tmp_path):
    plain, stats = pair
    with pytest.raises(ModelError, match="no optional input 'imgen_use_given_stats'"):
        imgen.ImageModel.open(plain, metadata={"norm_stats": "instance"})
    with pytest.raises(ModelError, match="imgen.norm_stats must be 'instance'"):
        imgen.ImageModel.open(stats, metadata={"norm_stats": "batch"})
    proto = onnx.load(stats)
    var = next(o for o in proto.graph.output if o.name == "imgen_stat_var_0")
    proto.graph.output.remove(var)
    onnx.save(proto, str(tmp_path / "novar.onnx"))
    with pytest.raises(ModelError, match="layer 0 lacks output imgen_stat_var_0"):
        imgen.load(str(tmp_path / "novar.onnx"))
    model = imgen.load(stats)
    for bad in (0, -5, 2.5, True):
        with pytest.raises(ValueError, match="whole_pixels must be a positive integer"):
            model(photo(), whole_pixels=bad)
    with pytest.raises(ModelError, match=r"expected \(1, 8, 1, 1\)"):
        model.norm_stats.feeds([np.zeros((1, 4, 1, 1)), np.ones((1, 8, 1, 1))])
    with pytest.raises(ModelError, match="NaN or Inf"):
        model.norm_stats.feeds([np.full((1, 8, 1, 1), np.nan), np.ones((1, 8, 1, 1))])


def test_processors_and_the_command_line_pass_the_budget(pair, tmp_path, monkeypatch, capsys):
    import cv2

    from imgen.cli import main
    from imgen.processors import FrameProcessor, ProcessorOptions

    _, stats = pair
    img = photo(96, 128)
    shapes = run_shapes(monkeypatch)
    FrameProcessor(ProcessorOptions(model=stats, whole_pixels=48 * 64))([img])
    assert shapes[0] == (1, 3, 48, 64) and len(shapes) > 1  # statistics at half size, then tiles
    with pytest.raises(imgen.ImgenError, match="whole_pixels must be >= 1"):
        ProcessorOptions(model=stats, whole_pixels=0)
    cv2.imwrite(str(tmp_path / "a.png"), img)
    shapes.clear()
    assert main(["run", stats, str(tmp_path / "a.png"), "-o", str(tmp_path / "o"), "--whole-pixels", "3072",
                 "-q"]) == 0
    assert shapes[0] == (1, 3, 48, 64)
    with pytest.raises(SystemExit):
        main(["run", stats, str(tmp_path / "a.png"), "-o", str(tmp_path / "o"), "--whole-pixels", "0"])
    assert "--whole-pixels: must be an integer >= 1" in capsys.readouterr().err


def test_out_of_memory_on_the_whole_image_falls_back_to_statistics_and_tiles(pair, monkeypatch, caplog):
    _, stats = pair
    model = imgen.load(stats)
    real = imgen.Model.run
    seen = []

    def tight(self, feeds, outputs=None):
        x = feeds["x"]
        seen.append(x.shape)
        if x.shape[0] * x.shape[2] * x.shape[3] > 64 * 64:
            raise ModelError("model stats failed: Failed to allocate memory for requested buffer") from MemoryError()
        return real(self, feeds, outputs)

    monkeypatch.setattr(imgen.Model, "run", tight)
    with caplog.at_level(logging.WARNING, logger="imgen"):
        out = model(photo())
    assert "running them in tiles of 64" in caplog.text
    assert seen[0] == (1, 3, 96, 128) and seen[1] == (1, 3, 48, 64)  # whole, then statistics at a quarter
    assert out.shape == (96, 128, 3) and all(s[2] <= 64 and s[3] <= 64 for s in seen[2:])
