"""Non-blind deblurring in two steps: Wiener deconvolution with the known kernel, then a network
that removes what Wiener leaves (amplified noise, ringing), registered as the ``wiener_net`` method.

The network is a model file whose metadata says ``imgen.input_from = wiener`` (trained by
``imgen train --arch wiener_refine``, docs/models.md): its input is Wiener's output (float, clipped
to [0, 1]) at the balance it was trained with (``imgen.wiener_balance``), not a blurred image, so
it is run only through this method.  A 1-channel network runs on the Y, Cb and Cr planes of colour images (the model call's
colour policy, ``ImageModel.__call__``).
"""
from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

from .. import methods
from .._validate import image_max
from ..degrade import as_image
from ..errors import ImgenError
from .deblur import BALANCE, _as_array, _kernel_param, wiener

#: The shipped network (on the CPU its int8 variant, ``engine.resolve_model_path``).
REFINER = "deblur-wiener-gray"
#: The metadata value (``imgen.input_from``) of a network that restores Wiener's output.
INPUT_FROM = "wiener"


@functools.lru_cache(maxsize=4)
def _refiner(name: str):
    """The loaded network ``name`` (a shipped name or an .onnx path), checked to take Wiener's output."""
    from ..image_model import ImageModel
    from ..loading import load

    model = load(name)
    if not isinstance(model, ImageModel) or model.info.extra.get("input_from") != INPUT_FROM:
        raise ImgenError(f"refiner {name!r} is not a network that restores Wiener's output (its metadata must "
                         f"say imgen.input_from={INPUT_FROM}; train one with imgen train --arch wiener_refine)")
    return model


def _training_balance(model) -> float:
    text = model.info.extra.get("wiener_balance", str(BALANCE))
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not 0 < value <= 1000:
        raise ImgenError(f"refiner {model.name}: imgen.wiener_balance must be a number in (0, 1000], got {text!r}")
    return value


def wiener_net(image: np.ndarray, kernel, *, balance: float | None = None, refiner: str = REFINER) -> np.ndarray:
    """Deblur an HWC/HW image (uint8 / uint16 / float32 in [0, 1]) blurred by ``kernel`` (array or a
    name from ``imgen.degrade.fixed_kernels``): Wiener (:func:`~imgen.restoration.wiener` at
    ``balance``; None: the balance the network was trained with, its ``imgen.wiener_balance``, else
    Wiener's default) refined by the network ``refiner`` (a shipped name or an .onnx path).  Same
    dtype and layout."""
    image = as_image(image)
    model = _refiner(str(refiner))
    if balance is None:
        balance = _training_balance(model)
    top = image_max(image.dtype)
    work = image.astype(np.float32) / np.float32(top) if image.dtype != np.float32 else image
    deconvolved = np.clip(wiener(work, kernel, balance=balance), 0.0, 1.0).astype(np.float32)
    out = model(deconvolved, clamp=True)
    out = np.asarray(out, np.float32).reshape(image.shape)
    if image.dtype == np.float32:
        return out
    return np.clip(np.rint(out * top), 0, top).astype(image.dtype)


@methods.register("wiener_net", task="deblur",
                  help="Wiener deconvolution (the known kernel) refined by a network (deblur-wiener-gray)")
class WienerNetDeblur:
    """The registry's ``wiener_net``: :func:`wiener_net`."""

    @dataclass(frozen=True, kw_only=True)
    class Params(methods.Params):
        kernel: str | tuple | None = _kernel_param()
        wiener_balance: float | None = methods.param(
            None, help="Wiener's balance (default: the one the refiner was trained with, its imgen.wiener_balance)",
            min=0.0, min_open=True, max=1000.0)
        refiner: str = methods.param(REFINER, help="the network that refines Wiener's output: a shipped name or "
                                                  "an .onnx file whose metadata says imgen.input_from=wiener")

    def __call__(self, image: np.ndarray, params: Params) -> np.ndarray:
        return wiener_net(image, _as_array(params.kernel), balance=params.wiener_balance, refiner=params.refiner)
