"""Restoration beyond noise: super-resolution (``sr``), JPEG artefact removal (``jpeg``) and
deblurring, blind (``deblur``) or as a correction of Wiener's output with the true kernel
(``deblur_wiener``).

Degraded/clean pairs come from ``imgen.degrade`` — the functions the benchmark uses — so a model
learns exactly the degradation it is measured on: MATLAB-bicubic downscaling (whole images shrunk
once, aligned LR/HR patches cut from them) and real JPEG round trips (each patch at a quality
drawn from ``--quality LOW,HIGH``) and blurs by kernels drawn from a seeded family plus noise
(``DeblurTask``).  Loss: MSE or L1 on [0, 1] images.  Validation: PSNR of whole
held-out images (for SR on the gray/Y plane with ``scale`` pixels shaved, the SR convention).
"""
from __future__ import annotations

import logging

import numpy as np
import torch

from imgen import degrade

from ..data import augment, read_image, split_files
from ..ranges import parse_range
from .base import Task, Update, pixel_loss, recalibrate_bn
from .denoise import psnr

log = logging.getLogger("imgen_train")


def _to_t(a: np.ndarray) -> torch.Tensor:
    """(H, W, C) uint8 -> (1, C, H, W) float32 in [0, 1]."""
    return torch.from_numpy(np.ascontiguousarray(a.transpose(2, 0, 1)).astype(np.float32) / 255.0)[None]


def _crop_to(img: np.ndarray, multiple: int) -> np.ndarray:
    h, w = img.shape[0] - img.shape[0] % multiple, img.shape[1] - img.shape[1] % multiple
    return img[:h, :w]


def _quality_range(text: str) -> tuple[int, int]:
    return parse_range(text, option="--quality", low=1, high=100, cast=int)


class _PairTask(Task):
    """Shared loop of the paired restoration tasks: ``batch`` -> {"degraded", "clean"}."""

    losses = ("loss",)
    val_metric = "psnr"
    shave = 0

    def __init__(self, model, options, device):
        super().__init__(model, options, device)
        self.check_loss(("mse", "l1"))

    def step(self, batch, update: Update):
        diff = self.model(batch["degraded"]).float() - batch["clean"]
        loss = pixel_loss(diff, self.o.loss)
        update("model", loss)
        return {"loss": loss}

    def recalibrate(self, batches, first_step):
        """Exact BN statistics over ``batches`` fresh training batches (steps first_step, ...)."""
        return recalibrate_bn(self.model, lambda step: self.model(self.to_device(self.batch(step))["degraded"]),
                              batches, first_step)

    @torch.no_grad()
    def validate(self) -> float:
        self.model.eval()
        s, scores = self.shave, []
        for degraded, clean in self.val:
            out = self.model(degraded.to(self.device)).clamp(0, 1).cpu()
            if s:
                out, clean = out[..., s:-s, s:-s], clean[..., s:-s, s:-s]
            # 8-bit outputs, as a saved image is scored
            scores.append(psnr(torch.round(out * 255) / 255, clean))
        self.model.train()
        return sum(scores) / len(scores)


class SRTask(_PairTask):
    """LR -> HR for an SRNet of ``scale``; ``--patch`` is the HR patch side (a multiple of scale)."""

    name = "sr"

    def __init__(self, model, options, device):
        super().__init__(model, options, device)
        o, s = options, model.scale
        if o.patch % s:
            raise ValueError(f"--patch {o.patch} (the HR patch) must be a multiple of the scale {s}")
        self.shave = s
        train, val = split_files(o.train_dir, o.val_dir, o.val_count)
        self.hr = [_crop_to(read_image(f, o.channels), s) for f in train]
        self.lr = [degrade.downscale(im, s) for im in self.hr]
        val_hr = [_crop_to(read_image(f, o.channels), s) for f in val]
        self.val = [(_to_t(degrade.downscale(im, s)), _to_t(im)) for im in val_hr]

    def batch(self, step):
        rng = np.random.default_rng([self.o.seed, step])
        s, p = self.model.scale, self.o.patch // self.model.scale
        which = rng.integers(0, len(self.hr), self.o.batch)
        modes = rng.integers(0, 8, self.o.batch)
        lo, hi = [], []
        for i, mode in zip(which, modes):
            lr, hr = self.lr[i], self.hr[i]
            y, x = rng.integers(0, lr.shape[0] - p + 1), rng.integers(0, lr.shape[1] - p + 1)
            lo.append(augment(lr[y:y + p, x:x + p], int(mode)))
            hi.append(augment(hr[s * y:s * (y + p), s * x:s * (x + p)], int(mode)))
        return {"degraded": torch.cat([_to_t(a) for a in lo]), "clean": torch.cat([_to_t(a) for a in hi])}


class JpegTask(_PairTask):
    """Decoded JPEG -> original, qualities uniform in ``--quality LOW,HIGH`` (validated at LOW)."""

    name = "jpeg"

    def __init__(self, model, options, device):
        super().__init__(model, options, device)
        o = options
        self.low, self.high = _quality_range(o.quality)
        if o.patch % 8:
            raise ValueError(f"--patch {o.patch} must be a multiple of 8 (JPEG's block grid)")
        train, val = split_files(o.train_dir, o.val_dir, o.val_count)
        self.images = [read_image(f, o.channels) for f in train]
        small = [im.shape for im in self.images if min(im.shape[:2]) < o.patch]
        if small:
            raise ValueError(f"{len(small)} training image(s) are smaller than the patch size {o.patch}")
        val_clean = [_crop_to(read_image(f, o.channels), 8) for f in val]
        self.val = [(_to_t(degrade.jpeg(im, self.low)), _to_t(im)) for im in val_clean]

    def batch(self, step):
        rng = np.random.default_rng([self.o.seed, step])
        p = self.o.patch
        which = rng.integers(0, len(self.images), self.o.batch)
        modes = rng.integers(0, 8, self.o.batch)
        qualities = rng.integers(self.low, self.high + 1, self.o.batch)
        deg, clean = [], []
        for i, mode, q in zip(which, modes, qualities):
            img = self.images[i]
            y, x = rng.integers(0, img.shape[0] - p + 1), rng.integers(0, img.shape[1] - p + 1)
            patch = np.ascontiguousarray(augment(img[y:y + p, x:x + p], int(mode)))
            deg.append(degrade.jpeg(patch, int(q)).reshape(patch.shape))
            clean.append(patch)
        return {"degraded": torch.cat([_to_t(a) for a in deg]), "clean": torch.cat([_to_t(a) for a in clean])}


# The deblurring family: a kernel is a Gaussian (probability GAUSS_SHARE) of width uniform in
# GAUSS_SIGMA px (--blur-gauss) on a KERNEL_SIZE grid, else imgen.degrade.motion_kernel(seed, size) with seed
# uniform in [0, MOTION_SEEDS) and size an odd number uniform in MOTION_SIZES.  The fixed kernels
# of the tables (gauss1.6, gauss3, motion_kernel(19, 19), motion_kernel(25, 25)) lie inside it.
GAUSS_SHARE = 0.4
GAUSS_SIGMA = (0.8, 3.2)
KERNEL_SIZE = 25
MOTION_SEEDS = 1_000_000
MOTION_SIZES = tuple(range(9, 26, 2))
#: The widest Gaussian --blur-gauss allows: 3 sigma fit in half the KERNEL_SIZE grid (12 px).
GAUSS_SIGMA_MAX = 4.0


def gauss_range(text: str) -> tuple[float, float]:
    """--blur-gauss 'LOW,HIGH' (px) -> (LOW, HIGH); ValueError naming the option otherwise."""
    return parse_range(text, option="--blur-gauss", low=0.3, high=GAUSS_SIGMA_MAX, unit=" in pixels")


def draw_kernel(rng: np.random.Generator, gauss_sigma: tuple[float, float] = GAUSS_SIGMA) -> np.ndarray:
    """One kernel of the deblurring family (float64, sums to 1), drawn from ``rng``; its Gaussians'
    widths uniform in ``gauss_sigma`` (px)."""
    if rng.uniform() < GAUSS_SHARE:
        return degrade.gaussian_kernel(float(rng.uniform(*gauss_sigma)), KERNEL_SIZE)
    size = int(rng.choice(MOTION_SIZES))
    return degrade.motion_kernel(int(rng.integers(0, MOTION_SEEDS)), size)


class DeblurTask(_PairTask):
    """Blurred -> sharp, blind to the kernel: each ``--patch`` patch is blurred (reflect borders,
    on a margin cut with it so the patch sees true convolution) by a kernel of the family above
    and gets Gaussian noise of sigma uniform in ``--blur-noise LOW,HIGH`` (0-255), rounded to 8
    bits.  Validation: the held-out images blurred by each fixed kernel at the middle noise; the
    blurred input's and Wiener's (true kernel) PSNR there are logged once as references."""

    name = "deblur"
    margin = KERNEL_SIZE // 2

    def __init__(self, model, options, device):
        super().__init__(model, options, device)
        from ..data import NoiseSpec

        o = options
        self.noise = NoiseSpec(*parse_range(o.blur_noise, option="--blur-noise", low=0, unit=" (0-255 scale)"))
        self.gauss_sigma = gauss_range(o.blur_gauss)
        m = getattr(model, "size_multiple", 1)
        if o.patch % m:
            raise ValueError(f"--patch {o.patch} must be a multiple of the model's size multiple {m}")
        train, val = split_files(o.train_dir, o.val_dir, o.val_count)
        self.images = [read_image(f, o.channels) for f in train]
        small = [im.shape for im in self.images if min(im.shape[:2]) < o.patch + 2 * self.margin]
        if small:
            raise ValueError(f"{len(small)} training image(s) are smaller than the patch plus its blur margin "
                             f"({o.patch} + 2 x {self.margin})")
        sigma = (self.noise.low + self.noise.high) / 2 / 255
        self.val, self.val_kernels = [], []
        for name, kernel in degrade.fixed_kernels().items():
            for k, f in enumerate(val):
                clean = _crop_to(read_image(f, o.channels), m)
                self.val.append((_to_t(degrade.blur(clean, kernel, sigma, seed=k)), _to_t(clean)))
                self.val_kernels.append(name)
        self._log_references()

    def _log_references(self) -> None:
        """The blurred input's and (when scikit-image is there) Wiener's validation PSNR."""
        rows = {"blurred": [psnr(b, c) for b, c in self.val]}
        try:
            from imgen.restoration import wiener

            table = degrade.fixed_kernels()
            rows["wiener"] = [psnr(_wiener_t(b, table[name], wiener), c)
                              for (b, c), name in zip(self.val, self.val_kernels)]
        except ImportError:
            pass
        for what, scores in rows.items():
            log.info("deblur validation reference %s: %.2f dB (%s)", what, sum(scores) / len(scores),
                     ", ".join(f"{n} {v:.2f}" for n, v in self._per_kernel(scores).items()))

    def _per_kernel(self, scores: list[float]) -> dict[str, float]:
        out: dict[str, list[float]] = {}
        for name, v in zip(self.val_kernels, scores):
            out.setdefault(name, []).append(v)
        return {n: sum(v) / len(v) for n, v in out.items()}

    def batch(self, step):
        rng = np.random.default_rng([self.o.seed, step])
        p, m = self.o.patch, self.margin
        which = rng.integers(0, len(self.images), self.o.batch)
        modes = rng.integers(0, 8, self.o.batch)
        sigmas = self.noise.draw(rng, self.o.batch) / 255
        deg, clean = [], []
        for i, mode, sigma in zip(which, modes, sigmas):
            img = self.images[i]
            y, x = rng.integers(0, img.shape[0] - p - 2 * m + 1), rng.integers(0, img.shape[1] - p - 2 * m + 1)
            big = np.ascontiguousarray(augment(img[y:y + p + 2 * m, x:x + p + 2 * m], int(mode)))
            blurred = degrade.blur(big, draw_kernel(rng, self.gauss_sigma), float(sigma), seed=int(rng.integers(2**31)))
            deg.append(blurred.reshape(big.shape)[m:m + p, m:m + p])
            clean.append(big[m:m + p, m:m + p])
        return {"degraded": torch.cat([_to_t(a) for a in deg]), "clean": torch.cat([_to_t(a) for a in clean])}

    @torch.no_grad()
    def validate(self) -> float:
        self.model.eval()
        scores = [psnr(torch.round(self.model(b.to(self.device)).clamp(0, 1).cpu() * 255) / 255, c)
                  for b, c in self.val]
        self.model.train()
        log.info("deblur validation per kernel: %s",
                 ", ".join(f"{n} {v:.2f}" for n, v in self._per_kernel(scores).items()))
        return sum(scores) / len(scores)


def _wiener_t(blurred: torch.Tensor, kernel: np.ndarray, wiener) -> torch.Tensor:
    """Wiener (true kernel) of a (1, C, H, W) tensor, rounded to 8 bits as a saved image."""
    out = wiener(blurred[0].numpy().transpose(1, 2, 0), kernel)
    return torch.round(_to_t_float(np.clip(out, 0, 1)) * 255) / 255


def _to_t_float(a: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(a.transpose(2, 0, 1)).astype(np.float32))[None]


class WienerDeblurTask(DeblurTask):
    """Wiener's output (true kernel, ``imgen.restoration.wiener`` at the model's ``wiener_balance``,
    float, clipped to [0, 1]) -> sharp: the non-blind route.  Each sample is made as ``wiener_net``
    sees an image: a whole training image (flipped/rotated) is blurred (reflect borders) by a kernel
    of the family with noise, deconvolved whole, and a ``--patch`` patch is cut from anywhere in it,
    borders included (where Wiener's reflect padding leaves its own artefacts; patches cut only
    from the interior taught the network nothing there: +0.5-0.8 dB in a 32-pixel border band
    against +1.0-1.2 inside on Set12).  Validation: the held-out images, blurred whole by each fixed
    kernel and deconvolved whole."""

    name = "deblur_wiener"
    margin = 0  # whole images are blurred and deconvolved: no margin to cut

    def __init__(self, model, options, device):
        from imgen.restoration import wiener

        self._wiener = wiener
        super().__init__(model, options, device)
        table = degrade.fixed_kernels()
        self.val = [(self._deconvolve_t(b, table[name]), c) for (b, c), name in zip(self.val, self.val_kernels)]

    def _deconvolve(self, blurred: np.ndarray, kernel: np.ndarray) -> np.ndarray:
        """(H, W, C) float32 in [0, 1] -> Wiener's output (the model's ``wiener_balance``), float32
        clipped to [0, 1]."""
        balance = float(self.model.wiener_balance)
        return np.clip(self._wiener(blurred, kernel, balance=balance), 0.0, 1.0).astype(np.float32)

    def _deconvolve_t(self, blurred: torch.Tensor, kernel: np.ndarray) -> torch.Tensor:
        return _to_t_float(self._deconvolve(blurred[0].numpy().transpose(1, 2, 0), kernel))

    def batch(self, step):
        rng = np.random.default_rng([self.o.seed, step])
        p = self.o.patch
        which = rng.integers(0, len(self.images), self.o.batch)
        modes = rng.integers(0, 8, self.o.batch)
        sigmas = self.noise.draw(rng, self.o.batch) / 255
        deg, clean = [], []
        for i, mode, sigma in zip(which, modes, sigmas):
            img = np.ascontiguousarray(augment(self.images[i], int(mode)))
            kernel = draw_kernel(rng, self.gauss_sigma)
            blurred = degrade.blur(img, kernel, float(sigma), seed=int(rng.integers(2**31))).reshape(img.shape)
            restored = self._deconvolve(blurred.astype(np.float32) / 255, kernel)
            y, x = rng.integers(0, img.shape[0] - p + 1), rng.integers(0, img.shape[1] - p + 1)
            deg.append(_to_t_float(restored[y:y + p, x:x + p]))
            clean.append(_to_t(img[y:y + p, x:x + p]))
        return {"degraded": torch.cat(deg), "clean": torch.cat(clean)}
