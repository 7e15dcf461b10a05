"""What each architecture exports: one ``Graph`` per ONNX file, with its inputs, outputs, dynamic
axes, imgen metadata and a way to make test inputs for the parity gate.

denoisers (dncnn, ffdnet): one file, ``image`` [+ ``sigma``] -> ``output``, task denoise.
dcgan: the generator, ``latent`` (N, latent) -> ``image`` (N, C, S, S) in [-1, 1], task generate.
vae: ``-encoder``: ``image`` (N, C, S, S) in [0, 1] -> ``mean``, ``logvar`` (N, latent), task encode;
     ``-decoder``: ``latent`` (N, latent) -> ``image`` in [0, 1], task decode.
cyclegan: ``-a2b`` / ``-b2a``: ``image`` (N, C, H, W) in [-1, 1] -> ``output``, task translate,
     H and W multiples of 4.  Only the batch axis is dynamic where sizes are fixed by the network.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Callable

import numpy as np
import torch
from torch import nn

Feeds = Callable[[int, int, int, np.random.Generator], dict[str, np.ndarray]]


@dataclass
class Graph:
    part: str                     # file-name suffix ("" for single-file models)
    module: nn.Module             # forward(*inputs, in the order of ``inputs``)
    inputs: tuple[str, ...]
    outputs: tuple[str, ...]
    metadata: dict[str, str]
    feeds: Feeds                  # (batch, height, width, rng) -> float32 inputs
    spatial: bool                 # the first input's height/width are dynamic (checked at odd sizes)
    size_multiple: int = 1
    min_size: int = 1             # the smallest height/width the network takes (RLFN's attention: 15)

    def example(self) -> tuple[torch.Tensor, ...]:
        """Trace-time inputs (batch 2; a non-square size for spatial graphs, at least min_size)."""
        m = self.size_multiple
        low = -(-self.min_size // m) * m
        feeds = self.feeds(2, max(6 * m, low), max(4 * m + 2 * m * 2, low + 2 * m), np.random.default_rng(0))
        return tuple(torch.from_numpy(feeds[k]) for k in self.inputs)

    def dynamic_shapes(self) -> tuple:
        """Per input (in order), its dynamic axes: batch, and height/width for spatial graphs."""
        batch = torch.export.Dim("batch", min=1, max=4096)
        shapes = []
        for k in range(len(self.inputs)):
            axes = {0: batch}
            if self.spatial and k == 0:  # the image; a noise level (N, 1, 1, 1) has only a batch
                m = self.size_multiple
                if m == 1:
                    axes[2] = torch.export.Dim("height", min=self.min_size, max=65536)
                    axes[3] = torch.export.Dim("width", min=self.min_size, max=65536)
                else:
                    axes[2] = m * torch.export.Dim("height_div", min=1, max=65536 // m)
                    axes[3] = m * torch.export.Dim("width_div", min=1, max=65536 // m)
            shapes.append(axes)
        return tuple(shapes)


def _extra(model: nn.Module, **more: str) -> dict[str, str]:
    return {"arch": model.name, "arch_config": json.dumps(model.config.__dict__, sort_keys=True), **more}


def _meta(**fields) -> dict[str, str]:
    from imgen import ModelInfo

    info = ModelInfo(**fields)
    info.validate()
    return info.to_metadata()


def denoise_graphs(model: nn.Module, name: str | None, description: str | None) -> list[Graph]:
    radius = int(getattr(model, "receptive_radius", 32))
    noise = bool(getattr(model, "noise_input", False))
    meta = _meta(task="denoise", channels=model.in_channels, value_range=(0.0, 1.0), scale=1,
                 size_multiple=getattr(model, "size_multiple", 1), tile=512, tile_overlap=max(16, 4 * radius),
                 noise_input="sigma" if noise else None, noise_kind="scalar", name=name, description=description,
                 extra=_extra(model))

    def feeds(batch, h, w, rng):
        image = rng.random((batch, model.in_channels, h, w)).astype(np.float32)
        if not noise:
            return {"image": image}
        sigma = rng.uniform(0, 75 / 255, (batch, 1, 1, 1)).astype(np.float32)
        noisy = np.clip(image + rng.normal(0, 1, image.shape) * sigma, -0.5, 1.5).astype(np.float32)
        return {"image": noisy, "sigma": sigma}

    inputs = ("image", "sigma") if noise else ("image",)
    return [Graph("", model, inputs, ("output",), meta, feeds, spatial=True,
                  size_multiple=getattr(model, "size_multiple", 1))]


def _latent_feeds(latent: int) -> Feeds:
    return lambda batch, h, w, rng: {"latent": rng.standard_normal((batch, latent)).astype(np.float32)}


def dcgan_graphs(model, name, description) -> list[Graph]:
    c = model.config
    meta = _meta(task="generate", channels=c.in_channels, value_range=model.value_range, tile=0,
                 latent_shape=(c.latent,), name=name, description=description, extra=_extra(model))
    return [Graph("", model.generator, ("latent",), ("image",), meta, _latent_feeds(c.latent), spatial=False)]


def vae_graphs(model, name, description) -> list[Graph]:
    c = model.config
    common = dict(channels=c.in_channels, value_range=model.value_range, tile=0, latent_shape=(c.latent,),
                  description=description)
    size = c.image_size

    def image_feeds(batch, h, w, rng):
        return {"image": rng.random((batch, c.in_channels, size, size)).astype(np.float32)}

    enc = _meta(task="encode", name=f"{name}-encoder" if name else None, **common,
                extra=_extra(model, image_size=str(size)))
    dec = _meta(task="decode", name=f"{name}-decoder" if name else None, **common,
                extra=_extra(model, image_size=str(size)))
    return [Graph("encoder", model.encoder, ("image",), ("mean", "logvar"), enc, image_feeds, spatial=False),
            Graph("decoder", model.decoder, ("latent",), ("image",), dec, _latent_feeds(c.latent), spatial=False)]


def cyclegan_graphs(model, name, description) -> list[Graph]:
    c = model.config
    out = []
    for part, net in (("a2b", model.g_ab), ("b2a", model.g_ba)):
        # An overlap of four receptive-field radii blends seamlessly (docs/model-format.md).  With
        # instance norm the output depends on the whole image: the export makes its statistics
        # feedable (norm_stats.py), so the engine runs images whole up to a pixel budget, and
        # larger ones in tiles fed the statistics of a downscaled whole-image pass.
        overlap = min(4 * model.receptive_radius, 256)
        meta = _meta(task="translate", channels=c.in_channels, value_range=model.value_range, scale=1,
                     size_multiple=model.size_multiple, tile=512, tile_overlap=overlap,
                     whole_image=True if not model.tile_safe else None,
                     name=f"{name}-{part}" if name else None, description=description,
                     extra=_extra(model, direction=part))

        def feeds(batch, h, w, rng):
            return {"image": rng.uniform(-1, 1, (batch, c.in_channels, h, w)).astype(np.float32)}

        out.append(Graph(part, net, ("image",), ("output",), meta, feeds, spatial=True,
                         size_multiple=model.size_multiple))
    return out


def restore_graphs(model: nn.Module, name: str | None, description: str | None) -> list[Graph]:
    """srnet / dejpeg / deblurnet / wiener_refine: ``image`` (N, C, H, W) in [0, 1] -> ``output`` (N, C,
    scale*H, scale*W), task sr / jpeg / deblur (the architecture's), tiles of 256 input pixels overlapping
    by the receptive field (or the architecture's ``tile`` and ``tile_overlap``); the architecture's
    ``graph_extra`` entries join the metadata (wiener_refine: ``imgen.input_from``)."""
    scale = int(getattr(model, "scale", 1))
    radius = -(-int(getattr(model, "receptive_radius", 16)) // scale)  # in input pixels
    meta = _meta(task=model.task, channels=model.in_channels, value_range=(0.0, 1.0), scale=scale,
                 size_multiple=model.size_multiple, tile=getattr(model, "tile", 256 if scale > 1 else 512),
                 tile_overlap=getattr(model, "tile_overlap", max(16, 2 * radius)), name=name, description=description,
                 extra=_extra(model, **getattr(model, "graph_extra", {})))

    def feeds(batch, h, w, rng):
        return {"image": rng.random((batch, model.in_channels, h, w)).astype(np.float32)}

    return [Graph("", model, ("image",), ("output",), meta, feeds, spatial=True, size_multiple=model.size_multiple)]


GRAPHS: dict[str, Callable[..., list[Graph]]] = {
    "srnet": restore_graphs,
    "dejpeg": restore_graphs,
    "deblurnet": restore_graphs,
    "wiener_refine": restore_graphs,
    "dcgan": dcgan_graphs,
    "vae": vae_graphs,
    "cyclegan": cyclegan_graphs,
}


def graphs_for(model: nn.Module, name: str | None = None, description: str | None = None) -> list[Graph]:
    """The graphs ``model`` exports (architectures not listed in GRAPHS are denoisers)."""
    if hasattr(model, "graphs"):  # imported generators declare their own (import_generative)
        return model.graphs(name, description)
    return GRAPHS.get(model.name, denoise_graphs)(model, name, description)
