"""The task interface the training loop drives (see tasks/__init__.py)."""
from __future__ import annotations

from typing import Any, Callable, ClassVar

import numpy as np
import torch
from torch import nn

Update = Callable[[str, torch.Tensor], None]


class Task:
    """One kind of training.  Subclasses set the class attributes and override what they need.

    losses: the names ``step`` returns, in log order (the first one is shown on the progress bar).
    val_metric: the name of ``validate``'s number (higher is better; it picks best.pt), or None.
    adam_betas: Adam's betas for every optimizer of the task.
    """

    name: ClassVar[str]
    losses: ClassVar[tuple[str, ...]] = ("loss",)
    val_metric: ClassVar[str | None] = None
    adam_betas: ClassVar[tuple[float, float]] = (0.9, 0.999)

    def __init__(self, model: nn.Module, options: Any, device: torch.device):
        self.model, self.o, self.device = model, options, device

    def check_patch(self) -> None:
        """ValueError unless --patch is a multiple of the model's size multiple."""
        multiple = getattr(self.model, "size_multiple", 1)
        if self.o.patch % multiple:
            raise ValueError(f"--patch {self.o.patch} must be a multiple of {multiple} for {self.o.arch}")

    def check_loss(self, allowed: tuple[str, ...]) -> None:
        """ValueError unless --loss is one of ``allowed``."""
        if self.o.loss not in allowed:
            raise ValueError(f"--loss {self.o.loss!r}: {self.name} trains with one of {', '.join(allowed)}")

    def param_groups(self) -> dict[str, list[nn.Parameter]]:
        """Optimizer name -> the parameters it updates (one Adam each)."""
        return {"model": list(self.model.parameters())}

    def batch(self, step: int) -> dict[str, torch.Tensor]:
        """Batch ``step`` on the CPU; it depends only on (seed, step)."""
        raise NotImplementedError

    def step(self, batch: dict[str, torch.Tensor], update: Update) -> dict[str, torch.Tensor]:
        raise NotImplementedError

    def validate(self) -> float | None:
        return None

    def samples(self) -> np.ndarray | None:
        """A sample grid (H, W, C) uint8 RGB/gray to save during training, or None."""
        return None

    def recalibrate(self, batches: int, first_step: int) -> bool:
        """Re-estimate batch-norm statistics after the last step; False when there is nothing to do."""
        return False

    def state_dict(self) -> dict:
        """Task state beyond the networks and optimizers (saved in checkpoints)."""
        return {}

    def load_state_dict(self, state: dict) -> None:
        pass

    def to_device(self, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """The batch on the run's device (channels-last images on the CPU)."""
        out = {k: v.to(self.device) for k, v in batch.items()}
        if self.device.type == "cpu":
            out = {k: v.contiguous(memory_format=torch.channels_last) if v.dim() == 4 else v for k, v in out.items()}
        return out


SIGMA_FLOOR = 5 / 255  # mse_sigma: below this noise level every patch weighs as much as at it
SIGMA_UNIT = 25 / 255  # mse_sigma: a patch at this level weighs about 1, as in mse (Adam's state carries over)


def pixel_loss(diff: torch.Tensor, kind: str, sigma: torch.Tensor | None = None) -> torch.Tensor:
    """The batch's loss from ``diff`` = output - target (N, C, H, W, [0, 1] units): "mse", "l1", or
    "mse_sigma": each patch's MSE times SIGMA_UNIT / (sigma + SIGMA_FLOOR) (sigma: (N, 1, 1, 1), a
    fraction of the range).  A good denoiser's error grows about linearly with sigma (BM3D on Set12:
    MSE 5.8e-4, 1.0e-3, 2.1e-3 at sigma 15, 25, 50), so dividing by sigma makes a dB weigh about the
    same at every level; plain MSE lets the noisiest patches set the gradient, and both defaults lag
    BM3D most at sigma 15.  (Dividing by sigma^2 over-weights the low levels: on the colour run it
    cost 0.3 dB at sigma 25 within 250 steps.)"""
    if kind == "l1":
        return diff.abs().mean()
    if kind == "mse_sigma":
        if sigma is None:
            raise ValueError("loss 'mse_sigma' needs each patch's sigma")
        weights = SIGMA_UNIT / (sigma.reshape(-1).float() + SIGMA_FLOOR)
        return (diff.square().mean(dim=(1, 2, 3)) * weights).mean()
    return diff.square().mean()


@torch.no_grad()
def recalibrate_bn(module: nn.Module, forward: Callable[[int], Any], batches: int, first_step: int) -> bool:
    """Replace the running (exponential) BN statistics of ``module`` by exact averages over
    ``batches`` calls ``forward(first_step + k)``; False when the module has no BN."""
    bns = [m for m in module.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    if not bns or batches <= 0:
        return False
    momenta = [m.momentum for m in bns]
    was_training = module.training
    for m in bns:
        m.reset_running_stats()
        m.momentum = None  # cumulative average
    module.train()
    for k in range(batches):
        forward(first_step + k)
    for m, momentum in zip(bns, momenta):
        m.momentum = momentum
    module.train(was_training)
    return True


def seeded_normal(shape: tuple[int, ...], seed: int, step: int, stream: int) -> torch.Tensor:
    """Standard normal noise that depends only on (seed, step, stream)."""
    rng = np.random.default_rng([seed, step, stream])
    gen = torch.Generator().manual_seed(int(rng.integers(0, 2**62)))
    return torch.randn(shape, generator=gen)


def to_uint8(t: torch.Tensor, value_range: tuple[float, float]) -> np.ndarray:
    """(N, C, H, W) tensor in ``value_range`` -> (N, H, W, C) uint8."""
    lo, hi = value_range
    x = ((t.detach().float().cpu() - lo) / (hi - lo)).clamp(0, 1)
    return np.rint(x.permute(0, 2, 3, 1).numpy() * 255).astype(np.uint8)
