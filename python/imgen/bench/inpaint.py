"""``imgen bench --task inpaint``: seeded free-form stroke and box masks in fixed coverage bands
(the fraction of the image missing: 5-15 %, 15-30 %), filled by the classical methods (Telea,
Navier-Stokes, biharmonic), imgen's exemplar-based patchmatch (measured here, not an
``imgen inpaint`` method: it does not beat Telea on these holes), OpenCV-contrib's xphoto FSR when
installed, and
inpaint models; scored by PSNR/SSIM over the holes (``psnr``, ``ssim``: the columns the tables
rank by) and over the whole image (``psnr_image``, ``ssim_image``).  The input row ("masked")
shows the holes in black, so the crop sheet shows where they are.

Masks are a function of (image size, level, image name, seed) only: every method, and every run,
sees the same holes -- the fixed benchmark masks the learned model is judged on.
"""
from __future__ import annotations

import math
import zlib

import cv2
import numpy as np

from ..inpainting import InpaintModel, fill, patchmatch
from ..inpainting.classical import METHODS as CLASSICAL
from .methods import Method
from .task_base import BenchTask, Case, pick

#: level name -> (mask kind, lowest coverage, highest coverage), fractions of the image.
LEVELS = {
    "strokes5-15": ("strokes", 0.05, 0.15),
    "strokes15-30": ("strokes", 0.15, 0.30),
    "boxes5-15": ("boxes", 0.05, 0.15),
    "boxes15-30": ("boxes", 0.15, 0.30),
}


def _stroke(mask: np.ndarray, rng: np.random.Generator) -> None:
    """One free-form stroke: a polyline of 2-5 segments, 3-15 % of the image's side wide."""
    h, w = mask.shape
    side = min(h, w)
    y, x = rng.uniform(0, h), rng.uniform(0, w)
    width = max(2, int(rng.uniform(0.03, 0.08) * side))
    angle = rng.uniform(0, 2 * math.pi)
    for _ in range(int(rng.integers(2, 6))):
        angle += rng.uniform(-1.2, 1.2)
        length = rng.uniform(0.1, 0.35) * side
        y2 = float(np.clip(y + length * math.sin(angle), 0, h - 1))
        x2 = float(np.clip(x + length * math.cos(angle), 0, w - 1))
        cv2.line(mask, (int(x), int(y)), (int(x2), int(y2)), 1, width)
        y, x = y2, x2


def _box(mask: np.ndarray, rng: np.random.Generator) -> None:
    """One rectangle, each side 8-30 % of the image's."""
    h, w = mask.shape
    bh, bw = (max(2, int(rng.uniform(0.08, 0.3) * s)) for s in (h, w))
    y, x = int(rng.integers(0, h - bh + 1)), int(rng.integers(0, w - bw + 1))
    mask[y:y + bh, x:x + bw] = 1


def bench_mask(shape: tuple[int, int], level: str, *, seed: int = 0, name: str = "") -> np.ndarray:
    """(H, W) bool mask, True = missing, of kind and coverage band ``level`` (a LEVELS key):
    strokes / boxes are added until the coverage reaches the band; a draw that overshoots it
    starts again with the next seed.  Deterministic in (shape, level, seed, name)."""
    if level not in LEVELS:
        raise ValueError(f"unknown inpaint mask level {level!r}; known: {', '.join(LEVELS)}")
    kind, low, high = LEVELS[level]
    h, w = shape
    if min(h, w) < 16:
        raise ValueError(f"benchmark masks need images of at least 16x16 pixels, got {w}x{h}")
    add = _stroke if kind == "strokes" else _box
    key = zlib.crc32(f"{level}/{name}".encode())
    for attempt in range(1000):
        rng = np.random.default_rng([seed, key, attempt])
        mask = np.zeros((h, w), np.uint8)
        while mask.mean() < low:
            add(mask, rng)
        if mask.mean() <= high:
            return mask.astype(bool)
    raise RuntimeError(f"no {level} mask in 1000 draws for a {w}x{h} image")  # pragma: no cover


def hole_ssim(reference: np.ndarray, out: np.ndarray, mask: np.ndarray) -> float:
    """Mean SSIM (Wang et al. 2004: Gaussian window sigma 1.5, data range 1) over the masked
    pixels of two [0, 1] images; colour: the mean over channels."""
    c1, c2 = 0.01 ** 2, 0.03 ** 2
    a, b = reference.astype(np.float64), out.astype(np.float64)
    blur = lambda x: cv2.GaussianBlur(x, (11, 11), 1.5, borderType=cv2.BORDER_REFLECT)  # noqa: E731
    ma, mb = blur(a), blur(b)
    va, vb, cov = blur(a * a) - ma * ma, blur(b * b) - mb * mb, blur(a * b) - ma * mb
    ssim = ((2 * ma * mb + c1) * (2 * cov + c2)) / ((ma * ma + mb * mb + c1) * (va + vb + c2))
    if ssim.ndim == 3:
        ssim = ssim.mean(axis=2)
    return float(ssim[mask].mean())


def hole_psnr(reference: np.ndarray, out: np.ndarray, mask: np.ndarray) -> float:
    """PSNR (dB, data range 1) over the masked pixels of two [0, 1] images."""
    diff = np.clip(out, 0, 1).astype(np.float64)[mask] - reference.astype(np.float64)[mask]
    mse = float(np.mean(diff * diff))
    return float("inf") if mse == 0 else 10 * math.log10(1.0 / mse)


def _xphoto(x: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """OpenCV-contrib's fast frequency-selective reconstruction (xphoto.inpaint, FSR_FAST) on 8 bits."""
    u8 = np.clip(np.rint(x * 255), 0, 255).astype(np.uint8)
    mask = _fit(mask, x)
    out = np.empty_like(u8)
    cv2.xphoto.inpaint(u8, (~mask).astype(np.uint8), out, cv2.xphoto.INPAINT_FSR_FAST)
    return out.astype(np.float32) / 255.0


class InpaintTask(BenchTask):
    name = "inpaint"
    level_name = "mask"
    default_levels = tuple(LEVELS)
    input_row = "masked"

    def check_levels(self, levels):
        levels = super().check_levels(levels)
        unknown = [level for level in levels if level not in LEVELS]
        if unknown:
            raise ValueError(f"inpaint masks must be among {', '.join(LEVELS)}, got {', '.join(map(str, unknown))}")
        return levels

    def case(self, sample, level, protocol):
        mask = bench_mask(sample.image.shape[:2], level, seed=protocol.seed, name=sample.name)
        masked = sample.image.astype(np.float32, copy=True)
        masked[mask] = 0
        return Case(masked, mask, sample.image.astype(np.float32, copy=False))

    def score(self, protocol, case, out):
        mask = case.param
        return {"psnr": hole_psnr(case.reference, out, mask), "ssim": hole_ssim(case.reference, out, mask),
                "psnr_image": protocol.psnr(case.reference, out), "ssim_image": protocol.ssim(case.reference, out),
                "coverage": float(mask.mean())}

    def methods(self, names, models, threads):
        table = {m: Method(m, "peer", 1, lambda x, mask, m=m: fill(x, _fit(mask, x), m), note=_NOTES[m])
                 for m in CLASSICAL}
        table["patchmatch"] = Method("patchmatch", "imgen", threads, lambda x, mask: patchmatch(x, _fit(mask, x)),
                                     note=_NOTES["patchmatch"])
        notes = {}
        if hasattr(cv2, "xphoto"):
            table["xphoto-fsr"] = Method("xphoto-fsr", "peer", 1, _xphoto, note="OpenCV-contrib xphoto.inpaint FSR_FAST, 8-bit")
        elif names is not None and "xphoto-fsr" in names:
            names = [n for n in names if n != "xphoto-fsr"]
            notes["xphoto-fsr"] = "needs opencv-contrib-python(-headless)"
        return pick(table, names, self.name) + _learned(models, threads), notes

    def known_methods(self):
        return (*CLASSICAL, "patchmatch", "xphoto-fsr")


_NOTES = {"telea": "OpenCV cv2.inpaint Telea, radius 3", "ns": "OpenCV cv2.inpaint Navier-Stokes, radius 3",
          "biharmonic": "scikit-image inpaint_biharmonic",
          "patchmatch": "imgen C++: PatchMatch + multi-scale EM voting, 7x7 patches"}


def _learned(models, threads: int) -> list[Method]:
    """Inpaint models (given, or the shipped ones of task inpaint) as methods ``run(x, mask)``."""
    from ..engine import Model, shipped_models

    names = ([n for n in shipped_models() if Model.open(n, threads=1).info.task == "inpaint"]
             if models is None else list(models))
    out = []
    for name in names:
        model = InpaintModel.adopt(name, "inpaint")
        gray = model.info.channels in (None, 1)
        out.append(Method(model.name, "learned", threads, lambda x, mask, model=model: _run_model(model, x, mask),
                          gray=True, color=True, note=f"{model.info.channels}-channel model, {model.provider}"
                          + (" (colour images: per channel)" if gray else "")))
    return out


def _fit(mask: np.ndarray, x: np.ndarray) -> np.ndarray:
    """The mask's top-left part the size of ``x`` (the runner warms methods up on a top-left crop)."""
    return mask[:x.shape[0], :x.shape[1]]


def _run_model(model: InpaintModel, x: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """A gray model fills a colour image one channel at a time; the model's channels otherwise."""
    mask = _fit(mask, x)
    if model.info.channels == 1 and x.ndim == 3:
        return np.stack([model(np.ascontiguousarray(x[..., c]), mask) for c in range(x.shape[2])], axis=2)
    return model(x, mask)
