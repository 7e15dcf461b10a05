"""imgen generate / encode / decode / reconstruct / translate end to end on tiny ONNX models."""
from __future__ import annotations

import os

import cv2
import numpy as np
import pytest

import imgen
from imgen.cli import main

import onnx_models as om


@pytest.fixture
def models(tmp_path):
    d = tmp_path / "models"
    d.mkdir()
    return {
        "gen": om.generator(d / "g.onnx", latent=8, channels=3, size=6),
        "enc": om.encoder(d / "e.onnx", latent=8, channels=1, size=6),
        "dec": om.generator(d / "d.onnx", latent=8, channels=1, size=6, squash="Sigmoid", task="decode"),
        "a2b": om.identity(d / "t.onnx", 3, om.meta(task="translate", channels=3, range="-1,1", tile=16,
                                                    tile_overlap=4)),
    }


@pytest.fixture
def faces(tmp_path, rng):
    root = tmp_path / "faces"
    (root / "sub").mkdir(parents=True)
    for name in ("a.png", "b.png", "sub/c.png"):
        cv2.imwrite(str(root / name), rng.integers(0, 256, (6, 6), dtype=np.uint8))
    return root


def test_generate_files_are_the_api_images_for_the_seed(models, tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["generate", models["gen"], "-n", "5", "--seed", "2", "--batch-size", "2", "-o", str(out)]) == 0
    files = sorted(out.glob("*.png"))
    assert [f.name for f in files] == [f"{k:05d}.png" for k in range(5)]
    expected = imgen.generate(models["gen"], 5, seed=2)
    for f, img in zip(files, expected):
        np.testing.assert_array_equal(cv2.imread(str(f))[..., ::-1], img)
    assert "wrote 5 image(s)" in capsys.readouterr().err


def test_generate_grid_and_interpolation(models, tmp_path):
    assert main(["generate", models["gen"], "-n", "6", "--grid", "--cols", "3", "-o", str(tmp_path / "g.png")]) == 0
    assert cv2.imread(str(tmp_path / "g.png")).shape == (2 * 7 + 1, 3 * 7 + 1, 3)
    assert main(["generate", models["gen"], "--interpolate", "0", "1", "--steps", "3", "-o", str(tmp_path / "i")]) == 0
    assert len(list((tmp_path / "i").glob("*.png"))) == 4


def test_generate_output_mistakes_are_errors(models, tmp_path, capsys):
    assert main(["generate", models["gen"], "--grid", "-o", str(tmp_path / "folder")]) == 1
    assert "-o must name an image file" in capsys.readouterr().err
    assert main(["generate", models["gen"], "-o", str(tmp_path / "x.png")]) == 1
    assert "add --grid" in capsys.readouterr().err


@pytest.mark.parametrize("command, model, needs", [
    (["generate"], "a2b", "needs a generate or decode model"),
    (["translate"], "gen", "needs a translate model"),
    (["encode"], "dec", "needs an encode model"),
])
def test_commands_refuse_models_of_the_wrong_task(models, faces, tmp_path, capsys, command, model, needs):
    args = command + [models[model]]
    if command != ["generate"]:
        args.append(str(faces))
    args += ["-o", str(tmp_path / ("x.npz" if command == ["encode"] else "x"))]
    assert main(args) == 1
    err = capsys.readouterr().err
    assert needs in err and "is a" in err
    assert not (tmp_path / "x").exists() and not (tmp_path / "x.npz").exists()


def test_encode_then_decode_names_outputs_after_inputs(models, faces, tmp_path):
    npz = tmp_path / "lat.npz"
    assert main(["encode", models["enc"], str(faces), "-o", str(npz)]) == 0
    data = np.load(npz)
    assert list(data["files"]) == ["a.png", "b.png", "sub/c.png"] and data["mean"].shape == (3, 8)
    img = cv2.imread(str(faces / "b.png"), cv2.IMREAD_GRAYSCALE)
    np.testing.assert_allclose(data["mean"][1], imgen.encode(models["enc"], [img])[0][0], atol=1e-6)
    assert main(["decode", models["dec"], str(npz), "-o", str(tmp_path / "dec")]) == 0
    assert sorted(p.name for p in (tmp_path / "dec").iterdir()) == ["a.png", "b.png", "sub_c.png"]


def test_encode_bits_quantises_and_decode_is_exact(models, faces, tmp_path):
    npz = tmp_path / "q.npz"
    assert main(["encode", models["enc"], str(faces), "--bits", "4", "-o", str(npz)]) == 0
    data = np.load(npz)
    assert "mean" not in data.files and data["codes"].dtype == np.uint8 and data["codes"].shape == (3, 8)
    assert int(data["quant_bits"]) == 4 and float(data["quant_low"]) == -3.0 and float(data["quant_high"]) == 3.0
    img = cv2.imread(str(faces / "b.png"), cv2.IMREAD_GRAYSCALE)
    mean = imgen.encode(models["enc"], [img])[0][0]
    z = -3 + (data["codes"][1].astype(np.float64) + 0.5) * 6 / 16
    assert np.all(np.abs(z - np.clip(mean, -3, 3)) <= 6 / 32 + 1e-6)  # within half a cell
    assert main(["decode", models["dec"], str(npz), "-o", str(tmp_path / "dec")]) == 0
    got = cv2.imread(str(tmp_path / "dec" / "b.png"), cv2.IMREAD_GRAYSCALE)
    np.testing.assert_array_equal(got, imgen.decode(models["dec"], z[None].astype(np.float32))[0, ..., 0])


@pytest.mark.parametrize("flags, message", [(["--bits", "0"], "bits must be an integer from 1 to 16"),
                                            (["--bits", "17"], "bits must be an integer from 1 to 16"),
                                            (["--bits", "4", "--range", "2", "1"], "low < high")])
def test_encode_bits_rejects_bad_quantisers(models, faces, tmp_path, capsys, flags, message):
    assert main(["encode", models["enc"], str(faces), *flags, "-o", str(tmp_path / "q.npz")]) == 1
    assert message in capsys.readouterr().err and not (tmp_path / "q.npz").exists()


def test_decode_rejects_codes_out_of_range(models, tmp_path, capsys):
    np.savez(tmp_path / "q.npz", codes=np.full((1, 8), 20, np.uint8), quant_bits=4, quant_low=-3.0, quant_high=3.0)
    assert main(["decode", models["dec"], str(tmp_path / "q.npz"), "-o", str(tmp_path / "o")]) == 1
    assert "latent codes must lie in [0, 15] for 4 bits" in capsys.readouterr().err


def test_encode_writes_the_npz_with_the_umask_permissions_not_0600(models, faces, tmp_path):
    old = os.umask(0o022)
    try:
        assert main(["encode", models["enc"], str(faces), "-o", str(tmp_path / "lat.npz")]) == 0
    finally:
        os.umask(old)
    assert (tmp_path / "lat.npz").stat().st_mode & 0o777 == 0o644
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_decode_rejects_latents_of_the_wrong_size(models, tmp_path, capsys):
    np.save(tmp_path / "z.npy", np.zeros((2, 5), np.float32))
    assert main(["decode", models["dec"], str(tmp_path / "z.npy"), "-o", str(tmp_path / "o")]) == 1
    assert "takes latents of shape (N, 8), got (2, 5)" in capsys.readouterr().err


def test_encode_reports_every_bad_input_and_writes_nothing(models, faces, tmp_path, capsys):
    cv2.imwrite(str(faces / "colour.png"), np.zeros((6, 6, 3), np.uint8))
    cv2.imwrite(str(faces / "big.png"), np.zeros((9, 9), np.uint8))
    assert main(["encode", models["enc"], str(faces), "-o", str(tmp_path / "l.npz")]) == 1
    err = capsys.readouterr().err
    assert "colour.png: encoder e takes 1-channel images" in err and "big.png: encoder e takes 6x6" in err
    assert not (tmp_path / "l.npz").exists()
    (faces / "colour.png").unlink()
    assert main(["encode", models["enc"], str(faces), "--resize", "-o", str(tmp_path / "l.npz")]) == 0


def test_reconstruct_over_a_folder(models, faces, tmp_path):
    out = tmp_path / "rec"
    assert main(["reconstruct", models["enc"], models["dec"], str(faces), "-o", str(out), "-q"]) == 0
    got = cv2.imread(str(out / "sub" / "c.png"), cv2.IMREAD_GRAYSCALE)
    img = cv2.imread(str(faces / "sub" / "c.png"), cv2.IMREAD_GRAYSCALE)
    np.testing.assert_array_equal(got, imgen.reconstruct(models["enc"], models["dec"], [img])[0, ..., 0])


def test_translate_over_a_folder_tiled(models, tmp_path, rng):
    src = tmp_path / "photos"
    (src / "nested").mkdir(parents=True)
    big = rng.integers(0, 256, (40, 37, 3), dtype=np.uint8)  # larger than the 16-pixel tile
    cv2.imwrite(str(src / "nested" / "big.png"), big)
    cv2.imwrite(str(src / "small.png"), big[:8, :8])
    cv2.imwrite(str(src / "broken.png"), big[:1, :1])
    (src / "broken.png").write_bytes(b"not an image")
    out = tmp_path / "out"
    assert main(["translate", models["a2b"], str(src), "-o", str(out), "-q"]) == 1  # broken.png fails
    np.testing.assert_array_equal(cv2.imread(str(out / "nested" / "big.png")), big)  # identity, tiled
    assert (out / "small.png").exists() and not (out / "broken.png").exists()


def test_generate_writes_each_batch_before_running_the_next(models, tmp_path, monkeypatch, capsys):
    """-n is not held in memory: files are written batch by batch (Ctrl+C keeps the batches done)."""
    import imgen.cli._gen as gen_cli
    from imgen.engine import Model

    runs, written = [], []
    real_run, real_write = Model.run, gen_cli.write_image

    def counting_run(self, feeds):
        runs.append(len(next(iter(feeds.values()))))
        return real_run(self, feeds)

    def write_then_stop(path, img):
        if len(written) == 4:
            raise KeyboardInterrupt
        written.append(path)
        real_write(path, img)

    monkeypatch.setattr(Model, "run", counting_run)
    monkeypatch.setattr(gen_cli, "write_image", write_then_stop)
    out = tmp_path / "out"
    assert main(["generate", models["gen"], "-n", "100000000", "--batch-size", "2", "-o", str(out)]) == 130
    assert runs == [2, 2, 2] and len(list(out.glob("*.png"))) == 4


@pytest.mark.parametrize("args, message", [
    (["-n", "100000000", "--grid"], "--grid"),
    (["--interpolate", "0", "1", "--steps", "100000000", "--grid"], "--grid"),
])
def test_huge_grids_are_refused_before_generating(models, tmp_path, capsys, args, message):
    assert main(["generate", models["gen"], *args, "-o", str(tmp_path / "g.png")]) == 1
    err = capsys.readouterr().err
    assert message in err and ("100000001" in err or "100000000" in err)
    assert "at most 10000" in err and not (tmp_path / "g.png").exists()


@pytest.mark.parametrize("command, args, option", [
    ("generate", ["-n", "0"], "-n/--count"),
    ("generate", ["--batch-size", "0"], "--batch-size"),
    ("generate", ["--interpolate", "0", "1", "--steps", "0"], "--steps"),
    ("generate", ["--interpolate", "3"], "--interpolate"),
    ("generate", ["--grid", "--cols", "0"], "--cols"),
    ("generate", ["--ext", ".exe"], "--ext"),
    ("generate", ["--threads", "-1"], "--threads"),
    ("decode", ["--ext", "exe"], "--ext"),
    ("decode", ["--batch-size", "-3"], "--batch-size"),
    ("reconstruct", ["--ext", ".exe"], "--ext"),
    ("translate", ["--tile", "-1"], "--tile"),
    ("translate", ["--overlap", "-4"], "--overlap"),
    ("translate", ["--ext", ".exe"], "--ext"),
])
def test_option_mistakes_are_argument_errors_before_anything_runs(models, faces, tmp_path, capsys,
                                                                 command, args, option):
    out = tmp_path / ("g.png" if "--grid" in args else "out")
    positional = {"generate": [models["gen"]], "decode": [models["dec"], str(tmp_path / "z.npy")],
                  "reconstruct": [models["enc"], models["dec"], str(faces)],
                  "translate": [models["a2b"], str(faces)]}[command]
    np.save(tmp_path / "z.npy", np.zeros((2, 8), np.float32))
    with pytest.raises(SystemExit) as e:
        main([command, *positional, *args, "-o", str(out)])
    assert e.value.code == 2
    err = capsys.readouterr().err
    assert f"argument {option}" in err, err
    if option == "--ext":
        assert ".png" in err and ".tiff" in err
    assert not out.exists()


def test_a_decompression_bomb_is_a_listed_input_error(models, faces, tmp_path, capsys):
    from image_files import bomb_png

    bomb_png(faces / "bomb.png")
    assert main(["encode", models["enc"], str(faces), "-o", str(tmp_path / "l.npz")]) == 1
    err = capsys.readouterr().err
    assert "bomb.png: 60000x60000" in err and "over the limit" in err and not (tmp_path / "l.npz").exists()
    assert main(["reconstruct", models["enc"], models["dec"], str(faces), "-o", str(tmp_path / "r"), "-q"]) == 1
    err = capsys.readouterr().err
    assert "wrote 3 of 4" in err and "bomb.png: 60000x60000" in err
    assert main(["encode", models["enc"], str(faces / "a.png"), "--max-pixels", "35", "-o", str(tmp_path / "m.npz")]) == 1
    assert "a.png: 6x6 = 36 pixels is over the limit of 35" in capsys.readouterr().err
