"""Quantisation-aware fine-tuning: a model's convs computed as the int8 file of ``quantize.py``
computes them, so that training finds weights whose int8 rounding costs little.

Weights: per output channel, symmetric int8 on [-127, 127] (scale = max |w| / 127, as
onnxruntime's per-channel QInt8 weights), except the convs kept float (``keep_float``, graph order,
negative from the end; quantize.py's default is the first and the last).  Activations: the input
of every conv but the first (in the FFDNet/DnCNN stacks, a ReLU output; the first conv's input is
the image and noise map, which the int8 file reads in float) on uint8 levels over [lo, hi] with
lo <= 0 <= hi, the running mean (momentum 0.01) of each batch's ``percentile`` and 100 -
``percentile`` percentiles (99.999 and 0.001: quantize.py's calibration; 100 takes the max and min)
while training, fixed in eval mode; with ``range_sigma`` only the samples whose noise level (the
model's second input, in its units) is at least that count, as quantize.py calibrates at sigma
10-75: a net whose activations at sigma near 0 are 10-30x larger would otherwise set every range by
those few samples.  Gradients pass through the rounding unchanged (the straight-through estimator) and
are zero where a value was clipped (torch's fake_quantize ops).

The model's parameters and state dict are untouched: the ranges live in :class:`FakeQuant` and go
into a checkpoint as its ``fake_quant`` entry, so the export writes the plain float convs, which
``quantize.py`` then quantises with its own calibration.
"""
from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn import functional as F


class FakeQuant:
    """Fake int8 on ``model``'s Conv2d layers (module docstring), attached on construction;
    :meth:`detach` restores the float forward."""

    def __init__(self, model: nn.Module, *, keep_float: tuple[int, ...] = (0, -1), momentum: float = 0.01,
                 percentile: float = 99.999, range_sigma: float | None = None):
        if any(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in model.modules()):
            raise ValueError("fake_quant needs a model without batch norm (the int8 file has it folded into "
                             "the convs): start from an exported ONNX file with batch_norm=False")
        if not 0 < momentum <= 1:
            raise ValueError(f"momentum must be in (0, 1], got {momentum!r}")
        if not 50 < percentile <= 100:
            raise ValueError(f"percentile must be in (50, 100], got {percentile!r}")
        if range_sigma is not None and not (math.isfinite(range_sigma) and range_sigma >= 0):
            raise ValueError(f"range_sigma must be a finite noise level >= 0, got {range_sigma!r}")
        self.percentile = percentile
        self.range_sigma = range_sigma
        self._range_samples: torch.Tensor | None = None  # which samples of the batch set the ranges
        self._hook = model.register_forward_pre_hook(self._note_sigma) if range_sigma is not None else None
        self.convs = [m for m in model.modules() if isinstance(m, nn.Conv2d)]
        if not self.convs:
            raise ValueError("fake_quant: the model has no Conv2d layers")
        n = len(self.convs)
        self.float_weights = {k % n for k in keep_float if -n <= k < n}
        self.momentum = momentum
        self.lo = torch.zeros(n)
        self.hi = torch.zeros(n)
        self.seen = torch.zeros(n, dtype=torch.bool)
        for index, conv in enumerate(self.convs):
            conv.__dict__["forward"] = self._forward_for(index, conv)  # an instance attribute: not in the state dict

    def detach(self) -> None:
        """Give every conv back its float forward."""
        for conv in self.convs:
            conv.__dict__.pop("forward", None)
        if self._hook is not None:
            self._hook.remove()

    def _note_sigma(self, module: nn.Module, args: tuple) -> None:
        if len(args) < 2 or not torch.is_tensor(args[1]):
            raise ValueError("fake_quant range_sigma needs a model called as model(x, sigma)")
        threshold = self.range_sigma
        if threshold is None:
            return
        sigma = args[1].detach()
        self._range_samples = sigma.reshape(sigma.shape[0], -1).amin(dim=1) >= threshold

    def state_dict(self) -> dict:
        return {"lo": self.lo.clone(), "hi": self.hi.clone(), "seen": self.seen.clone(),
                "float_weights": sorted(self.float_weights)}

    def load_state_dict(self, state: dict) -> None:
        n = len(self.convs)
        if any(tuple(state[k].shape) != (n,) for k in ("lo", "hi", "seen")):
            raise ValueError(f"fake_quant state is for {tuple(state['lo'].shape)} convs, the model has {n}")
        self.lo, self.hi, self.seen = state["lo"].clone(), state["hi"].clone(), state["seen"].clone()

    def _forward_for(self, index: int, conv: nn.Conv2d):
        def forward(x: torch.Tensor) -> torch.Tensor:
            if index > 0:
                x = self._activation(index, x, conv.training)
            weight = conv.weight if index in self.float_weights else _int8_per_channel(conv.weight)
            return F.conv2d(x, weight, conv.bias, conv.stride, conv.padding, conv.dilation, conv.groups)
        return forward

    def _activation(self, index: int, x: torch.Tensor, training: bool) -> torch.Tensor:
        if training:
            with torch.no_grad():
                picked = self._range_samples
                if picked is not None and picked.shape[0] == x.shape[0]:
                    if not bool(picked.any()):
                        return self._quantised(index, x)  # no sample sets ranges in this batch
                    lo, hi = _percentiles(x[picked], self.percentile)
                else:
                    lo, hi = _percentiles(x, self.percentile)
                if not bool(self.seen[index]):
                    self.lo[index], self.hi[index], self.seen[index] = lo, hi, True
                else:
                    m = self.momentum
                    self.lo[index] = (1 - m) * self.lo[index] + m * lo
                    self.hi[index] = (1 - m) * self.hi[index] + m * hi
        return self._quantised(index, x)

    def _quantised(self, index: int, x: torch.Tensor) -> torch.Tensor:
        if not bool(self.seen[index]):
            return x  # no range yet (eval before any training step): float
        lo, hi = float(self.lo[index]), float(self.hi[index])
        if hi - lo <= 0:
            return x
        scale = (hi - lo) / 255.0
        zero_point = int(round(-lo / scale))
        return torch.fake_quantize_per_tensor_affine(x, scale, zero_point, 0, 255)


def _percentiles(x: torch.Tensor, percentile: float) -> tuple[float, float]:
    """(min(0, the 100 - percentile percentile), max(0, the percentile percentile)) of ``x``; the
    tails by top-k, exact to the value."""
    flat = x.detach().reshape(-1)
    k = max(1, int(math.ceil(flat.numel() * (100.0 - percentile) / 100.0)))
    hi = float(torch.topk(flat, k).values[-1].clamp(min=0))
    lo = 0.0 if float(flat.min()) >= 0 else float((-torch.topk(-flat, k).values[-1]).clamp(max=0))
    return lo, hi


def _int8_per_channel(weight: torch.Tensor) -> torch.Tensor:
    """``weight`` (O, I, kh, kw) rounded to symmetric int8 per output channel, in float."""
    with torch.no_grad():
        scale = (weight.detach().abs().amax(dim=(1, 2, 3)) / 127.0).clamp(min=1e-12).float()
        zero = torch.zeros(weight.shape[0], dtype=torch.int32, device=weight.device)
    return torch.fake_quantize_per_channel_affine(weight, scale, zero, 0, -127, 127)
