"""VAE training: Bernoulli reconstruction (binary cross-entropy, summed over pixels) + beta * KL.

Per image: recon = BCE(decoder logits(z), x), z = mean + exp(logvar / 2) * eps;
KL = -1/2 sum(1 + logvar - mean^2 - exp(logvar)); loss = recon + beta * KL.  Validation: the ELBO
(beta = 1, one sample of eps, fixed per image) in nats per image, averaged over held-out images
(``--val-dir``, else the last ``--val-count`` training files).
"""
from __future__ import annotations

import numpy as np
import torch
from torch.nn import functional as F

from imgen.generative import make_grid

from ..data import ImageSampler, load_images, split_files
from .base import Task, Update, seeded_normal, to_uint8


def vae_terms(model, x: torch.Tensor, eps: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(reconstruction nats, KL nats, decoder logits), the first two summed over pixels/latents and
    averaged over the batch."""
    logits, mean, logvar = model(x, eps)
    recon = F.binary_cross_entropy_with_logits(logits.float(), x.float(), reduction="sum") / x.shape[0]
    kl = -0.5 * torch.sum(1 + logvar - mean.square() - logvar.exp()) / x.shape[0]
    return recon, kl, logits


class VaeTask(Task):
    name = "vae"
    losses = ("loss", "recon", "kl")
    val_metric = "elbo"

    def __init__(self, model, options, device):
        super().__init__(model, options, device)
        o = options
        files, val_files = split_files(o.train_dir, o.val_dir, o.val_count)
        self.sampler = ImageSampler(load_images(files, o.channels, size=o.patch), batch=o.batch, seed=o.seed)
        val = load_images(val_files, o.channels, size=o.patch)
        self.val = torch.from_numpy(np.stack(val).transpose(0, 3, 1, 2).astype(np.float32) / 255)
        self.val_eps = seeded_normal((len(val), *model.latent_shape), o.seed, 0, 98)
        self.fixed_z = seeded_normal((32, *model.latent_shape), o.seed, 0, 99)

    def _eps(self, step: int) -> torch.Tensor:
        return seeded_normal((self.o.batch, *self.model.latent_shape), self.o.seed, step, 1)

    def batch(self, step):
        return {"image": self.sampler.batch(step), "eps": self._eps(step)}

    def step(self, batch, update: Update):
        recon, kl, _ = vae_terms(self.model, batch["image"], batch["eps"])
        loss = recon + self.o.beta * kl
        update("model", loss)
        return {"loss": loss, "recon": recon, "kl": kl}

    @torch.no_grad()
    def validate(self) -> float:
        self.model.eval()
        recon, kl, _ = vae_terms(self.model, self.val.to(self.device), self.val_eps.to(self.device))
        self.model.train()
        return -float(recon + kl)

    @torch.no_grad()
    def samples(self) -> np.ndarray:
        """Rows: 16 held-out images, their reconstructions (from the mean), then 32 samples."""
        self.model.eval()
        x = self.val[:16].to(self.device)
        rec = self.model.decoder(self.model.encoder(x)[0])
        gen = self.model.decoder(self.fixed_z.to(self.device))
        self.model.train()
        tiles = np.concatenate([to_uint8(t, (0.0, 1.0)) for t in (x, rec, gen)])
        return make_grid(tiles, cols=16)
