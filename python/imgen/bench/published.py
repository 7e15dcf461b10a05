"""Published figures the benchmark can set beside its own: mean PSNR (dB) on Set12, gray, AWGN.

Only where a bench method implements the paper's algorithm and the run used the paper's images
whole (Set12: 01.png ... 12.png, not cropped); anything else has no published figure.
"""
from __future__ import annotations

from pathlib import PurePath

# Mean PSNR on Set12 at sigma 15 / 25 / 50 (0-255 scale), as the papers report them.
SET12_PSNR = {
    "BM3D (Dabov et al. 2007)": {15.0: 32.37, 25.0: 29.97, 50.0: 26.72},
    "DnCNN-S (Zhang et al. 2017)": {15.0: 32.86, 25.0: 30.44, 50.0: 27.18},
    "FFDNet (Zhang et al. 2018)": {15.0: 32.75, 25.0: 30.43, 50.0: 27.32},
}
# Bench methods and the paper whose algorithm they run.
METHOD_PAPER = {"bm3d": "BM3D (Dabov et al. 2007)", "bm3d-ref": "BM3D (Dabov et al. 2007)"}
# Learned models' architectures (imgen.arch, config["method_arch"]) and the paper that published it:
# the figure is the paper's, for its own weights -- a yardstick for these weights, not their score.
ARCH_PAPER = {"dncnn": "DnCNN-S (Zhang et al. 2017)", "ffdnet": "FFDNet (Zhang et al. 2018)"}
SET12_NAMES = [f"{i:02d}" for i in range(1, 13)]


def is_set12(config: dict) -> bool:
    """Whether a run's config (BenchResult.config) is Set12, whole images, scored on all pixels."""
    source = str(config.get("image_source", ""))
    protocol = config.get("protocol") or {}
    return (PurePath(source).name.lower() == "set12" and list(config.get("images", [])) == SET12_NAMES
            and not config.get("crop") and not protocol.get("shave"))


def published_psnr(config: dict, method: str, kind: str, sigma: float) -> tuple[float, str] | None:
    """(PSNR, paper) the literature reports for this method and level on this run's images, or None.

    A classical method's paper ran its algorithm; a learned model's architecture's paper (by its
    ``imgen.arch``, recorded in ``config["method_arch"]``) reports its own weights, which the label says."""
    paper = METHOD_PAPER.get(method)
    label = paper
    if paper is None:
        paper = ARCH_PAPER.get(str((config.get("method_arch") or {}).get(method, "")).lower())
        label = paper and f"{paper}, the architecture's paper with its own weights"
    if paper is None or kind != "gray" or config.get("task", "denoise") != "denoise" or not is_set12(config):
        return None
    value = SET12_PSNR[paper].get(float(sigma))
    return None if value is None else (value, label or paper)
