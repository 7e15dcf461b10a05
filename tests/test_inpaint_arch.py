"""The gated-convolution inpainter (export/imgen_train/archs/gated.py) and its training pieces
(tasks/inpaint.py): a tiny random-init network exports to ONNX, matches torch, and runs through
imgen's InpaintModel with the input kept outside the mask; a few steps of the registered inpaint task."""
from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")
onnx = pytest.importorskip("onnx")

import warnings  # noqa: E402

import imgen  # noqa: E402
from imgen.inpainting import InpaintModel  # noqa: E402
from imgen_train import archs  # noqa: E402
from imgen_train.tasks.inpaint import box_mask, random_masks, stroke_mask, train_step  # noqa: E402


def _export(model, path):
    model.eval()
    image, mask = torch.rand(1, 3, 32, 32), torch.zeros(1, 1, 32, 32)
    with warnings.catch_warnings():  # the TorchScript exporter, as export_onnx uses it
        warnings.simplefilter("ignore")
        torch.onnx.export(model, (image, mask), str(path), input_names=["image", "mask"],
                          output_names=["out"], opset_version=17, dynamo=False,
                          dynamic_axes={"image": {0: "N", 2: "H", 3: "W"}, "mask": {0: "N", 2: "H", 3: "W"},
                                        "out": {0: "N", 2: "H", 3: "W"}})
    proto = onnx.load(str(path))
    meta = imgen.ModelInfo(task="inpaint", channels=3, size_multiple=4, mask_input="mask").to_metadata()
    for k, v in meta.items():
        entry = proto.metadata_props.add()
        entry.key, entry.value = k, v
    onnx.save(proto, str(path))
    return str(path)


def test_masks_are_seeded_and_cover_part_of_the_image():
    a, b = random_masks(4, 64, 64, seed=1), random_masks(4, 64, 64, seed=1)
    assert torch.equal(a, b) and a.shape == (4, 1, 64, 64)
    assert not torch.equal(a, random_masks(4, 64, 64, seed=2))
    for m in (stroke_mask(64, 64, np.random.default_rng(0)), box_mask(64, 64, np.random.default_rng(0))):
        assert 0 < m.mean() < 0.9 and set(np.unique(m)) <= {0.0, 1.0}


def test_gated_inpaint_keeps_the_known_pixels_and_a_step_lowers_nothing_silly():
    torch.manual_seed(0)
    model = archs.build("gated_inpaint", width=4, dilations=(2,))
    clean = torch.rand(2, 3, 32, 32)
    mask = random_masks(2, 32, 32, seed=0)
    out = model(clean, mask)
    assert out.shape == clean.shape
    assert torch.equal(out[mask.expand_as(clean) == 0], clean[mask.expand_as(clean) == 0])
    loss = train_step(model, torch.optim.Adam(model.parameters(), 1e-3), clean, seed=0)
    assert np.isfinite(loss) and loss > 0


def test_onnx_export_matches_torch_and_runs_through_inpaint_model(tmp_path):
    torch.manual_seed(0)
    model = archs.build("gated_inpaint", width=4, dilations=(2,)).eval()
    path = _export(model, tmp_path / "g.onnx")
    image = np.random.default_rng(0).random((40, 48, 3)).astype(np.float32)
    holes = np.zeros((40, 48), bool)
    holes[10:22, 8:30] = True
    loaded = imgen.load(path)
    assert isinstance(loaded, InpaintModel)
    out = loaded(image, holes, context=100)  # whole image: 40x48, already a multiple of 4
    with torch.no_grad():
        ref = model(torch.from_numpy(image.transpose(2, 0, 1))[None],
                    torch.from_numpy(holes.astype(np.float32))[None, None])[0].numpy().transpose(1, 2, 0)
    np.testing.assert_allclose(out[holes], np.clip(ref[holes], 0, 1), atol=1e-5)
    np.testing.assert_array_equal(out[~holes], image[~holes])


def test_imgen_train_runs_the_inpaint_task(tmp_path):
    """--arch gated_inpaint picks the registered inpaint task: patches with fresh masks, validated by
    hole PSNR on held-out images; a resumed run continues from last.pt."""
    import cv2

    from imgen_train.tasks import TASKS
    from imgen_train.train import TrainOptions, resolve_task, train

    rng = np.random.default_rng(0)
    data = tmp_path / "data"
    data.mkdir()
    for k in range(6):
        cv2.imwrite(str(data / f"{k}.png"), cv2.GaussianBlur(rng.integers(0, 255, (40, 44), dtype=np.uint8), (5, 5), 2))
    o = TrainOptions(train_dir=str(data), out=str(tmp_path / "run"), arch="gated_inpaint", width=4, patch=32,
                     batch=2, iters=4, val_every=2, val_count=2, log_every=2, ckpt_every=2, threads=1, progress=False)
    assert resolve_task(o) == "inpaint" and "inpaint" in TASKS
    result = train(o)
    assert result["step"] == 4 and 0 < result["best_hole_psnr"] < 60
    assert (tmp_path / "run" / "last.pt").exists() and (tmp_path / "run" / "best.pt").exists()
    assert train(TrainOptions(**{**o.__dict__, "iters": 6, "resume": True}))["step"] == 6
