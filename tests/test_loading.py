"""imgen.load (loading.py): the wrapper a model's task calls for, and Wrapper.adopt, the one task check."""
from __future__ import annotations

import numpy as np
import pytest

import imgen
from imgen.errors import ModelError

import onnx_models as om


def test_load_returns_the_wrapper_for_the_task(tmp_path):
    gen = imgen.load(om.identity(tmp_path / "g.onnx", 3, om.meta(task="generate", channels=3)))
    assert type(gen) is imgen.Generator and not callable(gen)  # only image models take images
    restore = imgen.load(om.identity(tmp_path / "r.onnx", 3))
    assert type(restore) is imgen.ImageModel and restore.info.task == "restore"
    assert imgen.ImageModel.adopt(restore, "x") is restore
    with pytest.raises(ModelError, match="is a generate model; running images needs a denoise or restore or "
                                         "translate or sr or deblur or jpeg model"):
        imgen.ImageModel.adopt(gen, "running images")
    with pytest.raises(ModelError, match="is a generate model; ImageModel takes a denoise"):
        imgen.ImageModel.open(tmp_path / "g.onnx")
    # A plain Model of the right task is viewed as the wrapper, on the same session.
    plain = imgen.Model.open(tmp_path / "r.onnx")
    assert type(plain) is imgen.Model
    viewed = imgen.ImageModel.adopt(plain, "x")
    assert viewed._session is plain._session
    np.testing.assert_array_equal(viewed(np.full((4, 4, 3), 9, np.uint8)), 9)


def test_each_purpose_has_its_wrapper_and_refuses_the_others(tmp_path):
    path = om.encoder(tmp_path / "e.onnx")
    assert type(imgen.load(path)) is imgen.Encoder
    assert imgen.Encoder.adopt(path, "encoding").input_size == (6, 6)
    with pytest.raises(ModelError, match="is an encode model; decoding latents needs a generate or decode model"):
        imgen.Generator.adopt(path, "decoding latents")
