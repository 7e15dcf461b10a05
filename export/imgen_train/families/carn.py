"""CARN and CARN-M (Ahn et al. 2018, nmhkahn/CARN-pytorch): cascading residual blocks; one network
for x2, x3 and x4 (``forward(x, scale)``) or a single-scale one.

Accepted: ``sub_mean``/``add_mean`` 1x1 mean shifts, ``entry``, blocks ``b1..b3`` each with cascading 1x1
``c1..c3`` and either three residual blocks (CARN: ``bK.b1``, ``bK.b2``, ``bK.b3``) or one efficient,
grouped, shared one (CARN-M: ``bK.b1`` only, conv-conv-1x1), ``c1..c3``, an upsampler with ``up2``,
``up3``, ``up4`` branches (multi-scale; ``--scale`` required) or one ``up`` branch, and ``exit``.  Any width and
group.  One ONNX file per scale.  The input range is read from the mean shift: a bias of about 0.45
means RGB in [0, 1] (the published files), about 114 means [0, 255].
"""
from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn import functional as F

from ..import_errors import Mismatch
from . import Family, Imported, ScaleRequired, StateDict, load_weights, metadata


class _MeanShift(nn.Module):
    def __init__(self):
        super().__init__()
        self.shifter = nn.Conv2d(3, 3, 1)

    def forward(self, x):
        return self.shifter(x)


class _Basic(nn.Module):
    def __init__(self, cin, cout, k=1):
        super().__init__()
        self.body = nn.Sequential(nn.Conv2d(cin, cout, k, padding=k // 2), nn.ReLU())

    def forward(self, x):
        return self.body(x)


class _Residual(nn.Module):
    """CARN: conv-ReLU-conv; CARN-M (efficient): grouped conv-ReLU-grouped conv-ReLU-1x1; relu(out + x)."""

    def __init__(self, width: int, efficient: bool, group: int):
        super().__init__()
        layers = [nn.Conv2d(width, width, 3, padding=1, groups=group), nn.ReLU(),
                  nn.Conv2d(width, width, 3, padding=1, groups=group)]
        if efficient:
            layers += [nn.ReLU(), nn.Conv2d(width, width, 1)]
        self.body = nn.Sequential(*layers)

    def forward(self, x):
        return F.relu(self.body(x) + x)


class _Block(nn.Module):
    def __init__(self, width: int, efficient: bool, group: int, shared: bool):
        super().__init__()
        self.b1 = _Residual(width, efficient, group)
        if not shared:
            self.b2 = _Residual(width, efficient, group)
            self.b3 = _Residual(width, efficient, group)
        self.shared = shared
        self.c1, self.c2, self.c3 = (_Basic(width * k, width) for k in (2, 3, 4))

    def forward(self, x):
        blocks = (self.b1, self.b1, self.b1) if self.shared else (self.b1, self.b2, self.b3)
        c, o = x, x
        for b, conv in zip(blocks, (self.c1, self.c2, self.c3)):
            c = torch.cat([c, b(o)], dim=1)
            o = conv(c)
        return o


class _Up(nn.Module):
    def __init__(self, width: int, scale: int, group: int):
        super().__init__()
        layers: list[nn.Module] = []
        if scale == 3:
            layers += [nn.Conv2d(width, 9 * width, 3, padding=1, groups=group), nn.ReLU(), nn.PixelShuffle(3)]
        else:
            for _ in range(int(math.log2(scale))):
                layers += [nn.Conv2d(width, 4 * width, 3, padding=1, groups=group), nn.ReLU(), nn.PixelShuffle(2)]
        self.body = nn.Sequential(*layers)

    def forward(self, x):
        return self.body(x)


class _Upsample(nn.Module):
    def __init__(self, width: int, scales: tuple[int, ...], group: int, multi: bool):
        super().__init__()
        if multi:
            for s in scales:
                self.add_module(f"up{s}", _Up(width, s, group))
        else:
            self.up = _Up(width, scales[0], group)
        self.multi = multi

    def forward(self, x, scale: int):
        return getattr(self, f"up{scale}")(x) if self.multi else self.up(x)


class CARN(nn.Module):
    """forward(x, scale): (N, 3, H, W) RGB -> (N, 3, H * scale, W * scale), in the file's range."""

    def __init__(self, width: int, efficient: bool, group: int, shared: bool, scales: tuple[int, ...], multi: bool):
        super().__init__()
        self.sub_mean, self.add_mean = _MeanShift(), _MeanShift()
        self.entry = nn.Conv2d(3, width, 3, padding=1)
        self.b1, self.b2, self.b3 = (_Block(width, efficient, group, shared) for _ in range(3))
        self.c1, self.c2, self.c3 = (_Basic(width * k, width) for k in (2, 3, 4))
        self.upsample = _Upsample(width, scales, group, multi)
        self.exit = nn.Conv2d(width, 3, 3, padding=1)

    def forward(self, x, scale: int):
        x = self.entry(self.sub_mean(x))
        c, o = x, x
        for b, conv in zip((self.b1, self.b2, self.b3), (self.c1, self.c2, self.c3)):
            c = torch.cat([c, b(o)], dim=1)
            o = conv(c)
        return self.add_mean(self.exit(self.upsample(o, scale)))


class AtScale(nn.Module):
    """A multi-scale network's forward(x, scale) at one scale: forward(x)."""

    def __init__(self, net: nn.Module, scale: int):
        super().__init__()
        self.net, self.scale = net, scale

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x, self.scale)


def _up_scale(sd: StateDict, prefix: str, width: int) -> int:
    convs = sorted(int(k.split(".")[-2]) for k in sd if k.startswith(prefix + ".body.") and k.endswith(".weight"))
    first = sd[f"{prefix}.body.{convs[0]}.weight"]
    if first.shape[0] == 9 * width and len(convs) == 1:
        return 3
    if first.shape[0] == 4 * width:
        return 2 ** len(convs)
    raise Mismatch(f"CARN: {prefix}.body.0.weight has {first.shape[0]} outputs; expected 4 or 9 x {width}")


def load(sd: StateDict, scale: int | None = None) -> Imported | None:
    needed = ("sub_mean.shifter.weight", "entry.weight", "b1.b1.body.0.weight", "b1.c1.body.0.weight", "exit.weight")
    if not all(k in sd for k in needed):
        return None
    width = int(sd["entry.weight"].shape[0])
    group = width // int(sd["b1.b1.body.0.weight"].shape[1])
    efficient = "b1.b1.body.4.weight" in sd
    shared = "b1.b2.body.0.weight" not in sd
    multi = any(k.startswith("upsample.up2.") for k in sd)
    if multi:
        scales = tuple(s for s in (2, 3, 4, 8) if f"upsample.up{s}.body.0.weight" in sd)
        for s in scales:
            if _up_scale(sd, f"upsample.up{s}", width) != s:
                raise Mismatch(f"CARN: upsample.up{s} does not upscale by {s}")
    else:
        scales = (_up_scale(sd, "upsample.up", width),)
    name = ("CARN-M" if efficient and shared else "CARN") + ("" if group == 1 else f" (group {group})")
    net = load_weights(CARN(width, efficient, group, shared, scales, multi), sd, name)
    if scale is None:
        if multi:
            raise ScaleRequired(name, scales, f"one network serves x{', x'.join(map(str, scales))}")
        scale = scales[0]
    if scale not in scales:
        raise ScaleRequired(name, scales, f"--scale {scale} asked for, but the network upscales by "
                                          f"{', '.join(map(str, scales))} only")
    shift = float(sd["sub_mean.shifter.bias"].abs().mean()) if "sub_mean.shifter.bias" in sd else 0.45
    rng = "0,255" if shift > 2 else "0,1"
    meta = metadata(task="sr", channels=3, scale=scale, value_range=rng, arch="carn")
    desc = (f"{name} x{scale} ({width} features{', multi-scale: one file per scale' if multi else ''}), RGB in "
            f"[{rng.replace(',', ', ')}]")
    notes = [f"scale {scale}" + (" of " + ", ".join(map(str, scales)) if multi else ""),
             f"range {rng}: the mean shift's bias is {shift:.3g}"]
    return Imported(name, AtScale(net, scale).eval(), {**meta, "imgen.description": desc}, notes)


FAMILY: Family = Family("CARN", "sub_mean, entry, b1-b3 cascading blocks (CARN: three residual blocks each; CARN-M: one "
                        "shared grouped efficient block), upsample.up2/up3/up4 or upsample.up, exit "
                        "(nmhkahn/CARN-pytorch); --scale for the multi-scale files", load)
