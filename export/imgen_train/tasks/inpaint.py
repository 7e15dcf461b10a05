"""Inpainting: seeded random free-form stroke and box masks, the loss (L1 over the holes,
weighted, plus L1 over the whole image) and the registered ``InpaintTask``: clean patches of the
training folder with fresh masks every step, validated by PSNR over the holes of held-out images
with fixed seeded masks (half strokes, half boxes).
"""
from __future__ import annotations

import math

import numpy as np
import torch
from torch import nn

from ..data import ImageSampler, read_image, split_files
from .base import Task, Update

#: Weight of the hole L1 against the whole-image L1.
HOLE_WEIGHT = 6.0


def stroke_mask(h: int, w: int, rng: np.random.Generator, *, strokes: int = 4, max_width: int = 12) -> np.ndarray:
    """(H, W) float32 mask, 1 = missing: ``strokes`` random polylines of random width."""
    yy, xx = np.mgrid[0:h, 0:w]
    mask = np.zeros((h, w), bool)
    for _ in range(strokes):
        y, x = rng.uniform(0, h), rng.uniform(0, w)
        width = rng.uniform(2, max_width)
        angle = rng.uniform(0, 2 * math.pi)
        for _ in range(int(rng.integers(2, 6))):
            angle += rng.uniform(-1.0, 1.0)
            length = rng.uniform(0.1, 0.4) * max(h, w)
            y2, x2 = y + length * math.sin(angle), x + length * math.cos(angle)
            # distance from every pixel to the segment (y, x)-(y2, x2)
            dy, dx = y2 - y, x2 - x
            t = np.clip(((yy - y) * dy + (xx - x) * dx) / max(dy * dy + dx * dx, 1e-9), 0, 1)
            mask |= (yy - (y + t * dy)) ** 2 + (xx - (x + t * dx)) ** 2 <= (width / 2) ** 2
            y, x = float(np.clip(y2, 0, h - 1)), float(np.clip(x2, 0, w - 1))
    return mask.astype(np.float32)


def box_mask(h: int, w: int, rng: np.random.Generator, *, boxes: int = 1, max_fraction: float = 0.5) -> np.ndarray:
    """(H, W) float32 mask, 1 = missing: ``boxes`` random rectangles, each side up to max_fraction."""
    mask = np.zeros((h, w), np.float32)
    for _ in range(boxes):
        bh = int(rng.integers(max(1, h // 16), max(2, int(h * max_fraction)) + 1))
        bw = int(rng.integers(max(1, w // 16), max(2, int(w * max_fraction)) + 1))
        y, x = int(rng.integers(0, h - bh + 1)), int(rng.integers(0, w - bw + 1))
        mask[y:y + bh, x:x + bw] = 1
    return mask


def random_masks(n: int, h: int, w: int, seed: int) -> torch.Tensor:
    """(N, 1, H, W) float32 masks from ``seed``: half strokes, half boxes (alternating)."""
    rng = np.random.default_rng(seed)
    masks = [stroke_mask(h, w, rng) if k % 2 == 0 else box_mask(h, w, rng) for k in range(n)]
    return torch.from_numpy(np.stack(masks)[:, None])


def inpaint_loss(model: nn.Module, clean: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """The training loss of one batch: clean (N, C, H, W) in [0, 1], mask (N, 1, H, W) 1 = missing."""
    out = model(clean, mask)
    hole = (torch.abs(out - clean) * mask).sum() / mask.expand_as(clean).sum().clamp(min=1)
    return HOLE_WEIGHT * hole + torch.abs(out - clean).mean()


def train_step(model: nn.Module, optimizer: torch.optim.Optimizer, clean: torch.Tensor, seed: int) -> float:
    """One optimizer step on ``clean`` patches with masks drawn from ``seed``; returns the loss."""
    n, _, h, w = clean.shape
    loss = inpaint_loss(model, clean, random_masks(n, h, w, seed).to(clean.device))
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    optimizer.step()
    return float(loss.detach())


def hole_psnr(out: torch.Tensor, clean: torch.Tensor, mask: torch.Tensor) -> float:
    """PSNR in dB over the masked pixels of two [0, 1] tensors (N, C, H, W); mask (N, 1, H, W)."""
    m = mask.expand_as(clean).bool()
    mse = torch.mean((out[m].double() - clean[m].double()) ** 2).item()
    return float("inf") if mse == 0 else 10 * math.log10(1.0 / mse)


class InpaintTask(Task):
    """Patches of ``train_dir`` (random crops, flips), a fresh seeded mask per patch and step
    (strokes and boxes alternating); validation: hole PSNR on the held-out images."""

    name = "inpaint"
    losses = ("loss",)
    val_metric = "hole_psnr"

    def __init__(self, model, options, device):
        super().__init__(model, options, device)
        o = options
        self.check_patch()
        train_files, val_files = split_files(o.train_dir, o.val_dir, o.val_count)
        self.sampler = ImageSampler([read_image(f, o.channels) for f in train_files], batch=o.batch,
                                    seed=o.seed, patch=o.patch)
        self.val = []
        for k, f in enumerate(val_files):
            clean = read_image(f, o.channels).astype(np.float32) / 255.0
            h, w = clean.shape[:2]
            rng = np.random.default_rng([o.seed + 1, k])
            mask = stroke_mask(h, w, rng) if k % 2 == 0 else box_mask(h, w, rng, max_fraction=0.4)
            self.val.append((torch.from_numpy(np.ascontiguousarray(clean.transpose(2, 0, 1)))[None],
                             torch.from_numpy(mask)[None, None]))

    def batch(self, step):
        clean = self.sampler.batch(step)
        n, _, h, w = clean.shape
        return {"clean": clean, "mask": random_masks(n, h, w, seed=self.o.seed * 1_000_003 + step)}

    def step(self, batch, update: Update):
        loss = inpaint_loss(self.model, batch["clean"], batch["mask"])
        update("model", loss)
        return {"loss": loss}

    @torch.no_grad()
    def validate(self) -> float:
        """Mean hole PSNR (dB) over the held-out images (reflect-padded to the size multiple)."""
        self.model.eval()
        multiple = getattr(self.model, "size_multiple", 1)
        scores = []
        for clean, mask in self.val:
            h, w = clean.shape[-2:]
            ph, pw = (-h) % multiple, (-w) % multiple
            x, m = clean.to(self.device), mask.to(self.device)
            if ph or pw:
                x = nn.functional.pad(x, (0, pw, 0, ph), mode="reflect")
                m = nn.functional.pad(m, (0, pw, 0, ph))
            out = self.model(x, m)[..., :h, :w].clamp(0, 1).cpu()
            scores.append(hole_psnr(out, clean, mask))
        self.model.train()
        return sum(scores) / len(scores)
