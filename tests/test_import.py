"""imgen_train.import_checkpoint: architecture detection from state dicts, clear errors, and the
DnCNN reproduction on Set12 (published 30.44 dB at sigma 25) when the shared data is there."""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="imgen_train needs torch (pip install torch, then imgen[train])")
pytest.importorskip("onnxscript", reason="the dynamo ONNX exporter needs onnxscript (imgen[train])")

import imgen  # noqa: E402
from imgen.cli import main as cli_main  # noqa: E402
from imgen_train.import_checkpoint import UnknownCheckpointError, detect, load_any  # noqa: E402


def kair_dncnn_state(depth=5, width=8, channels=1, seed=0):
    """A state dict laid out like KAIR's released DnCNN (BN merged): model.0, model.2, ..."""
    g = torch.Generator().manual_seed(seed)
    sd = {}
    chans = [channels] + [width] * (depth - 1) + [channels]
    for k in range(depth):
        sd[f"model.{2 * k}.weight"] = torch.randn(chans[k + 1], chans[k], 3, 3, generator=g) * 0.1
        sd[f"model.{2 * k}.bias"] = torch.randn(chans[k + 1], generator=g) * 0.01
    return sd


@pytest.mark.parametrize("channels", [1, 3])
def test_detects_kair_dncnn(channels):
    assert detect(kair_dncnn_state(depth=6, width=12, channels=channels)) == (
        "dncnn", {"in_channels": channels, "depth": 6, "width": 12, "residual": True, "batch_norm": False})


def test_detects_wrapped_and_prefixed_state_dicts():
    sd = {"module." + k: v for k, v in kair_dncnn_state().items()}
    assert detect({"params": sd})[0] == "dncnn"


def test_detects_kair_ffdnet():
    sd = kair_dncnn_state(depth=4, width=8)
    sd["model.0.weight"] = torch.zeros(8, 5, 3, 3)
    sd["model.6.weight"], sd["model.6.bias"] = torch.zeros(4, 8, 3, 3), torch.zeros(4)
    assert detect(sd) == ("ffdnet", {"in_channels": 1, "depth": 4, "width": 8, "residual": False,
                                     "batch_norm": False})


def test_imported_weights_give_the_same_outputs(tmp_path):
    sd = kair_dncnn_state()
    torch.save(sd, tmp_path / "k.pth")
    model, description = load_any(tmp_path / "k.pth")
    assert "imported from k.pth" in description
    x = torch.rand(1, 1, 9, 7)
    ref = x
    h = x
    for k in range(5):
        h = torch.nn.functional.conv2d(h, sd[f"model.{2 * k}.weight"], sd[f"model.{2 * k}.bias"], padding=1)
        if k < 4:
            h = torch.relu(h)
    with torch.no_grad():
        torch.testing.assert_close(model(x), ref - h)


def test_unknown_checkpoint_names_what_was_found_and_expected():
    with pytest.raises(UnknownCheckpointError) as err:
        detect({"encoder.conv1.weight": torch.zeros(8, 3, 7, 7), "encoder.conv1.bias": torch.zeros(8)})
    msg = str(err.value)
    assert "encoder.conv1.weight (8, 3, 7, 7)" in msg and "KAIR DnCNN" in msg and "imgen-train" in msg


def test_mismatched_dncnn_names_the_layer():
    sd = kair_dncnn_state()
    sd["model.4.weight"] = torch.zeros(8, 6, 3, 3)
    with pytest.raises(UnknownCheckpointError, match=r"model.4.weight takes 6 channels but model.2 gives 8"):
        detect(sd)
    sd = kair_dncnn_state()
    sd["model.2.weight"] = torch.zeros(8, 8, 5, 5)
    with pytest.raises(UnknownCheckpointError, match=r"model.2.weight has shape \(8, 8, 5, 5\); expected \(out, in, 3, 3\)"):
        detect(sd)
    sd = kair_dncnn_state()
    sd["model.3.running_mean"] = torch.zeros(8)
    with pytest.raises(UnknownCheckpointError, match="unrecognised checkpoint"):
        detect(sd)


def test_not_a_checkpoint_is_a_clear_cli_error(tmp_path, capsys):
    bad = tmp_path / "x.pth"
    bad.write_bytes(b"not a checkpoint")
    assert cli_main(["import", str(bad), "-o", str(tmp_path / "y.onnx")]) == 1
    assert "cannot read" in capsys.readouterr().err
    assert not (tmp_path / "y.onnx").exists()


def test_cli_import_writes_a_loadable_model(tmp_path, capsys):
    torch.save(kair_dncnn_state(), tmp_path / "k.pth")
    assert cli_main(["import", str(tmp_path / "k.pth"), "-o", str(tmp_path / "k.onnx")]) == 0
    m = imgen.load(str(tmp_path / "k.onnx"), providers=["cpu"])
    assert m.info.task == "denoise" and m.info.channels == 1
    assert m(np.zeros((5, 7), np.float32)).shape == (5, 7)
    # #33 item 11: the report printed "metadata": {} although the file carries it
    import json

    import onnx

    printed = json.loads(capsys.readouterr().out)["metadata"]
    in_file = {p.key: p.value for p in onnx.load(str(tmp_path / "k.onnx")).metadata_props if p.key.startswith("imgen.")}
    assert printed == in_file and printed["imgen.task"] == "denoise" and printed["imgen.channels"] == "1"


@pytest.mark.shared
@pytest.mark.slow
@pytest.mark.heavy  # DnCNN on all of Set12, 13-44 s on 2 cores: .ci/run's heavy step
def test_dncnn25_reproduces_published_set12_psnr(shared, tmp_path):
    """Published DnCNN-S (sigma 25) on Set12: 30.44 dB; our import must match within 0.05 dB."""
    import cv2

    weights = shared / "models" / "dncnn_25.pth"
    if not weights.exists():
        pytest.skip(f"{weights} not found")
    assert cli_main(["import", str(weights), "-o", str(tmp_path / "dncnn25.onnx")]) == 0
    model = imgen.load(str(tmp_path / "dncnn25.onnx"), providers=["cpu"])
    scores = []
    for path in sorted(Path(shared / "data" / "set12").glob("*.png")):
        x = cv2.imread(str(path), cv2.IMREAD_GRAYSCALE).astype(np.float32) / 255.0
        noisy = (x + np.random.default_rng(0).normal(0, 25 / 255, x.shape)).astype(np.float32)
        out = np.clip(model(noisy), 0, 1)
        scores.append(10 * math.log10(1 / np.mean((out.astype(np.float64) - x) ** 2)))
    assert len(scores) == 12
    assert abs(np.mean(scores) - 30.44) <= 0.05, f"Set12 mean PSNR {np.mean(scores):.3f} dB"


class PickledDnCNN(torch.nn.Module):
    """A whole module, pickled as the official DnCNN PyTorch release is (keys like KAIR's)."""

    def __init__(self):
        super().__init__()
        self.model = torch.nn.Sequential(torch.nn.Conv2d(1, 8, 3, padding=1), torch.nn.ReLU(),
                                         torch.nn.Conv2d(8, 1, 3, padding=1))


def test_pickled_module_is_refused_with_the_way_out(tmp_path, capsys):
    torch.save(PickledDnCNN(), tmp_path / "whole.pth")
    assert cli_main(["import", str(tmp_path / "whole.pth"), "-o", str(tmp_path / "w.onnx")]) == 1
    err = capsys.readouterr().err
    assert "pickled Python object" in err and "restricted unpickler" in err and "--trust-pickle" in err
    assert not (tmp_path / "w.onnx").exists()


def test_trust_pickle_loads_it_and_the_help_says_unsafe(tmp_path, capsys):
    torch.save(PickledDnCNN(), tmp_path / "whole.pth")
    assert cli_main(["import", str(tmp_path / "whole.pth"), "-o", str(tmp_path / "w.onnx"), "--trust-pickle"]) == 0
    assert imgen.load(str(tmp_path / "w.onnx"), providers=["cpu"]).info.channels == 1
    with pytest.raises(SystemExit):
        cli_main(["import", "--help"])
    assert "UNSAFE" in capsys.readouterr().out


def test_safetensors_checkpoints_import(tmp_path):
    safetensors = pytest.importorskip("safetensors.torch", reason="imgen[import] installs safetensors")
    safetensors.save_file(kair_dncnn_state(), str(tmp_path / "k.safetensors"))
    model, description = load_any(tmp_path / "k.safetensors")
    assert model.name == "dncnn" and "k.safetensors" in description


def test_cli_import_info_is_written_into_the_file(tmp_path, capsys):
    torch.save(kair_dncnn_state(), tmp_path / "k.pth")
    out = tmp_path / "k.onnx"
    assert cli_main(["import", str(tmp_path / "k.pth"), "-o", str(out), "--info", "tile_overlap=24",
                     "--info", "imgen.description=declared by hand", "--info", "receptive_field=5"]) == 0
    assert '"imgen.tile_overlap": "24"' in capsys.readouterr().out
    m = imgen.load(str(out), providers=["cpu"])
    assert (m.info.tile_overlap, m.info.receptive_field, m.info.description) == (24, 5, "declared by hand")
    assert "tile_overlap" not in m.info.inferred and not [p for p in tmp_path.iterdir() if ".tmp" in p.name]


@pytest.mark.parametrize("entry, message", [
    ("bogus=1", "unknown model info key(s) bogus"),
    ("schema=1", "unknown model info key(s) schema"),
    ("scale=0", "imgen.scale must be a positive integer, got 0"),
    ("whole_image=maybe", "imgen.whole_image"),
])
def test_cli_import_info_is_validated_and_nothing_is_written(tmp_path, capsys, entry, message):
    torch.save(kair_dncnn_state(), tmp_path / "k.pth")
    out = tmp_path / "k.onnx"
    assert cli_main(["import", str(tmp_path / "k.pth"), "-o", str(out), "--info", entry]) == 1
    assert message in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == [tmp_path / "k.pth"]


def test_cli_import_info_needs_key_equals_value(tmp_path, capsys):
    with pytest.raises(SystemExit) as e:
        cli_main(["import", str(tmp_path / "k.pth"), "-o", str(tmp_path / "k.onnx"), "--info", "scale"])
    assert e.value.code == 2 and "must be KEY=VALUE" in capsys.readouterr().err


def test_bench_takes_an_imported_model(tmp_path, capsys):
    """An imported published model goes straight into the classical-vs-learned table."""
    import cv2
    from skimage import data

    torch.save(kair_dncnn_state(), tmp_path / "k.pth")
    model = tmp_path / "kair-dncnn.onnx"
    assert cli_main(["import", str(tmp_path / "k.pth"), "-o", str(model)]) == 0
    folder = tmp_path / "imgs"
    folder.mkdir()
    cv2.imwrite(str(folder / "cam.png"), data.camera()[:40, :48])
    out = tmp_path / "out"
    capsys.readouterr()
    assert cli_main(["bench", "--images", str(folder), "--methods", "wavelet", "--models", str(model),
                     "--sigmas", "25", "--repeats", "1", "--out", str(out), "-q"]) == 0
    import json

    rows = json.loads((out / "bench.json").read_text())
    text = json.dumps(rows)
    assert "kair-dncnn" in text and "wavelet" in text
