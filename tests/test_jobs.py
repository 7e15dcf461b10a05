"""imgen.jobs: the one Job / Processor protocol that the local file loop (imgen.batch.run_images),
Ray (imgen.distributed.run_images) and serve run -- every job and processor satisfies it, and the
local twin of distributed.run_images writes what `imgen run` writes."""
from __future__ import annotations

import pickle

import cv2
import numpy as np
import pytest

from imgen.batch import as_job, run_images
from imgen.cli import main
from imgen.client import RemoteJob
from imgen.inpainting.process import MaskSource
from imgen.jobs import InpaintJob, Job, Processor, ReconstructJob
from imgen.processors import ProcessorOptions

import onnx_models as om


def written(root):
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture
def folder(tmp_path):
    rng = np.random.default_rng(3)
    (tmp_path / "in" / "sub").mkdir(parents=True)
    for name in ("a", "sub/b"):
        assert cv2.imwrite(str(tmp_path / "in" / f"{name}.png"), rng.integers(0, 256, (20, 24, 3), dtype=np.uint8))
    return tmp_path


def test_every_job_and_processor_satisfies_the_protocol(tmp_path):
    path = om.identity(tmp_path / "i.onnx", 3)
    jobs = [ProcessorOptions(model=path, color_order="bgr"), ProcessorOptions(method="wavelet"),
            InpaintJob(MaskSource(alpha=True), method="telea"), ReconstructJob("enc", "dec"),
            RemoteJob("http://127.0.0.1:1", "m")]
    for job in jobs:
        assert isinstance(job, Job), job
        assert pickle.loads(pickle.dumps(job)) == job  # what a Ray actor is sent
        assert isinstance(job.desc, str) and job.portable().with_providers(("cpu",)) is not None
    for job in jobs[:3]:
        assert isinstance(job(1), Processor)
    assert as_job(str(path)) == ProcessorOptions(model=str(path), color_order="bgr")
    with pytest.raises(TypeError, match="must be a Job"):
        as_job(object())


def test_run_images_is_the_folder_run_of_the_cli(folder, tmp_path):
    path = om.identity(tmp_path / "i.onnx", 3)
    assert main(["run", path, str(folder / "in"), "-o", str(folder / "cli"), "-q"]) == 0
    summary = run_images([folder / "in"], folder / "api", ProcessorOptions(model=path, color_order="bgr"))
    assert summary.done == 2 and not summary.failures and written(folder / "api") == written(folder / "cli")
    again = run_images([folder / "in"], folder / "api", path, resume=True)
    assert again.skipped == 2 and again.done == 0
    masks = MaskSource(colour=(0, 0, 0))
    summary = run_images([folder / "in"], folder / "filled", InpaintJob(masks, method="telea"), batch_size=1)
    assert summary.done == 2
