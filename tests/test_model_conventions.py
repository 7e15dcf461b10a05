"""A model's conventions are data (docs/model-format.md): imgen.range, imgen.color_space,
imgen.pre_upsample and imgen.scale, honoured in one place (the model call, ``imgen.pixels.prepare``),
so ``imgen.load(m)(img)``, ``imgen.restore``, ``imgen run`` / ``restore`` / ``video``, serve and Ray
give the same pixels; and one colour policy (``color=``) for a gray model on colour images."""
from __future__ import annotations

import threading

import cv2
import numpy as np
import pytest

import imgen
from imgen import degrade
from imgen.cli import main
from imgen.errors import ModelError

import onnx_models as om

# MATLAB's rgb2ycbcr for R, G, B in [0, 1] (the reference the tests compute on their own)
STUDIO = np.array([[65.481, 128.553, 24.966], [-37.797, -74.203, 112.0], [112.0, -93.786, -18.214]]) / 255
STUDIO_OFFSET = np.array([16.0, 128.0, 128.0]) / 255
GAIN, OFFSET = 0.9, 0.05


@pytest.fixture
def vdsr_like(tmp_path):
    """A toy VDSR: a scale-1 graph (y = 0.9 x + 0.05) on Y, declared x2 with MATLAB-bicubic pre-upsampling."""
    return om.affine(tmp_path / "toy.onnx", 1, GAIN, OFFSET,
                     om.meta(task="sr", channels=1, scale=2, pre_upsample="bicubic", color_space="y"))


def _expected_vdsr(rgb: np.ndarray) -> np.ndarray:
    """What the SR papers' protocol gives for an RGB uint8 image: Y (MATLAB studio range) enlarged by
    MATLAB bicubic and through the net, Cb and Cr enlarged by MATLAB bicubic, back to RGB."""
    ycc = rgb / 255.0 @ STUDIO.T + STUDIO_OFFSET
    up = [degrade.upscale(ycc[..., c].astype(np.float32), 2).astype(np.float64) for c in range(3)]
    up[0] = GAIN * up[0] + OFFSET
    out = (np.stack(up, axis=2) - STUDIO_OFFSET) @ np.linalg.inv(STUDIO).T
    return np.clip(np.rint(out * 255), 0, 255).astype(np.uint8)


def test_a_y_pre_upsampling_model_follows_the_sr_papers_protocol(vdsr_like, rng):
    model = imgen.load(vdsr_like)
    assert (model.info.scale, model.info.graph_scale, model.info.color_space) == (2, 1, "y")
    rgb = rng.integers(0, 256, (13, 11, 3), dtype=np.uint8)
    out = model(rgb)
    assert out.shape == (26, 22, 3) and out.dtype == np.uint8
    assert np.abs(out.astype(int) - _expected_vdsr(rgb)).max() <= 1
    np.testing.assert_array_equal(model(rgb[..., ::-1].copy(), color_order="bgr"), out[..., ::-1])
    # gray: the gray as Y (R = G = B) through the model and back to gray
    gray = rng.integers(0, 256, (9, 8), dtype=np.uint8)
    y = degrade.upscale((16 + gray * (219 / 255.0)).astype(np.float32) / 255, 2).astype(np.float64)
    want = np.clip(np.rint(((GAIN * y + OFFSET) * 255 - 16) * (255 / 219)), 0, 255)
    got = model(gray)
    assert got.shape == (18, 16) and np.abs(got.astype(int) - want).max() <= 1
    # uint16 and float in, the same dtype out; RGBA keeps an alpha resized to the output
    assert model(rgb.astype(np.uint16) * 257).dtype == np.uint16
    assert model(rgb / 255.0).dtype == np.float64
    assert model(np.dstack([rgb, rgb[..., :1]])).shape == (26, 22, 4)


def test_pre_upsampling_then_tiles_of_the_scale_1_graph_match_the_whole_image(tmp_path, rng):
    path, weight, bias = om.conv3x3(tmp_path / "c.onnx", 1, om.meta(task="sr", channels=1, scale=3,
                                                                     pre_upsample="bicubic"))
    model = imgen.load(path)
    gray = rng.random((23, 19), dtype=np.float32)
    whole = model(gray, tile=0)
    up = degrade.upscale(gray, 3)
    padded = np.pad(up.astype(np.float64), 1)
    conv = sum(weight[0, 0, i, j] * padded[i:i + 69, j:j + 57] for i in range(3) for j in range(3)) + bias[0]
    np.testing.assert_allclose(whole, conv, atol=1e-5)  # the graph ran on the MATLAB-upscaled image
    tiled = model(gray, tile=24, overlap=8)  # tiles in the graph's (upscaled) pixels
    assert tiled.shape == whole.shape == (69, 57)
    np.testing.assert_allclose(tiled, whole, atol=1e-5)


def test_a_range_0_255_model_gets_0_255_tensors_through_every_door(tmp_path, rng):
    # y = x - 10: ten gray levels darker in 0-255 tensors; under a 0-1 assumption everything turns black
    path = om.affine(tmp_path / "r.onnx", 3, 1.0, -10.0, om.meta(task="restore", channels=3, range="0,255"))
    image = rng.integers(20, 256, (12, 10, 3), dtype=np.uint8)
    want = image - 10
    np.testing.assert_array_equal(imgen.load(path)(image), want)
    np.testing.assert_array_equal(imgen.restore(image, model=path), want)
    np.testing.assert_allclose(imgen.load(path)(image / 255.0), want / 255.0, atol=1e-5)
    cv2.imwrite(str(tmp_path / "a.png"), image)
    assert main(["run", path, str(tmp_path / "a.png"), "-o", str(tmp_path / "out"), "-q"]) == 0
    np.testing.assert_array_equal(cv2.imread(str(tmp_path / "out" / "a.png")), want)


def test_the_model_call_restore_cli_video_and_serve_give_the_same_pixels(vdsr_like, tmp_path, rng):
    rgb = rng.integers(0, 256, (16, 14, 3), dtype=np.uint8)
    api = imgen.load(vdsr_like)(rgb)
    np.testing.assert_array_equal(imgen.restore(rgb, task="sr", model=vdsr_like), api)
    src = tmp_path / "in"
    src.mkdir()
    cv2.imwrite(str(src / "a.png"), rgb[..., ::-1])
    assert main(["restore", str(src), "-o", str(tmp_path / "out"), "--task", "sr", "--model", vdsr_like, "-q"]) == 0
    np.testing.assert_array_equal(cv2.imread(str(tmp_path / "out" / "a.png"))[..., ::-1], api)
    assert main(["run", vdsr_like, str(src), "-o", str(tmp_path / "run"), "-q"]) == 0
    np.testing.assert_array_equal(cv2.imread(str(tmp_path / "run" / "a.png"))[..., ::-1], api)
    frames = tmp_path / "frames"
    frames.mkdir()
    clips = [rgb, rng.integers(0, 256, (16, 14, 3), dtype=np.uint8)]
    for i, frame in enumerate(clips):
        cv2.imwrite(str(frames / f"{i:06d}.png"), frame[..., ::-1])
    assert main(["video", str(frames), "-o", str(tmp_path / "vout"), "--task", "sr", "--model", vdsr_like]) == 0
    written = sorted((tmp_path / "vout").glob("*.png"))
    assert len(written) == 2
    for path, frame in zip(written, clips):
        np.testing.assert_array_equal(cv2.imread(str(path))[..., ::-1], imgen.load(vdsr_like)(frame))


def test_serve_runs_the_models_conventions(vdsr_like, rng):
    pytest.importorskip("starlette")
    pytest.importorskip("httpx2")
    from starlette.testclient import TestClient

    from imgen.serve.app import Limits, create_app
    from imgen.serve.models import serve_models

    rgb = rng.integers(0, 256, (12, 10, 3), dtype=np.uint8)
    app = create_app(serve_models([vdsr_like]), limits=Limits(max_body=200_000, max_pixels=100_000))
    with TestClient(app) as client:
        ok, png = cv2.imencode(".png", rgb[..., ::-1])
        r = client.post("/v1/models/toy", content=png.tobytes())
    assert r.status_code == 200, r.text
    out = cv2.imdecode(np.frombuffer(r.content, np.uint8), cv2.IMREAD_UNCHANGED)
    np.testing.assert_array_equal(out[..., ::-1], imgen.load(vdsr_like)(rgb))


def test_a_gray_model_gives_the_same_pixels_through_the_call_restore_and_the_cli(tmp_path, rng):
    rgb = rng.integers(0, 256, (40, 36, 3), dtype=np.uint8)
    model = imgen.load("denoise-gray")
    api = model(rgb, sigma=25 / 255)
    assert api.shape == rgb.shape and api.dtype == np.uint8  # colour kept (color="ycbcr", the default)
    np.testing.assert_array_equal(imgen.restore(rgb, model="denoise-gray", sigma=25 / 255), api)
    np.testing.assert_array_equal(model([rgb], sigma=25 / 255)[0], api)
    src = tmp_path / "in"
    src.mkdir()
    cv2.imwrite(str(src / "a.png"), rgb[..., ::-1])
    assert main(["denoise", str(src), "-o", str(tmp_path / "out"), "--model", "denoise-gray", "--sigma", "25",
                 "-q"]) == 0
    np.testing.assert_array_equal(cv2.imread(str(tmp_path / "out" / "a.png"))[..., ::-1], api)
    assert model(rgb, sigma=25 / 255, color="luma").shape == (40, 36, 1)


def test_a_float64_image_comes_back_float64(tmp_path, rng):
    model = imgen.load(om.identity(tmp_path / "i.onnx", 3, om.meta(task="restore", channels=3)))
    image = rng.random((6, 7, 3))
    out = model(image)
    assert out.dtype == np.float64
    np.testing.assert_allclose(out, image, atol=1e-7)
    assert model(image[None]).dtype == np.float64 and model([image])[0].dtype == np.float64
    gray = imgen.load("denoise-gray")(image, sigma=0.05)
    assert gray.dtype == np.float64 and gray.shape == image.shape
    same = imgen.restore(image, model="denoise-gray", sigma=0.05)
    assert same.dtype == np.float64
    np.testing.assert_array_equal(same, gray)
    assert imgen.restore(image, task="sr", method="bicubic", scale=2).dtype == np.float64


@pytest.mark.parametrize("metadata, match", [
    ({"range": "0,1e308"}, r"imgen.range 0,1e\+308 does not fit float32 tensors"),
    ({"range": "-1e300,0"}, r"imgen.range .* does not fit float32 tensors"),
    ({"range": "1000,1000.001"}, r"imgen.range .* does not fit float32 tensors"),
    ({"pre_upsample": "bicubic"}, r"imgen.pre_upsample bicubic needs imgen.scale.*got None"),
    ({"pre_upsample": "bicubic", "scale": "1"}, r"imgen.pre_upsample bicubic needs imgen.scale.*got 1"),
    ({"pre_upsample": "lanczos", "scale": "2"}, r"imgen.pre_upsample must be 'bicubic', got 'lanczos'"),
    ({"color_space": "ycbcr"}, r"imgen.color_space must be 'rgb' or 'y'"),
])
def test_conventions_that_cannot_run_are_refused_at_load_naming_the_key(tmp_path, metadata, match):
    path = om.identity(tmp_path / "m.onnx", 1, om.meta(task="restore", channels=1, **metadata))
    with pytest.raises(ModelError, match=match):
        imgen.load(path)


def test_y_colour_space_is_for_one_channel_models(tmp_path):
    with pytest.raises(ModelError, match=r"imgen.color_space y is for 1-channel models.*3 channels"):
        imgen.load(om.identity(tmp_path / "m.onnx", 3, om.meta(task="restore", color_space="y")))


def test_a_pre_upsampling_graph_that_upscales_is_refused_on_the_first_run(tmp_path):
    model = imgen.load(om.upsample(tmp_path / "u.onnx", 1, 2, om.meta(task="sr", channels=1, scale=2,
                                                                        pre_upsample="bicubic")))
    with pytest.raises(ModelError, match="imgen.pre_upsample .* the graph must keep the size"):
        model(np.zeros((4, 4), np.uint8))


def test_threads_share_one_model_and_its_contract(vdsr_like, rng):
    model = imgen.load(vdsr_like)
    info = model.info
    images = [rng.integers(0, 256, (8 + k, 9, 3), dtype=np.uint8) for k in range(6)]
    want = [model(im) for im in images]
    got = [None] * len(images)

    def work(k):
        got[k] = model(images[k], tile=8, overlap=2)

    threads = [threading.Thread(target=work, args=(k,)) for k in range(len(images))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for g, w in zip(got, want):
        assert np.abs(g.astype(int) - w).max() <= 1  # tiles blend within a level of the whole image
    assert model.info is info


def test_imgen_info_shows_the_conventions(tmp_path, capsys):
    path = om.affine(tmp_path / "v.onnx", 1, 1.0, 0.0, om.meta(
        task="sr", channels=1, scale=2, pre_upsample="bicubic", color_space="y",
        published="Set5 x2 Y PSNR 37.53 dB (Kim et al. 2016, Table 3)"))
    assert main(["info", path]) == 0
    out = capsys.readouterr().out
    lines = {line.split()[0]: line for line in out.splitlines() if line.strip()}
    assert "bicubic" in lines["pre_upsample"] and "declared" in lines["pre_upsample"]
    assert lines["color_space"].split()[1] == "y"
    assert "Set5 x2 Y PSNR 37.53 dB (Kim et al. 2016, Table 3)" in lines["published"]


def test_bench_shows_the_models_published_figure_beside_its_measured_one(vdsr_like, tmp_path, capsys):
    import onnx

    proto = onnx.load(vdsr_like)
    entry = proto.metadata_props.add()
    entry.key, entry.value = "imgen.published", "Set5 x2 Y 37.53 dB (Kim et al. 2016)"
    onnx.save(proto, vdsr_like)
    images = tmp_path / "imgs"
    images.mkdir()
    ramp = np.tile(np.arange(48, dtype=np.uint8)[:, None] * 5, (1, 40))
    cv2.imwrite(str(images / "a.png"), np.dstack([ramp, ramp[::-1], ramp // 2]))
    out = tmp_path / "out"
    assert main(["bench", "--task", "sr", "--scale", "2", "--images", str(images), "--methods", "lanczos",
                 "--models", vdsr_like, "--repeats", "1", "--out", str(out), "-q"]) == 0
    table = capsys.readouterr().out
    line = next(x for x in table.splitlines() if x.strip().startswith("toy:"))
    assert "measured color scale 2:" in line and "published: Set5 x2 Y 37.53 dB (Kim et al. 2016)" in line
    assert "Set5 x2 Y 37.53 dB (Kim et al. 2016)" in (out / "index.html").read_text()


def test_imgen_video_on_a_video_file_gives_the_model_calls_pixels(vdsr_like, tmp_path):
    pytest.importorskip("av")
    from pathlib import Path

    from imgen.video.source import VideoFileSource
    from video_clips import make_clip

    clip = make_clip(tmp_path / "in.mkv", frames=3, width=32, height=24, audio=False)
    source = VideoFileSource(Path(clip), copy_streams=False)
    try:
        decoded = [f.image for f in source.frames()]
    finally:
        source.close()
    out = tmp_path / "out"
    assert main(["video", str(clip), "-o", str(out / "%06d.png"), "--task", "sr", "--model", vdsr_like, "-q"]) == 0
    written = sorted(out.glob("*.png"))
    assert len(written) == len(decoded) == 3
    model = imgen.load(vdsr_like)
    for path, frame in zip(written, decoded):
        np.testing.assert_array_equal(cv2.imread(str(path))[..., ::-1], model(frame))


def test_ray_workers_run_the_models_conventions(ray_cluster, vdsr_like, tmp_path, rng, monkeypatch):
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))  # Ray's log file in the test's folder
    src = tmp_path / "in"
    src.mkdir()
    images = {f"im{i}.png": rng.integers(0, 256, (10 + i, 12, 3), dtype=np.uint8) for i in range(3)}
    for name, image in images.items():
        cv2.imwrite(str(src / name), image[..., ::-1])
    out = tmp_path / "ray"
    assert main(["restore", str(src), "-o", str(out), "--task", "sr", "--model", vdsr_like, "-q",
                 "--ray", "--workers", "2"]) == 0
    model = imgen.load(vdsr_like)
    for name, image in images.items():
        np.testing.assert_array_equal(cv2.imread(str(out / name))[..., ::-1], model(image))
