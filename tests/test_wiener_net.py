"""imgen.restoration.wiener_net: Wiener with the known kernel, then a network on its output."""
from __future__ import annotations

import numpy as np
import pytest
from skimage import data

import imgen
from imgen import degrade, restoration
from imgen.errors import ImgenError
from imgen.methods import REGISTRY
from imgen.metrics import psnr
from imgen.processors import make_processor

from onnx_models import affine, identity, meta


@pytest.fixture(scope="module")
def camera():
    return data.camera()[96:224, 96:224].copy()


@pytest.fixture(scope="module")
def refiners(tmp_path_factory):
    """An identity refiner, a darkening one (y = 0.5 x) and an identity without the Wiener contract."""
    d = tmp_path_factory.mktemp("refiners")
    wiener_meta = meta(task="deblur", channels=1, input_from="wiener")
    return {"identity": identity(d / "identity.onnx", channels=1, metadata=wiener_meta),
            "half": affine(d / "half.onnx", channels=1, gain=0.5, metadata=wiener_meta),
            "plain": identity(d / "plain.onnx", channels=1, metadata=meta(task="deblur", channels=1)),
            "sharp": identity(d / "sharp.onnx", channels=1, metadata={**wiener_meta, "imgen.wiener_balance": "0.002"}),
            "bad": identity(d / "bad.onnx", channels=1, metadata={**wiener_meta, "imgen.wiener_balance": "-1"})}


def test_identity_refiner_gives_wieners_output(camera, refiners):
    blurred = degrade.blur(camera, "gauss1.6", 2.55 / 255, seed=0)
    out = restoration.wiener_net(blurred, "gauss1.6", refiner=refiners["identity"])
    ref = restoration.wiener(blurred, "gauss1.6")  # float64 inside, rounded once
    assert out.dtype == np.uint8 and out.shape == camera.shape
    diff = np.abs(out.astype(int) - ref.astype(int))
    assert diff.max() <= 1 and (diff == 0).mean() > 0.99


def test_the_network_runs_on_wieners_output(camera, refiners):
    """A refiner that halves its input halves Wiener's (clipped) output: the network is really run."""
    blurred = degrade.blur(camera, "motion19", 2.55 / 255, seed=1)
    half = restoration.wiener_net(blurred.astype(np.float32) / 255, "motion19", refiner=refiners["half"])
    full = restoration.wiener_net(blurred.astype(np.float32) / 255, "motion19", refiner=refiners["identity"])
    assert half.dtype == np.float32
    np.testing.assert_allclose(half, 0.5 * full, atol=1e-6)


def test_colour_runs_the_gray_network_per_plane(camera, refiners):
    rgb = np.dstack([camera, camera[::-1], camera[:, ::-1]])
    blurred = degrade.blur(rgb, "gauss1.6", 2.55 / 255, seed=2)
    out = restoration.wiener_net(blurred, "gauss1.6", refiner=refiners["identity"])
    ref = restoration.wiener(blurred, "gauss1.6")
    assert out.shape == rgb.shape
    assert np.abs(out.astype(int) - ref.astype(int)).max() <= 1


def test_wiener_runs_at_the_refiners_training_balance_unless_given(camera, refiners):
    blurred = degrade.blur(camera, "motion19", 2.55 / 255, seed=5).astype(np.float32) / 255
    at = {b: np.clip(restoration.wiener(blurred, "motion19", balance=b), 0, 1) for b in (0.002, 0.01, 0.05)}
    np.testing.assert_allclose(restoration.wiener_net(blurred, "motion19", refiner=refiners["sharp"]), at[0.002],
                               atol=1e-6)
    np.testing.assert_allclose(restoration.wiener_net(blurred, "motion19", refiner=refiners["identity"]), at[0.01],
                               atol=1e-6)  # no imgen.wiener_balance: Wiener's default
    np.testing.assert_allclose(restoration.wiener_net(blurred, "motion19", balance=0.05, refiner=refiners["sharp"]),
                               at[0.05], atol=1e-6)
    with pytest.raises(ImgenError, match="wiener_balance"):
        restoration.wiener_net(blurred, "motion19", refiner=refiners["bad"])


def test_a_network_without_the_wiener_contract_is_refused(camera, refiners):
    with pytest.raises(ImgenError, match="input_from=wiener"):
        restoration.wiener_net(camera, "gauss1.6", refiner=refiners["plain"])


def test_a_refiner_is_not_run_as_a_blind_deblurring_model(refiners):
    with pytest.raises(ImgenError, match="wiener_net"):
        make_processor(model=refiners["identity"], task="deblur")


def test_registered_for_every_door(camera, refiners):
    assert "wiener_net" in REGISTRY.names("deblur")
    blurred = degrade.blur(camera, "gauss3", 2.55 / 255, seed=3)
    via_restore = imgen.restore(blurred, task="deblur", method="wiener_net", kernel="gauss3",
                                refiner=refiners["identity"])
    direct = restoration.wiener_net(blurred, "gauss3", refiner=refiners["identity"])
    np.testing.assert_array_equal(via_restore, direct)
    with pytest.raises(ImgenError, match="kernel"):
        imgen.restore(blurred, task="deblur", method="wiener_net", refiner=refiners["identity"])


@pytest.mark.parametrize("kernel", ["gauss1.6", "motion25"])
def test_shipped_refiner_beats_wiener(camera, kernel):
    """The shipped network (int8 on the CPU) gains over Wiener with the same kernel, at noise 2.55."""
    if "deblur-wiener-gray" not in imgen.shipped_models():
        pytest.skip("deblur-wiener-gray does not ship")
    blurred = degrade.blur(camera, kernel, 2.55 / 255, seed=4)
    gain = psnr(camera, restoration.wiener_net(blurred, kernel)) - psnr(camera, restoration.wiener(blurred, kernel))
    assert gain > 0.7, f"{kernel}: {gain:.2f} dB"
