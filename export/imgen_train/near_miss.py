"""Near-misses of architectures spandrel knows: a state dict most of whose keys are one architecture's,
with some missing or extra (SPAN re-parameterised to ``eval_conv`` only, SAFMN with a leading
LayerNorm), named as such instead of a generic refusal.

    looks like SPAN but has extra keys: ...; missing: ... (spandrel's SPAN needs them)

Each reference architecture is built small (``REFERENCES``, spandrel's own classes) and its key names,
with every number replaced by ``N``, compared with the file's: the file is a near-miss of the
architecture whose keys cover at least ``MIN_FOUND`` of the file's and ``MIN_EXPECTED`` of its own.
"""
from __future__ import annotations

from typing import Any

import importlib
import re
import warnings
from functools import lru_cache
from typing import Mapping

MIN_FOUND = 0.6
MIN_EXPECTED = 0.25
#: arch -> (spandrel module, class, small keyword arguments)
REFERENCES: dict[str, tuple[str, str, dict[str, Any]]] = {
    "SPAN": ("SPAN", "SPAN", dict(num_in_ch=3, num_out_ch=3, feature_channels=8, upscale=2)),
    "SAFMN": ("SAFMN", "SAFMN", dict(dim=8, n_blocks=1, upscaling_factor=2)),
    "ESRGAN": ("ESRGAN", "ESRGAN", dict(in_nc=3, out_nc=3, num_filters=8, num_blocks=1, scale=2)),
    "Compact": ("Compact", "Compact", dict(num_in_ch=3, num_out_ch=3, num_feat=8, num_conv=2, upscale=2)),
    "OmniSR": ("OmniSR", "OmniSR", dict(num_feat=16, block_num=1, window_size=8, res_num=1, up_scale=2)),
    "PLKSR": ("PLKSR", "PLKSR", dict(dim=16, n_blocks=2, upscaling_factor=2, kernel_size=7)),
    "SwinIR": ("SwinIR", "SwinIR", dict(in_chans=3, embed_dim=12, depths=[2], num_heads=[2], window_size=4,
                                        mlp_ratio=2.0, upscale=2, upsampler="pixelshuffle")),
    "RCAN": ("RCAN", "RCAN", dict(scale=2, n_resgroups=1, n_resblocks=1, n_feats=16, reduction=4)),
    "NAFNet": ("NAFNet", "NAFNet", dict(img_channel=3, width=8, middle_blk_num=1, enc_blk_nums=[1], dec_blk_nums=[1])),
    "DRUNet": ("DRUNet", "DRUNet", dict(in_nc=4, out_nc=3, nc=[8, 8, 8, 8], nb=1)),
}
_NUM = re.compile(r"\d+")


def normalise(key: str) -> str:
    return _NUM.sub("N", key)


@lru_cache(maxsize=None)
def _reference_keys(arch: str) -> frozenset[str] | None:
    module, cls, kwargs = REFERENCES[arch]
    try:
        import torch

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            net = getattr(importlib.import_module(f"spandrel.architectures.{module}"), cls)(**kwargs)
        return frozenset(normalise(k) for k in net.state_dict() if not k.endswith("num_batches_tracked")) \
            if isinstance(net, torch.nn.Module) else None
    except Exception:  # noqa: BLE001 -- spandrel (or torchvision) missing, or another version's signature
        return None


def near_miss(sd: Mapping[str, object]) -> str | None:
    """'looks like ARCH but has extra keys: ...; missing: ...' for the closest reference, or None."""
    found = {normalise(k): k for k in sd if not k.endswith("num_batches_tracked")}
    if not found:
        return None
    best = None
    for arch in REFERENCES:
        expected = _reference_keys(arch)
        if not expected:
            continue
        common = len(found.keys() & expected)
        cover_found, cover_expected = common / len(found), common / len(expected)
        if cover_found >= MIN_FOUND and cover_expected >= MIN_EXPECTED:
            score = common / len(found.keys() | expected)
            if best is None or score > best[0]:
                best = (score, arch, expected)
    if best is None:
        return None
    _, arch, expected = best
    extra = sorted(found[k] for k in found.keys() - expected)
    missing = sorted(expected - found.keys())

    def listed(keys):
        return ", ".join(keys[:6]) + (f", ... ({len(keys)} in all)" if len(keys) > 6 else "") if keys else "none"

    return (f"looks like {arch} (spandrel) but has extra keys: {listed(extra)}; missing: {listed(missing)} "
            f"(N stands for any number). A variant of {arch} spandrel does not load: re-parameterised or "
            "modified weights need the authors' code to be turned back into the published layout")
