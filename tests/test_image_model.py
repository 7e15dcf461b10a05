"""ImageModel behaviour added for models brought from elsewhere (issue #14): tiles on the model's
size grid, undeclared inputs, --info style metadata, scale measured on the first run, batch sizing
for upscalers, and retries when a run runs out of memory."""
from __future__ import annotations

import logging

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

import imgen
from imgen.errors import ModelError

import onnx_models as om


def block_mean(path, block=8, metadata=None) -> str:
    """Each pixel becomes the mean of its block x block cell of the image's grid: a model that
    depends on where the grid lies, as a U-Net's downsampling does."""
    nodes = [
        helper.make_node("SpaceToDepth", ["x"], ["s"], blocksize=block),
        helper.make_node("ReduceMean", ["s"], ["m"], axes=[1], keepdims=1),
        helper.make_node("Tile", ["m", "reps"], ["t"]),
        helper.make_node("DepthToSpace", ["t"], ["y"], blocksize=block),
    ]
    reps = numpy_helper.from_array(np.array([1, block * block, 1, 1], np.int64), "reps")
    graph = helper.make_graph(nodes, "block_mean", [om._image("x", 1)], [om._image("y", 1)], initializer=[reps])
    return om._save(graph, path, om.meta(task="restore", channels=1, size_multiple=block, **(metadata or {})))


@pytest.mark.parametrize("shape", [(100, 150), (64, 203), (37, 41)])
def test_tiles_start_on_the_models_size_grid(tmp_path, rng, shape):
    model = imgen.load(block_mean(tmp_path / "b.onnx"))
    img = rng.random(shape, dtype=np.float32)
    whole = model(img, tile=0)
    grid = imgen.plan_tiles(*shape, tile=32, overlap=8, multiple=8)
    assert all(s % 8 == 0 for s in (*grid.row_starts, *grid.col_starts))
    np.testing.assert_allclose(model(img, tile=32, overlap=8), whole, atol=1e-6)


def test_plan_tiles_with_multiple_one_still_ends_flush():
    grid = imgen.plan_tiles(100, 150, tile=32, overlap=8, multiple=1)
    assert grid.row_starts[-1] == 100 - 32 and grid.col_starts[-1] == 150 - 32


def _without_noise_metadata(tmp_path) -> str:
    path = om.minus_noise(tmp_path / "n.onnx", 1, kind="scalar")
    proto = onnx.load(path)
    keep = [(p.key, p.value) for p in proto.metadata_props if p.key not in ("imgen.noise_input", "imgen.noise_kind")]
    del proto.metadata_props[:]
    for key, value in keep:
        entry = proto.metadata_props.add()
        entry.key, entry.value = key, value
    onnx.save(proto, path)
    return path


def test_an_undeclared_input_is_named_with_the_fix(tmp_path):
    path = _without_noise_metadata(tmp_path)
    with pytest.raises(ModelError, match=r"input\(s\) 'sigma' \['N', 1, 1, 1\] besides its image input 'x'.*"
                                         r"--info noise_input=sigma"):
        imgen.load(path)
    model = imgen.load(path, info={"noise_input": "sigma", "noise_kind": "scalar"})
    assert (model(np.full((4, 4), 100, np.uint8), sigma=25 / 255) == 75).all()
    same = imgen.ImageModel.open(path, metadata={"noise_input": "sigma", "noise_kind": "scalar"})
    assert same.info.noise_input == "sigma"


def test_metadata_overrides_are_parsed_and_checked_like_the_files(tmp_path):
    path = om.identity(tmp_path / "i.onnx", 3)
    assert imgen.ImageModel.open(path, metadata={"range": "-1,1", "tile": "64"}).info.value_range == (-1.0, 1.0)
    with pytest.raises(ModelError, match=r"unknown model info key\(s\) noise; known: task, channels"):
        imgen.Model.open(path, metadata={"noise": "sigma"})
    with pytest.raises(ModelError, match="imgen.scale must be an integer"):
        imgen.Model.open(path, metadata={"scale": "four"})


def test_the_command_line_takes_info(tmp_path, capsys):
    import cv2

    from imgen.cli import main

    path = _without_noise_metadata(tmp_path)
    cv2.imwrite(str(tmp_path / "a.png"), np.full((6, 5), 100, np.uint8))
    out = tmp_path / "out"
    assert main(["run", path, str(tmp_path / "a.png"), "-o", str(out), "-q", "--sigma", "25"]) == 1
    assert "--info noise_input=sigma" in capsys.readouterr().err
    assert main(["run", path, str(tmp_path / "a.png"), "-o", str(out), "-q", "--sigma", "25",
                 "--info", "noise_input=sigma", "--info", "noise_kind=scalar"]) == 0
    assert (cv2.imread(str(out / "a.png"), cv2.IMREAD_UNCHANGED) == 75).all()
    with pytest.raises(SystemExit):
        main(["run", path, str(tmp_path / "a.png"), "-o", str(out), "--info", "noise_input"])
    assert "must be KEY=VALUE" in capsys.readouterr().err


def test_scale_is_measured_on_the_first_run(tmp_path):
    model = imgen.load(om.upsample(tmp_path / "u.onnx", 3, 4, om.meta(task="restore", channels=3)))
    assert model.info.scale is None
    assert model(np.zeros((5, 6, 3), np.uint8)).shape == (20, 24, 3)
    assert model.info.scale == 4


def test_upscalers_run_fewer_tiles_per_batch(tmp_path, monkeypatch):
    model = imgen.load(om.upsample(tmp_path / "u.onnx", 3, 4, om.meta(task="restore", channels=3, scale=4)))
    plain = imgen.load(om.identity(tmp_path / "i.onnx", 3))
    sizes = []
    real = imgen.Model.run

    def counting(self, feeds):
        sizes.append((self.name, len(next(iter(feeds.values())))))
        return real(self, feeds)

    monkeypatch.setattr(imgen.Model, "run", counting)
    img = np.zeros((256, 256, 3), np.uint8)
    model(img, tile=64, overlap=8)
    plain(img, tile=64, overlap=8)
    # 4 tiles of 64x64 per run for the identity, 1 for the x4 upscaler (16 times the output pixels)
    assert max(n for name, n in sizes if name == "i") == 4 and max(n for name, n in sizes if name == "u") == 1
    sizes.clear()
    model(img, tile=64, overlap=8, batch_size=3)
    assert max(n for _, n in sizes) == 3


def test_out_of_memory_retries_one_tile_then_smaller_tiles(tmp_path, monkeypatch, caplog):
    model = imgen.load(om.identity(tmp_path / "i.onnx", 3))
    real = imgen.Model.run
    seen = []

    def tight(self, feeds):
        x = next(iter(feeds.values()))
        seen.append(x.shape)
        if x.shape[0] * x.shape[2] * x.shape[3] > 100 * 100:
            raise ModelError("model i failed: Failed to allocate memory for requested buffer") from MemoryError()
        return real(self, feeds)

    monkeypatch.setattr(imgen.Model, "run", tight)
    img = np.arange(300 * 200 * 3, dtype=np.uint32).reshape(300, 200, 3).astype(np.uint8)
    with caplog.at_level(logging.WARNING, logger="imgen"):
        out = model(img, overlap=4)  # the whole image, then tiles of 150 (a batch, then one), then 75
    np.testing.assert_array_equal(out, img)
    assert "running them in tiles of 150" in caplog.text and "retrying with 75x75 tiles" in caplog.text
    assert seen[-1][0] == 1 and max(seen[-1][2:]) <= 75
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="imgen"):
        np.testing.assert_array_equal(model(img, tile=150, overlap=4), img)  # a batch of tiles first
    assert "on a batch of tiles; running one tile at a time" in caplog.text
    assert "retrying with 75x75 tiles" in caplog.text

    def broken(self, feeds):
        raise ModelError("model i failed: some other error")

    monkeypatch.setattr(imgen.Model, "run", broken)
    with pytest.raises(ModelError, match="some other error"):
        model(img)


def test_out_of_memory_at_the_smallest_tile_says_so(tmp_path, monkeypatch):
    model = imgen.load(om.identity(tmp_path / "i.onnx", 1))

    def never(self, feeds):
        raise ModelError("model i failed: Failed to allocate memory") from MemoryError()

    monkeypatch.setattr(imgen.Model, "run", never)
    with pytest.raises(ModelError, match=r"out of memory even with one 64x64 tile at a time"):
        model(np.zeros((300, 300), np.uint8), tile=128)
