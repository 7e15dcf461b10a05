"""ImageModel behaviour added for models brought from elsewhere (issue #14): tiles on the model's
size grid, undeclared inputs, --info style metadata, scale measured on the first run, batch sizing
for upscalers, and retries when a run runs out of memory."""
from __future__ import annotations

import logging

import numpy as np
import onnx
import pytest
from onnx import helper, numpy_helper

import imgen
from imgen import engine
from imgen.errors import ModelError
from imgen.metrics import psnr

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


def run_shapes(monkeypatch) -> list[tuple]:
    """The shapes of the first input of every Model.run from now on (the list fills as runs happen)."""
    shapes = []
    real = imgen.Model.run

    def recording(self, feeds, outputs=None):
        shapes.append(next(iter(feeds.values())).shape)
        return real(self, feeds, outputs)

    monkeypatch.setattr(imgen.Model, "run", recording)
    return shapes


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
                                         r"info=\{'noise_input': 'sigma'\}$") as caught:
        imgen.load(path)
    assert "--info" not in str(caught.value)  # the library speaks library; the CLI says --info (below)
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


def test_scale_is_measured_on_each_run_and_the_shared_contract_never_changes(tmp_path):
    from concurrent.futures import ThreadPoolExecutor

    model = imgen.load(om.upsample(tmp_path / "u.onnx", 3, 4, om.meta(task="restore", channels=3)))
    info = model.info
    assert info.scale is None
    with ThreadPoolExecutor(4) as pool:  # serve runs several threads on one model
        shapes = list(pool.map(lambda n: model(np.zeros((5 + n % 3, 6, 3), np.uint8), tile=4, overlap=1).shape,
                               range(8)))
    assert shapes == [(20 + 4 * (n % 3), 24, 3) for n in range(8)]
    assert model(np.zeros((5, 6, 3), np.uint8)).shape == (20, 24, 3)
    assert model.info is info and info.scale is None


def test_upscalers_run_fewer_tiles_per_batch(tmp_path, monkeypatch):
    model = imgen.load(om.upsample(tmp_path / "u.onnx", 3, 4, om.meta(task="restore", channels=3, scale=4)))
    plain = imgen.load(om.identity(tmp_path / "i.onnx", 3))
    sizes = []
    real = imgen.Model.run

    def counting(self, feeds, outputs=None):
        sizes.append((self.name, len(next(iter(feeds.values())))))
        return real(self, feeds, outputs)

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

    def tight(self, feeds, outputs=None):
        x = next(iter(feeds.values()))
        seen.append(x.shape)
        if x.shape[0] * x.shape[2] * x.shape[3] > 100 * 100:
            raise ModelError("model i failed: Failed to allocate memory for requested buffer") from MemoryError()
        return real(self, feeds, outputs)

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

    def broken(self, feeds, outputs=None):
        raise ModelError("model i failed: some other error")

    monkeypatch.setattr(imgen.Model, "run", broken)
    with pytest.raises(ModelError, match="some other error"):
        model(img)


def test_out_of_memory_at_the_smallest_tile_says_so(tmp_path, monkeypatch):
    model = imgen.load(om.identity(tmp_path / "i.onnx", 1))

    def never(self, feeds, outputs=None):
        raise ModelError("model i failed: Failed to allocate memory") from MemoryError()

    monkeypatch.setattr(imgen.Model, "run", never)
    with pytest.raises(ModelError, match=r"out of memory even with one 64x64 tile at a time"):
        model(np.zeros((300, 300), np.uint8), tile=128)


def noise_channel(path, channels=1, metadata=None) -> str:
    """y = image - noise map, the map appended as the last input channel (DRUNet's layout)."""
    const = [numpy_helper.from_array(np.array([v], np.int64), name)
             for name, v in (("zero", 0), ("c", channels), ("c1", channels + 1), ("axis", 1))]
    nodes = [helper.make_node("Slice", ["x", "zero", "c", "axis"], ["img"]),
             helper.make_node("Slice", ["x", "c", "c1", "axis"], ["noise"]),
             helper.make_node("Sub", ["img", "noise"], ["y"])]
    graph = helper.make_graph(nodes, "noise_channel", [om._image("x", channels + 1)], [om._image("y", channels)],
                              initializer=const)
    meta = om.meta(task="denoise", channels=channels, input_channels=channels + 1, extra_channels="noise")
    meta.update(metadata or {})
    return om._save(graph, path, meta)


@pytest.mark.parametrize("units, fed", [("fraction", 25 / 255), ("255", 25 / 255)])
def test_a_noise_map_channel_is_appended_in_the_models_units(tmp_path, units, fed):
    extra = {"imgen.noise_units": units}
    if units == "255":  # y = x - map / 255: the model wants sigma on the 0-255 scale
        path = noise_channel(tmp_path / "n.onnx", 1, extra)
        proto = onnx.load(path)
        scale = numpy_helper.from_array(np.array(1 / 255, np.float32), "k")
        proto.graph.initializer.append(scale)
        proto.graph.node.insert(2, helper.make_node("Mul", ["noise", "k"], ["noise_scaled"]))
        proto.graph.node[3].input[1] = "noise_scaled"
        onnx.save(proto, path)
    else:
        path = noise_channel(tmp_path / "n.onnx", 1, extra)
    model = imgen.load(path)
    assert model.takes_noise_level and model.info.channels == 1
    assert (model(np.full((6, 7), 100, np.uint8), sigma=fed) == 75).all()
    tiled = model(np.full((70, 90), 100, np.uint8), sigma=fed, tile=32, overlap=8)
    assert (tiled == 75).all()


def test_a_noise_map_channel_the_file_does_not_declare_is_named(tmp_path):
    path = noise_channel(tmp_path / "n.onnx", 3, {"imgen.input_channels": "", "imgen.extra_channels": ""})
    proto = onnx.load(path)
    keep = [(p.key, p.value) for p in proto.metadata_props if p.value]
    del proto.metadata_props[:]
    for key, value in keep:
        entry = proto.metadata_props.add()
        entry.key, entry.value = key, value
    onnx.save(proto, path)
    with pytest.raises(ModelError, match=r"metadata says 3 input channels but the graph input has 4; if the last 1 "
                                         r"is a noise-level map.*info=\{'input_channels': 4, 'extra_channels': 'noise'\}"):
        imgen.load(path)
    model = imgen.load(path, info={"input_channels": 4, "extra_channels": "noise"})
    assert model(np.full((4, 4, 3), 0.5, np.float32), sigma=0.1).shape == (4, 4, 3)


def test_colour_into_a_four_channel_model_gets_an_opaque_alpha_only_when_declared(tmp_path):
    plain = imgen.load(om.identity(tmp_path / "p.onnx", 4, om.meta(task="restore", channels=4)))
    rgb = np.dstack([np.full((3, 3), v, np.uint8) for v in (10, 20, 30)])
    with pytest.raises(ValueError, match=r"takes 4 channels but does not say what the 4th is.*info=\{'extra_channels': 'alpha'\}$"):
        plain(rgb)
    rgba = np.dstack([rgb, np.full((3, 3), 99, np.uint8)])
    np.testing.assert_array_equal(plain(rgba), rgba)  # four in, four out: nothing to convert
    alpha = imgen.load(om.identity(tmp_path / "a.onnx", 4, om.meta(task="restore", channels=4,
                                                                    extra_channels="alpha")))
    with pytest.raises(ValueError, match=r"expects 4 channel.*color='ycbcr'"):
        alpha(rgb, color="strict")
    out = alpha(rgb)
    np.testing.assert_array_equal(out, np.dstack([rgb, np.full((3, 3), 255, np.uint8)]))  # R, G, B, opaque
    assert alpha(rgb[..., 0]).shape == (3, 3, 4)


def test_whole_image_models_run_whole_unless_tiles_are_asked_for(tmp_path, monkeypatch, caplog):
    model = imgen.load(om.identity(tmp_path / "w.onnx", 1, om.meta(task="restore", channels=1, whole_image="true")))
    shapes = run_shapes(monkeypatch)
    img = np.zeros((700, 600), np.uint8)
    model(img)
    assert shapes == [(1, 1, 700, 600)]
    with caplog.at_level(logging.WARNING, logger="imgen"):
        model(img, tile=256)
    assert "depends on the whole image" in caplog.text and len(shapes) > 2


def test_default_overlap_comes_from_the_receptive_field(tmp_path):
    path, _, _ = om.conv3x3(tmp_path / "c.onnx", 1, om.meta(task="restore", channels=1, receptive_field=1))
    model = imgen.load(path)
    assert model._tiling(None, None) == (512, 8)  # four radii, at least 8
    img = np.random.default_rng(0).random((300, 260), dtype=np.float32)
    np.testing.assert_allclose(model(img, tile=64), model(img, tile=0), atol=1e-5)
    declared, _, _ = om.conv3x3(tmp_path / "d.onnx", 1, om.meta(task="restore", channels=1, receptive_field=1,
                                                                  tile_overlap=20))
    assert imgen.load(declared)._tiling(None, None) == (512, 20)


def test_square_models_get_square_inputs(tmp_path, monkeypatch):
    model = imgen.load(om.identity(tmp_path / "s.onnx", 1, om.meta(task="restore", channels=1, square="true")))
    shapes = run_shapes(monkeypatch)
    img = np.arange(30 * 50, dtype=np.uint16).reshape(30, 50)
    np.testing.assert_array_equal(model(img), img)
    assert shapes[-1][2:] == (50, 50)
    big = np.arange(100 * 300, dtype=np.uint32).reshape(100, 300).astype(np.uint16)
    np.testing.assert_array_equal(model(big, tile=128, overlap=16), big)
    assert all(s[2] == s[3] for s in shapes)


def test_a_gray_image_on_a_colour_model_is_not_copied_to_three_channels_whole(tmp_path):
    # #33 item 1: an identity colour model peaked at 3.47 GB on a 20000^2 gray image (a 1-channel
    # one at 1.05 GB): the gray image was made a full-size RGB copy before tiling.  Now only a batch
    # of tiles is made three channels; the result is the same.
    import tracemalloc

    model = imgen.load(om.identity(tmp_path / "id3.onnx", channels=3))
    gray = np.random.default_rng(0).integers(0, 256, (4000, 4000), dtype=np.uint8)
    small = gray[:300, :400]
    np.testing.assert_array_equal(model(small, tile=0), np.dstack([small] * 3))
    tracemalloc.start()
    try:
        out = model(gray)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    np.testing.assert_array_equal(out, np.dstack([gray] * 3))
    # the output (46 MiB) and a batch of tiles (~28 MiB); the RGB copy added another 46 MiB
    assert peak < out.nbytes + 40 * 2**20, f"peak {peak / 2**20:.0f} MiB for a {out.nbytes / 2**20:.0f} MiB output"


def test_a_large_colour_image_on_a_gray_model_runs_one_plane_at_a_time(tmp_path):
    # #33 item 1: a 1-channel model on colour ("ycbcr") held the Y, Cb, Cr float planes and their
    # three outputs at once (24 bytes a pixel: 4.46 GB peak for 12000^2 through identity1).  From
    # pixels.PLANE_BY_PLANE_PIXELS each plane is made, run and kept before the next, 8-bit images as
    # uint16 planes; the result is the same.
    import tracemalloc

    from imgen import pixels

    model = imgen.load(om.identity(tmp_path / "id1.onnx", channels=1))
    img = np.random.default_rng(0).integers(0, 256, (2400, 2000, 3), dtype=np.uint8)
    assert img.shape[0] * img.shape[1] >= pixels.PLANE_BY_PLANE_PIXELS
    model(img[:64, :64])
    tracemalloc.start()
    try:
        out = model(img, color_order="bgr")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    np.testing.assert_array_equal(out, img)
    # two kept uint16 outputs, one uint16 plane and its output (2.7 x the image; then three kept
    # and the output, 3 x), plus a few batches of tiles and the merger's rows (~25 MiB here); all
    # three planes at once, float, with their outputs peaked at 10.7 x
    assert peak < 3.3 * img.nbytes + 30 * 2**20, f"peak {peak / 2**20:.0f} MiB for a {img.nbytes / 2**20:.0f} MiB image"


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, np.float32])
@pytest.mark.parametrize("channels", [3, 4])
def test_one_plane_at_a_time_is_the_batched_path(tmp_path, monkeypatch, dtype, channels):
    from imgen import pixels

    model = imgen.load(om.identity(tmp_path / "id1.onnx", channels=1))
    rng = np.random.default_rng(1)
    top = 1.0 if dtype == np.float32 else np.iinfo(dtype).max
    img = (rng.random((150, 130, channels)) * top).astype(dtype)
    if dtype != np.float32:
        img = np.rint(rng.random((150, 130, channels)) * top).astype(dtype)
    batched = model(img, color_order="bgr", tile=64, overlap=8)
    monkeypatch.setattr(pixels, "PLANE_BY_PLANE_PIXELS", 1)
    planes = model(img, color_order="bgr", tile=64, overlap=8)
    assert planes.dtype == batched.dtype and planes.shape == batched.shape == img.shape
    np.testing.assert_array_equal(planes, batched)
    if dtype != np.float32:
        np.testing.assert_array_equal(planes, img)


def _planes_and_batched(monkeypatch, model):
    import cv2

    from imgen import pixels

    rng = np.random.default_rng(2)
    clean = cv2.GaussianBlur(rng.integers(0, 256, (120, 140, 3)).astype(np.float32), (0, 0), 3)
    noisy = np.clip(np.rint(clean + rng.normal(0, 25, clean.shape)), 0, 255).astype(np.uint8)
    kwargs = {"sigma": 25 / 255} if model.takes_noise_level else {}
    batched = model(noisy, **kwargs)
    monkeypatch.setattr(pixels, "PLANE_BY_PLANE_PIXELS", 1)
    planes = model(noisy, **kwargs)
    assert planes.shape == batched.shape and planes.dtype == np.uint8
    return planes, batched, clean


@pytest.mark.parametrize("name", ["denoise-gray", "sr-x2"])
def test_one_plane_at_a_time_through_shipped_gray_models_is_within_one_level(monkeypatch, name):
    # the float files: one plane at a time feeds uint16 planes (1e-5 from the float ones)
    planes, batched, _ = _planes_and_batched(monkeypatch, imgen.load(engine.shipped_path(name)))
    assert np.abs(planes.astype(int) - batched).max() <= 1


def test_one_plane_at_a_time_through_the_int8_denoiser_keeps_its_quality(monkeypatch):
    # int8: the same 1e-5 input difference flips a few activations' rounding, and 12 quantized
    # layers spread that to a few levels here and there (measured: at most 6 levels, 44.6 dB
    # apart), which is int8's own noise: against the clean image both are equally good
    planes, batched, clean = _planes_and_batched(monkeypatch, imgen.load(engine.shipped_path("denoise-gray-int8")))
    assert np.abs(planes.astype(int) - batched).max() <= 12
    truth = np.clip(np.rint(clean), 0, 255).astype(np.uint8)
    assert abs(psnr(planes, truth, data_range=255) - psnr(batched, truth, data_range=255)) < 0.05


def test_a_plan_is_chosen_per_image_size_and_the_contract_stays_put(tmp_path):
    """ImageModel._plan: whole (batched) when the image fits the tile, tiles when it does not; each
    out-of-memory step is the plan's own (Whole -> one image in half-side tiles, Tiled -> one tile
    per run -> half tiles -> none below the least); the shared contract is never rewritten."""
    from imgen.image_model import StatsTiled, Tiled, Whole

    model = imgen.load(om.identity(tmp_path / "i.onnx", 3))
    info = model.info
    run = model._run_options(tile=128, overlap=16, color_order="rgb", batch_size=None, clamp=False,
                             whole_pixels=None)
    assert isinstance(model._plan(100, 120, run), Whole)
    tiled = model._plan(300, 200, run)
    assert tiled == Tiled(128, 16, None)
    assert tiled.smaller(64) == Tiled(128, 16, 1) and Tiled(128, 16, 1).smaller(64) == Tiled(64, 16, 1)
    assert Tiled(64, 16, 1).smaller(64) is None
    assert Whole(4).smaller(300, 200, run) == Tiled(150, 16, 1)
    assert Whole(4).smaller(300, 200, replace_stats(run)) == StatsTiled(150, 16, 1, 300 * 200 // 4)
    with pytest.raises(ValueError, match="batch_size must be >= 1"):
        model._run_options(tile=None, overlap=None, color_order="rgb", batch_size=0, clamp=False, whole_pixels=None)
    model(np.zeros((300, 200, 3), np.uint8), tile=128, overlap=16)
    assert model.info is info


def replace_stats(run):
    import dataclasses

    return dataclasses.replace(run, stats=True)
