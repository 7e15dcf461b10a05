"""distributed/jobs.py: what a Ray worker builds for ``imgen inpaint`` and ``imgen reconstruct``,
run here through the worker class itself (ImageWorker, no Ray): the same files, bytes and per-file
errors as the local commands."""
from __future__ import annotations

import os
import pickle

import cv2
import numpy as np
import pytest

from imgen.cli import main
from imgen.distributed import ImageWorker, InpaintJob, ReconstructJob
from imgen.errors import ModelError
from imgen.imageio import plan_outputs
from imgen.inpainting.process import MaskSource

import onnx_models as om


def files(root):
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def work(job, inputs, out, batch=8):
    """Run ``job`` as a worker does: a pickled copy, built once, fed batches of (index, source, target)."""
    jobs, _ = plan_outputs(inputs, out)
    items = [(i, os.path.abspath(j.source), os.path.abspath(j.target)) for i, j in enumerate(jobs)]
    worker = ImageWorker(pickle.loads(pickle.dumps(job.portable())), 1)
    rows = []
    for k in range(0, len(items), batch):
        rows += worker.run(items[k:k + batch])
    return {str(jobs[i].source): error for i, error, _ in rows}


@pytest.fixture
def photos(tmp_path):
    rng = np.random.default_rng(4)
    (tmp_path / "in" / "sub").mkdir(parents=True)
    (tmp_path / "masks").mkdir()
    for name in ("a", "b", "sub/c", "d"):
        assert cv2.imwrite(str(tmp_path / "in" / f"{name}.png"), rng.integers(0, 256, (24, 30, 3), dtype=np.uint8))
    for k, name in enumerate(("a", "b", "c")):  # d has no mask
        m = np.zeros((24, 30), np.uint8)
        m[3 + 4 * k:9 + 4 * k, 5:20] = 255
        assert cv2.imwrite(str(tmp_path / "masks" / f"{name}.png"), m)
    return tmp_path


def test_inpaint_with_a_mask_per_file_matches_the_local_command(photos, capsys, monkeypatch):
    monkeypatch.chdir(photos)  # relative mask folder: the job makes it absolute for the workers
    assert main(["inpaint", "in", "--mask-dir", "masks", "--method", "telea", "-o", "local", "-q"]) == 1
    local_err = capsys.readouterr().err
    job = InpaintJob(MaskSource(folder="masks"), method="telea")
    assert job.per_file and job.portable().masks.folder == str(photos / "masks")
    errors = work(job, ["in"], "worker", batch=3)
    assert files(photos / "worker") == files(photos / "local")
    assert len(files(photos / "local")) == 3
    assert {s: e for s, e in errors.items() if e} == {"in/d.png": f"no mask named d.* in {photos / 'masks'}"}
    assert "  in/d.png: no mask named d.* in masks\n" in local_err  # the folder as given


def test_inpaint_with_one_mask_and_a_model(photos, tmp_path):
    model = om.add_mask(tmp_path / "fill.onnx", metadata=om.meta(task="inpaint", mask_input="mask", zero_holes="1"))
    mask = str(photos / "masks" / "a.png")
    for how in (["--method", "ns"], ["--model", model]):
        out = tmp_path / how[1].replace("/", "_")
        assert main(["inpaint", str(photos / "in"), "--mask", mask, *how, "-o", str(out / "local"), "-q"]) == 0
        job = InpaintJob(MaskSource(path=mask), method=how[1] if how[0] == "--method" else None,
                         model=how[1] if how[0] == "--model" else None)
        assert not job.per_file
        errors = work(job, [str(photos / "in")], str(out / "worker"))
        assert not any(errors.values())
        assert files(out / "worker") == files(out / "local") and len(files(out / "local")) == 4
    with pytest.raises(ValueError, match="a method or a model"):
        InpaintJob(MaskSource(path=mask))
    with pytest.raises(ModelError, match="inpaint"):  # a model of the wrong task fails where it is built
        InpaintJob(MaskSource(path=mask), model="denoise-gray")(1)


@pytest.fixture
def vae(tmp_path):
    d = tmp_path / "models"
    d.mkdir()
    return (om.encoder(d / "e.onnx", latent=8, channels=1, size=6),
            om.generator(d / "d.onnx", latent=8, channels=1, size=6, squash="Sigmoid", task="decode"))


def test_reconstruct_job_is_the_local_command(vae, tmp_path):
    rng = np.random.default_rng(1)
    (tmp_path / "faces").mkdir()
    for k in range(3):
        assert cv2.imwrite(str(tmp_path / "faces" / f"f{k}.png"), rng.integers(0, 256, (6, 6), dtype=np.uint8))
    assert cv2.imwrite(str(tmp_path / "faces" / "big.png"), rng.integers(0, 256, (9, 9), dtype=np.uint8))
    enc, dec = vae
    assert main(["reconstruct", enc, dec, str(tmp_path / "faces"), "-o", str(tmp_path / "local"), "-q"]) == 1
    errors = work(ReconstructJob(enc, dec), [str(tmp_path / "faces")], str(tmp_path / "worker"))
    assert files(tmp_path / "worker") == files(tmp_path / "local") and len(files(tmp_path / "local")) == 3
    assert [s for s, e in errors.items() if e] == [str(tmp_path / "faces" / "big.png")]
    with pytest.raises(ModelError, match="imgen reconstruct needs .*a VAE decoder"):
        ReconstructJob(enc, enc)(1)
