"""The architecture registry: every architecture imgen_train knows, listed in one place.

Denoisers (dncnn, ffdnet) and the inpainter (gated_inpaint) are one network; generative architectures (dcgan, vae, cyclegan) are one
module holding the networks trained together (generator + discriminator, encoder + decoder, ...).

``ARCHS`` maps a name to (model class, config dataclass).  ``build(name, **options)`` makes a
model; unknown names and unknown options raise ValueError naming what is supported.
"""
from __future__ import annotations

import dataclasses
from typing import Any, NamedTuple

from torch import nn

from .cyclegan import CycleGAN, CycleGANConfig
from .dcgan import DCGAN, DCGANConfig
from .deblurnet import DeblurNet, DeblurNetConfig
from .dejpeg import DeJpeg, DeJpegConfig
from .dncnn import DnCNN, DnCNNConfig
from .ffdnet import FFDNet, FFDNetConfig
from .gated import GatedInpaint, GatedInpaintConfig
from .srnet import SRNet, SRNetConfig
from .vae import VAE, VAEConfig
from .wiener_refine import WienerRefine, WienerRefineConfig


class ArchEntry(NamedTuple):
    cls: type
    config: type


def _registry(*entries: tuple[str, type, type]) -> dict[str, ArchEntry]:
    out: dict[str, ArchEntry] = {}
    for name, cls, config in entries:
        if name in out:
            raise ValueError(f"architecture {name!r} registered twice")
        out[name] = ArchEntry(cls, config)
    return out


ARCHS: dict[str, ArchEntry] = _registry(
    ("dncnn", DnCNN, DnCNNConfig),
    ("ffdnet", FFDNet, FFDNetConfig),
    ("dcgan", DCGAN, DCGANConfig),
    ("vae", VAE, VAEConfig),
    ("cyclegan", CycleGAN, CycleGANConfig),
    ("gated_inpaint", GatedInpaint, GatedInpaintConfig),
    ("srnet", SRNet, SRNetConfig),
    ("dejpeg", DeJpeg, DeJpegConfig),
    ("deblurnet", DeblurNet, DeblurNetConfig),
    ("wiener_refine", WienerRefine, WienerRefineConfig),
)


def config_for(name: str, **options: Any):
    """The config dataclass of architecture ``name`` with ``options`` applied."""
    if name not in ARCHS:
        raise ValueError(f"unknown architecture {name!r}; known: {', '.join(ARCHS)}")
    config_cls = ARCHS[name].config
    fields = {f.name for f in dataclasses.fields(config_cls)}
    unknown = set(options) - fields
    if unknown:
        raise ValueError(f"{name} has no option(s) {', '.join(sorted(unknown))}; "
                         f"options: {', '.join(sorted(fields))}")
    return config_cls(**options)


def build(name: str, **options: Any) -> nn.Module:
    """A fresh model of architecture ``name`` (options: fields of its config dataclass)."""
    config = config_for(name, **options)
    return ARCHS[name].cls(config)


def option_names(name: str) -> set[str]:
    """The option names (config fields) of architecture ``name``."""
    config_for(name)  # validates the name
    return {f.name for f in dataclasses.fields(ARCHS[name].config)}


def task_of(name: str) -> str:
    """The training task of architecture ``name``: its ``train_task`` when the training differs from
    what the graph does (``task``), else ``task`` (``denoise`` unless the class says otherwise)."""
    config_for(name)
    cls = ARCHS[name].cls
    return getattr(cls, "train_task", getattr(cls, "task", "denoise"))


__all__ = ["ARCHS", "ArchEntry", "CycleGAN", "CycleGANConfig", "DCGAN", "DCGANConfig", "DnCNN", "DnCNNConfig",
           "FFDNet", "FFDNetConfig", "GatedInpaint", "GatedInpaintConfig", "SRNet", "SRNetConfig", "DeJpeg", "DeJpegConfig", "DeblurNet",
           "DeblurNetConfig", "VAE", "VAEConfig", "WienerRefine", "WienerRefineConfig", "build", "config_for", "option_names", "task_of"]
