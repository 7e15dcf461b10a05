"""imgen_train.import_matconvnet: MATLAB v7.3 simplenn files of DnCNN/FFDNet, synthetic ones written
here with h5py, and the papers' figures reproduced from the original releases when the shared data is
there (research files, read through IMGEN_SHARED only)."""
from __future__ import annotations

import math

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="imgen_train needs torch (pip install torch, then imgen[train])")
pytest.importorskip("onnxscript", reason="the dynamo ONNX exporter needs onnxscript (imgen[train])")
h5py = pytest.importorskip("h5py", reason="MatConvNet files need h5py (imgen[import])")

import imgen  # noqa: E402
from imgen.cli import main as cli_main  # noqa: E402
from imgen_train.import_matconvnet import MatConvNetError, fold, load_matconvnet, unfold  # noqa: E402


def _chars(f, name, text):
    ds = f.create_dataset(name, data=np.array([[ord(c)] for c in text], np.uint16))
    ds.attrs["MATLAB_class"] = np.bytes_("char")


def write_mat(path, layers):
    """layers: [(type, {"weights": [torch filters (cout, cin, kh, kw), bias], "scale": s, ...})],
    stored as MATLAB v7.3 does (column-major: axes reversed)."""
    with h5py.File(path, "w") as f:
        refs_group = f.create_group("#refs#")
        refs = []
        for k, (kind, opts) in enumerate(layers):
            g = refs_group.create_group(f"l{k}")
            _chars(g, "type", kind)
            _chars(g, "name", f"layer{k + 1}")
            for key in ("pad", "stride", "scale", "leak"):
                if key in opts:
                    g.create_dataset(key, data=np.array([[opts[key]]], np.float64))
            if "weights" in opts:
                w, b = opts["weights"]
                wref = refs_group.create_dataset(f"w{k}", data=np.ascontiguousarray(w.numpy().transpose(0, 1, 3, 2)))
                bref = refs_group.create_dataset(f"b{k}", data=b.numpy().reshape(1, -1))
                g.create_dataset("weights", data=np.array([[wref.ref], [bref.ref]], dtype=h5py.ref_dtype))
            refs.append(g.ref)
        f.create_group("net").create_dataset("layers", data=np.array([[r] for r in refs], dtype=h5py.ref_dtype))
    return path


def conv(cin, cout, g):
    return ("conv", {"weights": [torch.randn(cout, cin, 3, 3, generator=g) * 0.2,
                                 torch.randn(cout, generator=g) * 0.01], "pad": 1, "stride": 1})


def test_dncnn_file_runs_as_its_layers_say(tmp_path):
    g = torch.Generator().manual_seed(0)
    layers = [conv(1, 6, g), ("relu", {"leak": 0}), conv(6, 1, g)]
    net, info = load_matconvnet(write_mat(tmp_path / "d.mat", layers))
    assert (info.task, info.channels, info.noise_input, info.receptive_field) == ("denoise", 1, None, 2)
    x = torch.rand(1, 1, 9, 7)
    (w1, b1), (w2, b2) = layers[0][1]["weights"], layers[2][1]["weights"]
    noise = torch.nn.functional.conv2d(torch.relu(torch.nn.functional.conv2d(x, w1, b1, padding=1)), w2, b2, padding=1)
    with torch.no_grad():
        torch.testing.assert_close(net(x), x - noise)


def test_fold_is_matlab_block_order_and_unfold_inverts_it():
    x = torch.arange(2 * 4 * 6, dtype=torch.float32).reshape(1, 2, 4, 6)
    y = fold(x)
    assert y.shape == (1, 8, 2, 3)
    # channel c*4 + i*2 + j holds pixel (2y + j, 2x + i): column-major within each 2x2 block
    assert y[0, 0 * 4 + 0 * 2 + 1, 0, 0] == x[0, 0, 1, 0] and y[0, 1 * 4 + 0 * 2 + 1, 1, 2] == x[0, 1, 3, 4]
    assert y[0, 1 * 4 + 1 * 2 + 0, 1, 2] == x[0, 1, 2, 5]
    torch.testing.assert_close(unfold(y), x)


def test_ffdnet_file_imports_with_a_sigma_input(tmp_path, capsys):
    g = torch.Generator().manual_seed(1)
    layers = [("SubP", {"scale": 0.5}), ("concat", {}), conv(5, 8, g), ("relu", {}), conv(8, 4, g),
              ("SubP", {"scale": 2})]
    mat = write_mat(tmp_path / "f.mat", layers)
    assert cli_main(["import", str(mat), "-o", str(tmp_path / "f.onnx")]) == 0
    m = imgen.load(str(tmp_path / "f.onnx"), providers=["cpu"])
    assert (m.info.noise_input, m.info.noise_kind, m.info.noise_units, m.info.size_multiple) == (
        "sigma", "scalar", "fraction", 2)
    net, _ = load_matconvnet(mat)
    x, s = torch.rand(1, 1, 10, 14), torch.full((1, 1, 1, 1), 0.1)
    got = m.run({"image": x.numpy(), "sigma": s.numpy()})[0]
    with torch.no_grad():
        np.testing.assert_allclose(got, net(x, s).numpy(), atol=1e-5)


@pytest.mark.parametrize("layers, match", [
    ([("pool", {})], r"type 'pool'; supported: conv, relu, bnorm, SubP, concat"),
    ([("relu", {})], r"no conv layers"),
])
def test_unsupported_files_say_what_is_supported(tmp_path, layers, match):
    with pytest.raises(MatConvNetError, match=match):
        load_matconvnet(write_mat(tmp_path / "x.mat", layers))


def test_not_hdf5_is_a_clear_cli_error(tmp_path, capsys):
    (tmp_path / "old.mat").write_bytes(b"MATLAB 5.0 MAT-file")
    assert cli_main(["import", str(tmp_path / "old.mat"), "-o", str(tmp_path / "o.onnx")]) == 1
    assert "not a MATLAB v7.3 (HDF5) file" in capsys.readouterr().err


def set12_psnr(model, sigma=25):
    """Mean PSNR on Set12: noise N(0, sigma/255) drawn with default_rng(index), output clipped to [0, 1]."""
    import cv2

    from conftest import shared_dir

    scores = []
    for i, path in enumerate(sorted((shared_dir() / "data" / "set12").glob("*.png"))):
        x = cv2.imread(str(path), cv2.IMREAD_GRAYSCALE).astype(np.float32) / 255.0
        noisy = (x + np.random.default_rng(i).normal(0, sigma / 255, x.shape)).astype(np.float32)
        feeds = {"image": noisy[None, None]}
        if model.info.noise_input:
            feeds["sigma"] = np.full((1, 1, 1, 1), sigma / 255, np.float32)
        h, w = x.shape
        padded = np.pad(noisy, ((0, h % 2), (0, w % 2)), mode="reflect")[None, None]
        feeds["image"] = padded
        out = np.clip(model.run(feeds)[0][0, 0, :h, :w], 0, 1)
        scores.append(10 * math.log10(1 / np.mean((out.astype(np.float64) - x) ** 2)))
    assert len(scores) == 12
    return float(np.mean(scores))


@pytest.mark.shared
@pytest.mark.slow
@pytest.mark.heavy  # the published networks on all of Set12, 12-47 s each on 2 cores: .ci/run's heavy step
@pytest.mark.parametrize("name, published", [("FFDNet_gray.mat", 30.43), ("dncnn_sigma25.mat", 30.44)])
def test_original_releases_reproduce_the_papers_on_set12(shared, tmp_path, name, published):
    mat = shared / "models" / "matconvnet" / name
    if not mat.exists():
        pytest.skip(f"{mat} not found")
    assert cli_main(["import", str(mat), "-o", str(tmp_path / "m.onnx")]) == 0
    psnr = set12_psnr(imgen.load(str(tmp_path / "m.onnx"), providers=["cpu"]))
    print(f"{name}: Set12 sigma 25 mean PSNR {psnr:.3f} dB (published {published})")
    assert abs(psnr - published) <= 0.05, f"{psnr:.3f} dB"


@pytest.mark.shared
@pytest.mark.slow
def test_colour_ffdnet_denoises_a_photo(shared, tmp_path):
    """No paper figure on scikit-image's photos; a wrong sub-pixel channel order loses 3-12 dB, so
    the astronaut at sigma 25 must gain well over 10 dB (measured 32.5 dB mean over five photos)."""
    data = pytest.importorskip("skimage.data")
    mat = shared / "models" / "matconvnet" / "FFDNet_color.mat"
    if not mat.exists():
        pytest.skip(f"{mat} not found")
    assert cli_main(["import", str(mat), "-o", str(tmp_path / "c.onnx")]) == 0
    m = imgen.load(str(tmp_path / "c.onnx"), providers=["cpu"])
    x = data.astronaut()[:192, :256].astype(np.float32) / 255
    noisy = (x + np.random.default_rng(0).normal(0, 25 / 255, x.shape)).astype(np.float32)
    out = m.run({"image": noisy.transpose(2, 0, 1)[None].copy(), "sigma": np.full((1, 1, 1, 1), 25 / 255, np.float32)})[0]
    out = np.clip(out[0].transpose(1, 2, 0), 0, 1)
    gain = 10 * math.log10(np.mean((noisy - x) ** 2) / np.mean((out - x) ** 2))
    assert gain > 10, f"gain {gain:.2f} dB"
