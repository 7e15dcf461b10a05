"""Published architectures spandrel does not know, recognised from their state dicts: one module per
family, every family listed once in ``FAMILIES`` (duplicates refused), tried in that order.

    imgen import DnCNN-S-25.pth -o dncnn.onnx             (SaoYan's dncnn.N layout, BatchNorm folded)
    imgen import model_epoch_50.pth --trust-pickle --scale 2 -o vdsr-x2.onnx
    imgen import carn_m.pth --scale 3 -o carn-m-x3.onnx

A family's ``load(state_dict, scale)`` returns None when the keys are not its layout, raises
``Mismatch`` when they are but the shapes do not fit (naming the layer), ``ScaleRequired`` when the
file holds several scales (or none the weights can tell) and ``--scale`` was not given, and otherwise
an ``Imported``: the network wrapped so that its forward takes and returns images (the exported graph
always outputs the restored image, whatever the authors' forward returned), and the conventions the
authors' test scripts use, as imgen metadata (``imgen.pre_upsample``, ``imgen.color_space``,
``imgen.range``; docs/import.md).  Conventions that the weights cannot tell (a 0-1 or 0-255 input) are
decided by behaviour where that is reliable (``infer_range``) and listed in ``imgen.inferred``.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Iterator, Mapping

import torch
from torch import nn

from ..import_errors import Mismatch

StateDict = Mapping[str, torch.Tensor]


class ScaleRequired(ValueError):
    """The file serves several scales, or its scale is not in the weights: ``--scale`` must say which."""

    def __init__(self, family: str, choices: tuple[int, ...], why: str):
        self.choices = choices
        listed = ", ".join(str(s) for s in choices)
        super().__init__(f"{family}: {why}; say which with --scale ({listed}), one ONNX file per scale, e.g. "
                         f"imgen import FILE --scale {choices[0]} -o model-x{choices[0]}.onnx")


@dataclass
class Imported:
    """A recognised network ready to export: ``module`` maps the graph input (N, C, H, W) to the output
    image; ``metadata`` the imgen.* entries; ``notes`` what the import decided and why."""

    family: str
    module: nn.Module
    metadata: dict[str, str]
    notes: list[str] = field(default_factory=list)
    infer_range: bool = False  # 0-1 or 0-255 input cannot be told from the weights: decide it by behaviour
    probe: bool = True  # measure receptive field / whole-image dependence on the ONNX file
    min_size: int = 1  # the smallest input side the network takes (written as imgen.min_size)


@dataclass(frozen=True)
class Family:
    name: str
    layouts: str  # what it accepts, for error messages and docs/import.md
    load: Callable[[StateDict, "int | None"], "Imported | None"]


class Registry:
    """Families by name, in the order they are tried; adding a name twice raises ValueError."""

    def __init__(self) -> None:
        self._families: dict[str, Family] = {}

    def add(self, *families: Family) -> None:
        for family in families:
            if family.name in self._families:
                raise ValueError(f"family {family.name!r} is registered twice")
            self._families[family.name] = family

    def __iter__(self) -> Iterator[Family]:
        return iter(self._families.values())

    def __getitem__(self, name: str) -> Family:
        return self._families[name]

    def __contains__(self, name: str) -> bool:
        return name in self._families

    def names(self) -> list[str]:
        return list(self._families)


def metadata(*, task: str, channels: int, scale: int = 1, value_range: str = "0,1", pre_upsample: str | None = None,
             color_space: str | None = None, receptive_field: int | None = None, **extra: str) -> dict[str, str]:
    """imgen.* entries of an imported family (extra keys are written as imgen.<key>)."""
    meta = {"imgen.task": task, "imgen.channels": str(channels), "imgen.scale": str(scale),
            "imgen.range": value_range}
    if pre_upsample:
        meta["imgen.pre_upsample"] = pre_upsample
    if color_space:
        meta["imgen.color_space"] = color_space
    if receptive_field is not None:
        meta["imgen.receptive_field"] = str(receptive_field)
    meta.update({f"imgen.{k}": v for k, v in extra.items()})
    return meta


def load_weights(net: nn.Module, sd: StateDict, family: str) -> nn.Module:
    """``net`` with ``sd`` loaded strictly (Mismatch naming the first differences), eval mode."""
    ours = net.state_dict()
    missing = [k for k in ours if k not in sd]
    extra = [k for k in sd if k not in ours]
    if missing or extra:
        raise Mismatch(f"{family}: the layout differs from the one recognised: missing {missing[:4]}, "
                       f"unexpected {extra[:4]}")
    for k, v in ours.items():
        if tuple(sd[k].shape) != tuple(v.shape):
            raise Mismatch(f"{family}: {k} has shape {tuple(sd[k].shape)}; the layout needs {tuple(v.shape)}")
    net.load_state_dict({k: sd[k] for k in ours})
    return net.eval()


def find(sd: StateDict, scale: int | None = None) -> Imported | None:
    """The first family that recognises ``sd`` (None if none); raises Mismatch or ScaleRequired."""
    for family in FAMILIES:
        found = family.load(sd, scale)
        if found is not None:
            return found
    return None


#: A range is decided by behaviour only when the two candidates differ by at least this many dB.
RANGE_MARGIN_DB = 3.0


def infer_range(module: nn.Module, scale: int, channels: int) -> tuple[str | None, str]:
    """("0,1" or "0,255" or None, why) for an upscaler whose input range the weights do not tell: run it on
    a natural image downscaled by MATLAB bicubic, fed in [0, 1] and in [0, 255], and keep the range whose
    output is closer to the original (a wrong range gives a washed-out or saturated image, many dB
    worse); None when the two are within RANGE_MARGIN_DB."""
    import numpy as np

    from imgen import degrade

    from ..probe_images import natural

    side = 24 * scale
    hr = natural(side, side, channels, seed=11).astype(np.float64)
    lr = degrade.downscale(hr.astype(np.float32), scale)
    x = torch.from_numpy(np.ascontiguousarray(lr.transpose(2, 0, 1))[None].astype(np.float32))
    scores = {}
    with torch.no_grad():
        for name, top in (("0,1", 1.0), ("0,255", 255.0)):
            out = module(x * top)[0].numpy().transpose(1, 2, 0).astype(np.float64) / top
            if out.shape != hr.shape:
                return None, f"range not decided: the output is {out.shape}, expected {hr.shape}"
            err = np.mean((np.clip(out, 0, 1)[scale:-scale, scale:-scale] - hr[scale:-scale, scale:-scale]) ** 2)
            scores[name] = 10 * np.log10(1 / max(err, 1e-12))
    best, other = sorted(scores, key=lambda name: scores[name], reverse=True)
    why = (f"on a natural image downscaled x{scale}, input in [0, 1] gives {scores['0,1']:.2f} dB, in [0, 255] "
           f"{scores['0,255']:.2f} dB against the original")
    if scores[best] - scores[other] < RANGE_MARGIN_DB:
        return None, f"range not decided ({why}: within {RANGE_MARGIN_DB:g} dB)"
    return best, f"range {best} inferred by behaviour ({why})"


def describe_all() -> str:
    return "; ".join(f"{f.name} ({f.layouts})" for f in FAMILIES)


from . import carn, dncnn, espcn, fsrcnn, imdn, rfdn, rlfn, srcnn, vdsr  # noqa: E402  (they import the helpers above)

FAMILIES = Registry()
FAMILIES.add(dncnn.FAMILY, vdsr.FAMILY, srcnn.FAMILY, fsrcnn.FAMILY, espcn.FAMILY, carn.FAMILY, rlfn.FAMILY,
             imdn.FAMILY, rfdn.FAMILY)
