"""CycleGAN training: least-squares GAN losses, cycle and identity L1 (or MSE) losses, a 50-image history pool.

Generators (one optimizer for both): LSGAN(D_B(G_AB(a)), 1) + LSGAN(D_A(G_BA(b)), 1)
+ lambda_cycle * (|G_BA(G_AB(a)) - a| + |G_AB(G_BA(b)) - b|)
+ lambda_cycle * lambda_identity * (|G_AB(b) - b| + |G_BA(a) - a|).
Discriminators (one optimizer for both): 1/2 [LSGAN(D(real), 1) + LSGAN(D(pooled fake), 0)] each,
the fakes drawn from a history of the last ``--pool-size`` generated images (Shrivastava et al.).
Data: random ``--patch`` crops of the images in ``--train-dir`` (A) and ``--train-dir-b`` (B), not
paired, in [-1, 1], flipped left-right at random.
``--diffaugment POLICY`` passes every image the discriminators see (real, pooled fake, and the
fakes of the generators' adversarial terms) through the same differentiable transforms
(``imgen_train.diffaugment``), so on a few dozen tiles they cannot tell the domains apart by
memorised colours and must look at what the translation changes.
``--cycle-loss mse`` puts squared distances in place of |.| in the cycle and identity terms.  The L1
terms' gradient has the same size however small the change, so a generator that starts at the
identity (``--residual``) stays exactly there until the adversarial gradient on a pixel outgrows
lambda_cycle (soft thresholding); the squared terms' gradient vanishes with the change instead.
"""
from __future__ import annotations

import numpy as np
import torch
from torch.nn import functional as F

from imgen.generative import make_grid

from ..data import ImageSampler, list_images, load_images
from ..diffaugment import diff_augment, parse_policy
from .base import Task, Update, to_uint8


SAMPLE_STEP = 2**40
CYCLE_LOSSES = {"l1": F.l1_loss, "mse": F.mse_loss}


class ImagePool:
    """The history buffer: until full, fakes go in and come out as they are; then each fake is,
    with probability 1/2, swapped for a random stored one (which it replaces)."""

    def __init__(self, size: int):
        self.size, self.images = size, []

    def query(self, fakes: torch.Tensor, rng: np.random.Generator) -> torch.Tensor:
        if self.size == 0:
            return fakes
        out = []
        for img in fakes.detach():
            if len(self.images) < self.size:
                self.images.append(img.cpu().clone())
                out.append(img)
            elif rng.random() < 0.5:
                k = int(rng.integers(0, self.size))
                out.append(self.images[k].to(img.device))
                self.images[k] = img.cpu().clone()
            else:
                out.append(img)
        return torch.stack(out)


def _lsgan(scores: torch.Tensor, target: float) -> torch.Tensor:
    return (scores.float() - target).square().mean()


class CycleGANTask(Task):
    name = "cyclegan"
    losses = ("g", "d", "cycle", "idt")
    adam_betas = (0.5, 0.999)

    def __init__(self, model, options, device):
        super().__init__(model, options, device)
        o = options
        if not o.train_dir_b:
            raise ValueError("cyclegan needs two unpaired folders: --train-dir (A) and --train-dir-b (B)")
        self.check_patch()
        if o.cycle_loss not in CYCLE_LOSSES:
            raise ValueError(f"cycle_loss must be one of {', '.join(CYCLE_LOSSES)}, got {o.cycle_loss!r}")
        self.distance = CYCLE_LOSSES[o.cycle_loss]
        self.policy = parse_policy(o.diffaugment)
        self.a = ImageSampler(load_images(list_images(o.train_dir), o.channels), batch=o.batch, seed=o.seed,
                              patch=o.patch)
        self.b = ImageSampler(load_images(list_images(o.train_dir_b), o.channels), batch=o.batch,
                              seed=o.seed + 1, patch=o.patch)
        self.pool_a, self.pool_b = ImagePool(o.pool_size), ImagePool(o.pool_size)
        self.fixed_a = self.a.batch(SAMPLE_STEP)[:8] * 2 - 1  # a step no run reaches: fixed crops
        self.fixed_b = self.b.batch(SAMPLE_STEP)[:8] * 2 - 1

    def param_groups(self):
        m = self.model
        return {"generators": list(m.g_ab.parameters()) + list(m.g_ba.parameters()),
                "discriminators": list(m.d_a.parameters()) + list(m.d_b.parameters())}

    def batch(self, step):
        return {"a": self.a.batch(step) * 2 - 1, "b": self.b.batch(step) * 2 - 1,
                "step": torch.tensor(step)}

    def step(self, batch, update: Update):
        m, o = self.model, self.o
        a, b = batch["a"], batch["b"]
        seed = np.random.SeedSequence([o.seed, int(batch["step"]), 5]).generate_state(1)[0]
        gen = torch.Generator().manual_seed(int(seed))
        seen = (lambda x: diff_augment(x, self.policy, gen)) if self.policy else (lambda x: x)  # noqa: E731
        fake_b, fake_a = m.g_ab(a), m.g_ba(b)
        adv = _lsgan(m.d_b(seen(fake_b)), 1.0) + _lsgan(m.d_a(seen(fake_a)), 1.0)
        dist = self.distance
        cycle = dist(m.g_ba(fake_b), a) + dist(m.g_ab(fake_a), b)
        idt = dist(m.g_ab(b), b) + dist(m.g_ba(a), a) if o.identity_weight > 0 else torch.zeros(())
        g_loss = adv + o.cycle_weight * (cycle + o.identity_weight * idt)
        update("generators", g_loss)
        rng = np.random.default_rng([o.seed, int(batch["step"]), 7])
        pa, pb = self.pool_a.query(fake_a, rng), self.pool_b.query(fake_b, rng)
        d_loss = 0.5 * (_lsgan(m.d_a(seen(a)), 1.0) + _lsgan(m.d_a(seen(pa)), 0.0)
                        + _lsgan(m.d_b(seen(b)), 1.0) + _lsgan(m.d_b(seen(pb)), 0.0))
        update("discriminators", d_loss)
        return {"g": g_loss, "d": d_loss, "cycle": cycle, "idt": idt}

    @torch.no_grad()
    def samples(self) -> np.ndarray:
        """Rows: A, G_AB(A), B, G_BA(B)."""
        m = self.model
        a, b = self.fixed_a.to(self.device), self.fixed_b.to(self.device)
        rows = [a, m.g_ab(a), b, m.g_ba(b)]
        return make_grid(np.concatenate([to_uint8(t, m.value_range) for t in rows]), cols=len(a))

    def state_dict(self):
        return {"pool_a": self.pool_a.images, "pool_b": self.pool_b.images}

    def load_state_dict(self, state):
        self.pool_a.images = list(state.get("pool_a", []))
        self.pool_b.images = list(state.get("pool_b", []))
