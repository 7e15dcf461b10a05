"""FSRCNN (Dong et al. 2016): feature extraction, shrinking, mapping, expanding convs with PReLUs and a
transposed-conv upscaler, on the Y channel of the low-resolution image.

Accepted: yjn870/FSRCNN-pytorch's layout (``first_part.0`` conv + ``first_part.1`` PReLU, ``mid_part.N``
convs and PReLUs, ``last_part`` ConvTranspose2d with stride = scale, padding k // 2, output padding
scale - 1).  The stride is not in the weights: ``--scale`` is required.
"""
from __future__ import annotations

import re

import torch
from torch import nn

from ..import_errors import Mismatch
from . import Family, Imported, ScaleRequired, StateDict, load_weights, metadata

SCALES = (2, 3, 4)
_MID = re.compile(r"^mid_part\.(\d+)\.(weight|bias)$")


class FSRCNN(nn.Module):
    """(N, C, H, W) low-resolution image in [0, 1] -> (N, C, H * scale, W * scale)."""

    def __init__(self, channels: int, d: int, k1: int, mid: list[tuple[int, int, int]], k_last: int, scale: int):
        super().__init__()
        self.first_part = nn.Sequential(nn.Conv2d(channels, d, k1, padding=k1 // 2), nn.PReLU(d))
        layers: list[nn.Module] = []
        for cin, cout, k in mid:
            layers += [nn.Conv2d(cin, cout, k, padding=k // 2), nn.PReLU(cout)]
        self.mid_part = nn.Sequential(*layers)
        self.last_part = nn.ConvTranspose2d(d, channels, k_last, stride=scale, padding=k_last // 2,
                                            output_padding=scale - 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.last_part(self.mid_part(self.first_part(x)))


def load(sd: StateDict, scale: int | None = None) -> Imported | None:
    if "first_part.0.weight" not in sd or "last_part.weight" not in sd or not any(_MID.match(k) for k in sd):
        return None
    last = sd["last_part.weight"]
    if last.dim() != 4:
        raise Mismatch(f"FSRCNN: last_part.weight has shape {tuple(last.shape)}; expected a transposed conv")
    w1 = sd["first_part.0.weight"]
    mids = sorted({int(m.group(1)) for m in map(_MID.match, sd) if m})
    mid = [(int(sd[f"mid_part.{i}.weight"].shape[1]), int(sd[f"mid_part.{i}.weight"].shape[0]),
            int(sd[f"mid_part.{i}.weight"].shape[2])) for i in mids if sd[f"mid_part.{i}.weight"].dim() == 4]
    if scale is None:
        raise ScaleRequired("FSRCNN", SCALES, "the upscaling stride of its transposed conv is not in the weights")
    channels, d = int(w1.shape[1]), int(w1.shape[0])
    net = load_weights(FSRCNN(channels, d, int(w1.shape[2]), mid, int(last.shape[2]), scale), sd, "FSRCNN")
    y = channels == 1
    meta = metadata(task="sr", channels=channels, scale=scale, color_space="y" if y else None, arch="fsrcnn")
    desc = f"FSRCNN x{scale} (d={d}, {len(mid) - 2} mapping layers) on {'the Y channel' if y else 'RGB'} in [0, 1]"
    return Imported("FSRCNN", net, {**meta, "imgen.description": desc}, [f"scale={scale} from --scale"])


FAMILY: Family = Family("FSRCNN", "first_part.0/1, mid_part.N convs and PReLUs, last_part ConvTranspose2d "
                          "(yjn870/FSRCNN-pytorch), Y channel, --scale", load)
