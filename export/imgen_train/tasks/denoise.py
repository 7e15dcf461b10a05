"""Denoising: noisy -> clean patches, MSE or L1; validated by PSNR on whole held-out images."""
from __future__ import annotations

import math

import torch
from torch import nn

from ..data import NoiseSpec, PatchSampler, split_files, validation_set
from .base import Task, Update, pixel_loss, recalibrate_bn


def denoise_output(model: nn.Module, noisy: torch.Tensor, sigma: torch.Tensor) -> torch.Tensor:
    return model(noisy, sigma) if getattr(model, "noise_input", False) else model(noisy)


def psnr(a: torch.Tensor, b: torch.Tensor) -> float:
    """PSNR in dB of two [0, 1] tensors."""
    mse = torch.mean((a.double() - b.double()) ** 2).item()
    return float("inf") if mse == 0 else 10 * math.log10(1.0 / mse)


@torch.no_grad()
def evaluate(model: nn.Module, items: list[dict[str, torch.Tensor]], device: torch.device) -> float:
    """Mean PSNR (dB) of the clipped outputs; images reflect-padded to the model's size multiple."""
    model.eval()
    scores = []
    multiple = getattr(model, "size_multiple", 1)
    for item in items:
        noisy = item["noisy"].to(device)
        h, w = noisy.shape[-2:]
        ph, pw = (-h) % multiple, (-w) % multiple
        if ph or pw:
            noisy = nn.functional.pad(noisy, (0, pw, 0, ph), mode="reflect")
        out = denoise_output(model, noisy, item["sigma"].to(device))[..., :h, :w]
        scores.append(psnr(out.clamp(0, 1).cpu(), item["clean"]))
    model.train()
    return sum(scores) / len(scores)


def recalibrate_batch_norm(model: nn.Module, sampler: PatchSampler, batches: int, first_step: int,
                           device: torch.device) -> bool:
    """Exact BN statistics over ``batches`` fresh training batches (steps first_step, ...)."""
    def forward(step: int) -> None:
        batch = sampler.batch(step)
        denoise_output(model, batch["noisy"].to(device), batch["sigma"].to(device))

    return recalibrate_bn(model, forward, batches, first_step)


class DenoiseTask(Task):
    name = "denoise"
    losses = ("loss",)
    val_metric = "psnr"

    def __init__(self, model, options, device):
        super().__init__(model, options, device)
        o = options
        self.check_patch()
        self.check_loss(("mse", "l1", "mse_sigma"))
        train_files, val_files = split_files(o.train_dir, o.val_dir, o.val_count)
        self.sampler = PatchSampler.from_files(train_files, channels=o.channels, patch=o.patch,
                                                batch=o.batch, noise=NoiseSpec.parse(o.noise), seed=o.seed)
        self.val = validation_set(val_files, channels=o.channels, sigma=o.val_sigma, seed=o.seed + 1)

    def batch(self, step):
        return self.sampler.batch(step)

    def step(self, batch, update: Update):
        out = denoise_output(self.model, batch["noisy"], batch["sigma"]).float()
        loss = pixel_loss(out - batch["clean"], self.o.loss, batch["sigma"])
        update("model", loss)
        return {"loss": loss}

    def validate(self) -> float:
        return evaluate(self.model, self.val, self.device)

    def recalibrate(self, batches, first_step):
        return recalibrate_batch_norm(self.model, self.sampler, batches, first_step, self.device)
