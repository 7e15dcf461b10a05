"""Published generative checkpoints: junyanz/pytorch-CycleGAN-and-pix2pix generators and the
pytorch/examples DCGAN generator, recognised from their state dicts and rebuilt layer for layer.

    imgen import latest_net_G_A.pth -o horse2zebra.onnx      (CycleGAN / pix2pix ResnetGenerator)
    imgen import latest_net_G.pth -o facades.onnx            (pix2pix UnetGenerator)
    imgen import netG.pth -o dcgan64.onnx                    (pytorch/examples dcgan, main.N keys)

Layouts (the reference repositories' module trees, so their keys load as they are):

- ``ResnetGenerator`` (``model.N``): ReflectionPad(3), 7x7 conv, norm, ReLU; two stride-2 3x3 convs;
  ``n_blocks`` residual blocks (ReflectionPad(1), 3x3 conv, norm, ReLU, [Dropout], ReflectionPad(1),
  3x3 conv, norm); two stride-2 transposed convs; ReflectionPad(3), 7x7 conv, Tanh.  Any ``ngf``, any
  number of blocks (6 and 9 are published), instance norm (convs with bias, no norm parameters) or
  batch norm (convs without bias).  Older files carry ``running_mean``/``running_var``/
  ``num_batches_tracked`` for instance-norm layers; they are dropped, as the reference code does
  before loading.  Exported: task translate, range [-1, 1], size multiple 4, receptive field
  10 + 8 * blocks, ``whole_image`` with instance norm (its per-channel statistics are those of the
  whole input; the export makes them reportable and feedable, norm_stats.py; docs/models.md).
- ``UnetGenerator`` (``model.model.1.model.1...``): ``num_downs`` nested skip blocks (4x4 stride-2
  convs with LeakyReLU 0.2 down, ReLU + 4x4 transposed convs up, Tanh out), batch or instance norm;
  dropout is ignored (inference).  Exported: task translate, range [-1, 1], size multiple
  ``2**num_downs``; batch norm in eval mode (the running statistics; the reference ``test.py``
  without ``--eval`` uses each test batch's statistics instead).
- pytorch/examples ``dcgan`` ``Generator`` (``main.N``): ``ConvTranspose2d(nz, ngf*8, 4, 1, 0)``,
  BN, ReLU, then stride-2 transposed convs halving the channels, BN, ReLU, the last to ``nc``
  channels and Tanh (64x64 with the reference's five layers).  Exported: task generate, latent
  (N, nz) (``nz`` = 100 in the reference), image (N, nc, S, S) in [-1, 1].

Each detector returns None when the keys are not its layout and raises ``Mismatch`` naming what
does not fit when they are.  ``LAYOUTS`` lists them for import_checkpoint's registry.
"""
from __future__ import annotations

import functools
import re
from dataclasses import asdict, dataclass
from typing import Callable, Mapping

import numpy as np
import torch
from torch import nn

from .import_errors import Mismatch

StateDict = Mapping[str, torch.Tensor]
_STAT_SUFFIXES = (".running_mean", ".running_var", ".num_batches_tracked")


# -- the reference modules ---------------------------------------------------------------------

def norm_layer(kind: str) -> Callable[[int], nn.Module]:
    """The reference ``get_norm_layer``: instance (no affine, no running statistics) or batch."""
    if kind == "instance":
        return functools.partial(nn.InstanceNorm2d, affine=False, track_running_stats=False)
    if kind == "batch":
        return functools.partial(nn.BatchNorm2d, affine=True, track_running_stats=True)
    raise ValueError(f"norm must be 'instance' or 'batch', got {kind!r}")


class ResnetBlock(nn.Module):
    def __init__(self, dim: int, norm: str, use_dropout: bool):
        super().__init__()
        bias, layer = norm == "instance", norm_layer(norm)
        block: list[nn.Module] = [nn.ReflectionPad2d(1), nn.Conv2d(dim, dim, 3, bias=bias), layer(dim), nn.ReLU(True)]
        if use_dropout:
            block.append(nn.Dropout(0.5))
        block += [nn.ReflectionPad2d(1), nn.Conv2d(dim, dim, 3, bias=bias), layer(dim)]
        self.conv_block = nn.Sequential(*block)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.conv_block(x)


class ResnetGenerator(nn.Module):
    """(N, input_nc, H, W) in [-1, 1], H and W multiples of 4 -> (N, output_nc, H, W) in [-1, 1]."""

    def __init__(self, input_nc: int, output_nc: int, ngf: int, norm: str, n_blocks: int, use_dropout: bool):
        super().__init__()
        bias, layer = norm == "instance", norm_layer(norm)
        model: list[nn.Module] = [nn.ReflectionPad2d(3), nn.Conv2d(input_nc, ngf, 7, bias=bias), layer(ngf), nn.ReLU(True)]
        for mult in (1, 2):
            model += [nn.Conv2d(ngf * mult, ngf * mult * 2, 3, 2, 1, bias=bias), layer(ngf * mult * 2), nn.ReLU(True)]
        model += [ResnetBlock(ngf * 4, norm, use_dropout) for _ in range(n_blocks)]
        for mult in (4, 2):
            model += [nn.ConvTranspose2d(ngf * mult, ngf * mult // 2, 3, 2, 1, output_padding=1, bias=bias),
                      layer(ngf * mult // 2), nn.ReLU(True)]
        model += [nn.ReflectionPad2d(3), nn.Conv2d(ngf, output_nc, 7), nn.Tanh()]
        self.model = nn.Sequential(*model)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x)


class UnetSkipConnectionBlock(nn.Module):
    def __init__(self, outer_nc: int, inner_nc: int, norm: str, input_nc: int | None = None,
                 submodule: nn.Module | None = None, outermost: bool = False, innermost: bool = False):
        super().__init__()
        self.outermost = outermost
        bias, layer = norm == "instance", norm_layer(norm)
        input_nc = outer_nc if input_nc is None else input_nc
        downconv = nn.Conv2d(input_nc, inner_nc, 4, 2, 1, bias=bias)
        if outermost:
            model = [downconv, submodule, nn.ReLU(True), nn.ConvTranspose2d(inner_nc * 2, outer_nc, 4, 2, 1), nn.Tanh()]
        elif innermost:
            model = [nn.LeakyReLU(0.2, True), downconv,
                     nn.ReLU(True), nn.ConvTranspose2d(inner_nc, outer_nc, 4, 2, 1, bias=bias), layer(outer_nc)]
        else:  # the reference appends Dropout(0.5) here when use_dropout: no weights, identity at inference
            model = [nn.LeakyReLU(0.2, True), downconv, layer(inner_nc), submodule,
                     nn.ReLU(True), nn.ConvTranspose2d(inner_nc * 2, outer_nc, 4, 2, 1, bias=bias), layer(outer_nc)]
        self.model = nn.Sequential(*model)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x) if self.outermost else torch.cat([x, self.model(x)], 1)


class UnetGenerator(nn.Module):
    """(N, input_nc, H, W) in [-1, 1], H and W multiples of 2**num_downs -> (N, output_nc, H, W)."""

    def __init__(self, input_nc: int, output_nc: int, num_downs: int, ngf: int, norm: str):
        super().__init__()
        block = UnetSkipConnectionBlock(ngf * 8, ngf * 8, norm, innermost=True)
        for _ in range(num_downs - 5):
            block = UnetSkipConnectionBlock(ngf * 8, ngf * 8, norm, submodule=block)
        for outer, inner in ((ngf * 4, ngf * 8), (ngf * 2, ngf * 4), (ngf, ngf * 2)):
            block = UnetSkipConnectionBlock(outer, inner, norm, submodule=block)
        self.model = UnetSkipConnectionBlock(output_nc, ngf, norm, input_nc=input_nc, submodule=block, outermost=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x)


class DCGANGenerator(nn.Module):
    """pytorch/examples dcgan: (N, nz) (or (N, nz, 1, 1)) -> (N, nc, 4 * 2**(layers-1), ...) in [-1, 1]."""

    def __init__(self, nz: int, ngf: int, nc: int, layers: int = 5):
        super().__init__()
        chans = [ngf * 2**i for i in reversed(range(layers - 1))]  # 8 ngf, 4 ngf, 2 ngf, ngf
        main: list[nn.Module] = [nn.ConvTranspose2d(nz, chans[0], 4, 1, 0, bias=False), nn.BatchNorm2d(chans[0]), nn.ReLU(True)]
        for a, b in zip(chans, chans[1:]):
            main += [nn.ConvTranspose2d(a, b, 4, 2, 1, bias=False), nn.BatchNorm2d(b), nn.ReLU(True)]
        main += [nn.ConvTranspose2d(chans[-1], nc, 4, 2, 1, bias=False), nn.Tanh()]
        self.main = nn.Sequential(*main)
        self.nz = nz

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.main(z.reshape(z.shape[0], self.nz, 1, 1))


# -- what imgen exports ------------------------------------------------------------------------

@dataclass(frozen=True)
class ImportedConfig:
    layout: str           # resnet | unet | dcgan
    in_channels: int
    out_channels: int
    ngf: int
    norm: str = "batch"
    blocks: int = 0       # resnet: residual blocks; unet: num_downs; dcgan: transposed convs
    dropout: bool = False
    latent: int = 0       # dcgan: nz


class ImportedGenerator(nn.Module):
    """One reference generator (``net``) with the contract imgen exports (``graphs``)."""

    name = "pix2pix_generator"
    value_range = (-1.0, 1.0)

    def __init__(self, config: ImportedConfig):
        super().__init__()
        self.config = config
        c = config
        if c.layout == "resnet":
            self.net: nn.Module = ResnetGenerator(c.in_channels, c.out_channels, c.ngf, c.norm, c.blocks, c.dropout)
        elif c.layout == "unet":
            self.net = UnetGenerator(c.in_channels, c.out_channels, c.blocks, c.ngf, c.norm)
        elif c.layout == "dcgan":
            self.net = DCGANGenerator(c.latent, c.ngf, c.out_channels, c.blocks)
        else:
            raise ValueError(f"layout must be resnet, unet or dcgan, got {c.layout!r}")

    @property
    def size_multiple(self) -> int:
        return 4 if self.config.layout == "resnet" else 2**self.config.blocks

    @property
    def image_size(self) -> int:
        """dcgan: the side of the generated images."""
        return 4 * 2 ** (self.config.blocks - 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)

    def describe(self) -> str:
        c = self.config
        if c.layout == "dcgan":
            side = self.image_size
            return (f"pytorch/examples DCGAN generator (nz {c.latent}, ngf {c.ngf}, {c.out_channels} channels, "
                    f"{side}x{side})")
        kind = f"ResnetGenerator ({c.blocks} blocks" if c.layout == "resnet" else f"UnetGenerator (depth {c.blocks}"
        return f"pytorch-CycleGAN-and-pix2pix {kind}, ngf {c.ngf}, {c.norm} norm)"

    def graphs(self, name: str | None, description: str | None) -> list:
        """The one ONNX graph: a translate model (image -> output) or a generator (latent -> image)."""
        from .graphs import Graph, _latent_feeds, _meta

        c = self.config
        extra = {"arch": f"pix2pix_{c.layout}" if c.layout != "dcgan" else "examples_dcgan",
                 "arch_config": repr(asdict(c))}
        if c.layout == "dcgan":
            meta = _meta(task="generate", channels=c.out_channels, value_range=self.value_range, tile=0,
                         latent_shape=(c.latent,), name=name, description=description, extra=extra)
            return [Graph("", self.net, ("latent",), ("image",), meta, _latent_feeds(c.latent), spatial=False)]
        whole = c.norm == "instance"
        # ResnetGenerator: one output pixel sees 10 + 8 * blocks input pixels each way (measured
        # from the gradient of one output pixel at 2, 6 and 9 blocks); the U-Net's field spans the image.
        radius = 10 + 8 * c.blocks if c.layout == "resnet" else None
        meta = _meta(task="translate", channels=c.in_channels, value_range=self.value_range, scale=1,
                     size_multiple=self.size_multiple, tile=0, whole_image=whole, receptive_field=radius, name=name,
                     description=description, extra=extra)

        def feeds(batch, h, w, rng):
            return {"image": rng.uniform(-1, 1, (batch, c.in_channels, h, w)).astype(np.float32)}

        return [Graph("", self.net, ("image",), ("output",), meta, feeds, spatial=True, size_multiple=self.size_multiple)]


# -- detection ---------------------------------------------------------------------------------

def _weight(sd: StateDict, key: str, family: str, dims: int = 4) -> torch.Tensor:
    w = sd.get(key)
    if w is None or w.dim() != dims:
        raise Mismatch(f"{family}: expected {key} ({dims}-d), found {None if w is None else tuple(w.shape)}")
    return w


def _check_shape(sd: StateDict, key: str, shape: tuple, family: str) -> None:
    w = sd.get(key)
    if w is None or tuple(w.shape) != shape:
        raise Mismatch(f"{family}: {key} has shape {None if w is None else tuple(w.shape)}; expected {shape}")


def _check_channels(cin: int, cout: int, family: str) -> None:
    if cin not in (1, 3) or cout != cin:
        raise Mismatch(f"{family}: {cin} input and {cout} output channels; imgen translates 1 or 3 channels "
                       "to the same number")


_RESNET_BLOCK = re.compile(r"^model\.(\d+)\.conv_block\.(\d+)\.weight$")  # conv and batch-norm weights


def detect_resnet(sd: StateDict) -> tuple[str, dict] | None:
    """ResnetGenerator: model.1.weight (ngf, C, 7, 7) and model.N.conv_block.* keys."""
    if "model.1.weight" not in sd or not any(_RESNET_BLOCK.match(k) for k in sd):
        return None
    family = "pytorch-CycleGAN-and-pix2pix ResnetGenerator"
    first = _weight(sd, "model.1.weight", family)
    ngf, cin = first.shape[0], first.shape[1]
    if tuple(first.shape[2:]) != (7, 7):
        raise Mismatch(f"{family}: model.1.weight has shape {tuple(first.shape)}; expected (ngf, C, 7, 7)")
    blocks = sorted({int(m.group(1)) for m in map(_RESNET_BLOCK.match, sd) if m})
    if blocks != list(range(10, 10 + len(blocks))):
        raise Mismatch(f"{family}: residual blocks at model.{blocks[:3]}...; expected model.10, model.11, ...")
    n = len(blocks)
    convs = sorted({int(m.group(2)) for m in map(_RESNET_BLOCK.match, sd)
                    if m and int(m.group(1)) == 10 and sd[m.group(0)].dim() == 4})
    if convs not in ([1, 5], [1, 6]):
        raise Mismatch(f"{family}: model.10.conv_block convs at {convs}; expected [1, 5] (or [1, 6] with dropout)")
    norm = "batch" if "model.2.weight" in sd else "instance"
    bias = norm == "instance"
    last = 10 + n + 7
    out = _weight(sd, f"model.{last}.weight", family)
    cout = out.shape[0]
    _check_channels(cin, cout, family)
    expect = {"model.1.weight": (ngf, cin, 7, 7), "model.4.weight": (2 * ngf, ngf, 3, 3),
              "model.7.weight": (4 * ngf, 2 * ngf, 3, 3), f"model.{10 + n}.weight": (4 * ngf, 2 * ngf, 3, 3),
              f"model.{13 + n}.weight": (2 * ngf, ngf, 3, 3), f"model.{last}.weight": (cout, ngf, 7, 7)}
    for k in blocks:
        for j in convs:
            expect[f"model.{k}.conv_block.{j}.weight"] = (4 * ngf, 4 * ngf, 3, 3)
    for key, shape in expect.items():
        _check_shape(sd, key, shape, family)
    if bias != ("model.4.bias" in sd):
        raise Mismatch(f"{family}: {'instance' if bias else 'batch'} norm (judged from model.2) but convs "
                       f"{'without' if bias else 'with'} biases; expected biases exactly with instance norm")
    return "pix2pix_resnet", {"layout": "resnet", "in_channels": cin, "out_channels": cout, "ngf": ngf,
                              "norm": norm, "blocks": n, "dropout": convs == [1, 6]}


def detect_unet(sd: StateDict) -> tuple[str, dict] | None:
    """UnetGenerator: model.model.0.weight (ngf, C, 4, 4) and nested model.model.1.model.* blocks."""
    if "model.model.0.weight" not in sd or "model.model.1.model.1.weight" not in sd:
        return None
    family = "pytorch-CycleGAN-and-pix2pix UnetGenerator"
    first = _weight(sd, "model.model.0.weight", family)
    ngf, cin = first.shape[0], first.shape[1]
    # Blocks below the outermost nest as model.model.1(.model.3)*k.model.1 (the submodule sits at 3).
    prefixes = ["model.model"]
    p = "model.model.1"
    while f"{p}.model.1.weight" in sd:
        prefixes.append(f"{p}.model")
        p = f"{p}.model.3"
    depth = len(prefixes)
    if depth < 5:
        raise Mismatch(f"{family}: {depth} levels found; expected num_downs >= 5 (7 for 128, 8 for 256)")
    norm = "batch" if f"{prefixes[1]}.2.weight" in sd else "instance"
    out = _weight(sd, "model.model.3.weight", family)
    cout = out.shape[1]
    _check_channels(cin, cout, family)
    inner = [ngf, 2 * ngf, 4 * ngf] + [8 * ngf] * (depth - 3)
    outer = [cin] + inner[:-1]
    _check_shape(sd, "model.model.0.weight", (ngf, cin, 4, 4), family)
    _check_shape(sd, "model.model.3.weight", (2 * ngf, cout, 4, 4), family)
    for level in range(1, depth):
        pre, down_in = prefixes[level], outer[level]
        up_in = inner[level] if level == depth - 1 else 2 * inner[level]
        up = f"{pre}.3.weight" if level == depth - 1 else f"{pre}.5.weight"
        _check_shape(sd, f"{pre}.1.weight", (inner[level], down_in, 4, 4), family)
        _check_shape(sd, up, (up_in, down_in, 4, 4), family)
    return "pix2pix_unet", {"layout": "unet", "in_channels": cin, "out_channels": cout, "ngf": ngf,
                            "norm": norm, "blocks": depth}


_DCGAN_KEY = re.compile(r"^main\.(\d+)\.(weight|bias|running_mean|running_var|num_batches_tracked)$")


def detect_dcgan(sd: StateDict) -> tuple[str, dict] | None:
    """pytorch/examples dcgan Generator: main.0.weight (nz, 8 ngf, 4, 4), BN at 1, 4, ..., last main.3k."""
    if not sd or not all(_DCGAN_KEY.match(k) for k in sd) or "main.0.weight" not in sd:
        return None
    family = "pytorch/examples DCGAN generator"
    convs = sorted({int(_DCGAN_KEY.match(k).group(1)) for k in sd if k.endswith(".weight") and sd[k].dim() == 4})
    if sd["main.0.weight"].dim() == 4 and "main.1.weight" not in sd and "main.12.weight" not in sd:
        raise Mismatch(f"{family}: main.0 is not followed by batch norm at main.1; this looks like the "
                       "discriminator (netD.pth), not the generator (netG.pth)")
    layers = len(convs)
    if convs != [3 * i for i in range(layers)] or layers < 2:
        raise Mismatch(f"{family}: transposed convs at main.{convs}; expected main.0, main.3, main.6, ... "
                       "(ConvTranspose2d, BatchNorm2d, ReLU repeated, then ConvTranspose2d, Tanh)")
    w0 = sd["main.0.weight"]
    nz, ngf = w0.shape[0], w0.shape[1] // 2 ** (layers - 2)
    nc = sd[f"main.{convs[-1]}.weight"].shape[1]
    if nc not in (1, 3):
        raise Mismatch(f"{family}: {nc} output channels; expected 1 or 3")
    chans = [ngf * 2**i for i in reversed(range(layers - 1))]
    _check_shape(sd, "main.0.weight", (nz, chans[0], 4, 4), family)
    for i, (a, b) in enumerate(zip(chans, chans[1:]), start=1):
        _check_shape(sd, f"main.{3 * i}.weight", (a, b, 4, 4), family)
    for i, c in enumerate(chans):
        _check_shape(sd, f"main.{3 * i + 1}.weight", (c,), family)
    _check_shape(sd, f"main.{convs[-1]}.weight", (chans[-1], nc, 4, 4), family)
    return "examples_dcgan", {"layout": "dcgan", "in_channels": nc, "out_channels": nc, "ngf": ngf,
                              "blocks": layers, "latent": nz}


LAYOUTS: dict[str, Callable[[StateDict], "tuple[str, dict] | None"]] = {
    "pytorch-CycleGAN-and-pix2pix ResnetGenerator (model.1.weight (ngf, C, 7, 7), model.10.conv_block..., "
    "instance or batch norm)": detect_resnet,
    "pytorch-CycleGAN-and-pix2pix UnetGenerator (model.model.0.weight, nested model.model.1.model...)": detect_unet,
    "pytorch/examples DCGAN generator (netG.pth: main.0.weight (nz, 8 ngf, 4, 4) ... main.3k.weight)": detect_dcgan,
}
NAMES = ("pix2pix_resnet", "pix2pix_unet", "examples_dcgan")


def strip_instance_norm_stats(sd: StateDict, model: nn.Module) -> dict[str, torch.Tensor]:
    """``sd`` without running_mean/var/num_batches_tracked of layers that are instance norms without
    running statistics in ``model`` (the reference ``__patch_instance_norm_state_dict``)."""
    instance = {name for name, m in model.named_modules()
                if isinstance(m, nn.InstanceNorm2d) and not m.track_running_stats}
    out = {}
    for key, value in sd.items():
        owner = key.rpartition(".")[0]
        if key.endswith(_STAT_SUFFIXES) and owner in instance:
            continue
        out[key] = value
    return out


def load(name: str, options: dict, sd: StateDict) -> ImportedGenerator:
    """The detected generator with ``sd``'s weights, in eval mode (raises Mismatch when they do not fit)."""
    model = ImportedGenerator(ImportedConfig(**options))
    sd = strip_instance_norm_stats(sd, model.net)
    missing, unexpected = model.net.load_state_dict(sd, strict=False)
    if missing or unexpected:
        raise Mismatch(f"detected {model.describe()} but the weights do not fit: missing {missing[:4]}, "
                       f"unexpected {unexpected[:4]}")
    return model.eval()
