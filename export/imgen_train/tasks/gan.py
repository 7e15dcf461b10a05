"""DCGAN training: the non-saturating GAN loss (Goodfellow et al. 2014, as in Radford et al. 2016).

Discriminator: softplus(-D(x)) + softplus(D(G(z))) (binary cross-entropy on logits); then the
generator: softplus(-D(G(z))).  Images are whole training images resized to ``--patch`` pixels,
scaled to [-1, 1], flipped left-right at random; with ``--shift S`` each image is also moved by up
to S whole pixels (reflection at the borders; until 2026-12-01 sub-pixel shifts and zooms, whose
bilinear resampling blurred the training faces: median edge energy 0.52 -> 0.41), with ``--brightness B``
its brightness and contrast scaled by up to +-B (clipped to the range); with ``--diffaugment POLICY``
the discriminator sees real and generated images through the same random differentiable transforms
(``imgen_train.diffaugment``: the fix for training on a hundred images); z ~ N(0, I).  No validation (best.pt is not
written; use last.pt or final.pt, whose generator batch-norm statistics are re-estimated).
"""
from __future__ import annotations

import numpy as np
import torch
from torch.nn import functional as F

from imgen.generative import make_grid

from ..data import ImageSampler, list_images, load_images
from ..diffaugment import diff_augment, parse_policy
from .base import Task, Update, recalibrate_bn, seeded_normal, to_uint8

SAMPLE_COUNT = 64


def augment_images(x: torch.Tensor, rng: np.random.Generator, *, shift: float, brightness: float) -> torch.Tensor:
    """(N, C, H, W) float in [0, 1] -> the same, each image moved by a whole number of pixels, up to
    ``shift`` each way (reflected borders: no resampling, which would blur the images the generator
    learns from), then ``y = (x - m) * (1 + c) + m * (1 + b)`` with c, b uniform in +-``brightness``
    (m: the image mean), clipped to [0, 1]."""
    n, _, h, w = x.shape
    s = int(shift)
    if s > 0:
        d = rng.integers(-s, s + 1, (n, 2))
        padded = F.pad(x, (s, s, s, s), mode="reflect")
        x = torch.stack([padded[k, :, s - d[k, 0]:s - d[k, 0] + h, s - d[k, 1]:s - d[k, 1] + w] for k in range(n)])
    if brightness > 0:
        c, b = (torch.from_numpy(rng.uniform(-brightness, brightness, (n, 1, 1, 1)).astype(np.float32)) for _ in range(2))
        m = x.mean(dim=(1, 2, 3), keepdim=True)
        x = ((x - m) * (1 + c) + m * (1 + b)).clamp(0, 1)
    return x


class GanTask(Task):
    name = "gan"
    losses = ("d", "g", "d_real")  # d_real: mean D(x) probability on real images
    adam_betas = (0.5, 0.999)

    def __init__(self, model, options, device):
        super().__init__(model, options, device)
        o = options
        images = load_images(list_images(o.train_dir), o.channels, size=o.patch)
        self.sampler = ImageSampler(images, batch=o.batch, seed=o.seed)
        self.fixed_z = seeded_normal((SAMPLE_COUNT, *model.latent_shape), o.seed, 0, 99)
        self.policy = parse_policy(o.diffaugment)

    def param_groups(self):
        return {"discriminator": list(self.model.discriminator.parameters()),
                "generator": list(self.model.generator.parameters())}

    def _latents(self, step: int) -> torch.Tensor:
        return seeded_normal((self.o.batch, *self.model.latent_shape), self.o.seed, step, 1)

    def batch(self, step):
        images = augment_images(self.sampler.batch(step), np.random.default_rng([self.o.seed, step, 2]),
                                shift=self.o.shift, brightness=self.o.brightness)
        return {"image": images * 2 - 1, "latent": self._latents(step), "step": torch.tensor(step)}

    def step(self, batch, update: Update):
        g, d = self.model.generator, self.model.discriminator
        seed = np.random.SeedSequence([self.o.seed, int(batch["step"]), 3]).generate_state(1)[0]
        rng = torch.Generator().manual_seed(int(seed))
        seen = (lambda x: diff_augment(x, self.policy, rng)) if self.policy else (lambda x: x)  # noqa: E731
        real = batch["image"]
        fake = g(batch["latent"])
        real_logits = d(seen(real))
        d_loss = F.softplus(-real_logits).mean() + F.softplus(d(seen(fake.detach()))).mean()
        update("discriminator", d_loss)
        g_loss = F.softplus(-d(seen(fake))).mean()
        update("generator", g_loss)
        return {"d": d_loss, "g": g_loss, "d_real": torch.sigmoid(real_logits.detach()).mean()}

    @torch.no_grad()
    def samples(self) -> np.ndarray:
        g = self.model.generator
        g.eval()
        out = g(self.fixed_z.to(self.device))
        g.train()
        return make_grid(to_uint8(out, self.model.value_range))

    def recalibrate(self, batches, first_step):
        g = self.model.generator
        return recalibrate_bn(g, lambda step: g(self._latents(step).to(self.device)), batches, first_step)
