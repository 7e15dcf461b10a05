"""BM3D / CBM3D denoising (Dabov et al. 2007) on the C++ core."""
from __future__ import annotations

from typing import Literal

import numpy as np

from .. import _core
from .._validate import as_image
from ._sigma import estimate_sigma


def bm3d(
    image: np.ndarray,
    *,
    sigma: float | None = None,
    stage: Literal["both", "hard"] = "both",
    block_size_hard: int | None = None,
    step_hard: int | None = None,
    search_window_hard: int | None = None,
    max_blocks_hard: int | None = None,
    tau_match_hard: float | None = None,
    lambda_3d: float | None = None,
    beta_hard: float | None = None,
    transform_hard: Literal["bior1.5", "dct"] | None = None,
    block_size_wiener: int | None = None,
    step_wiener: int | None = None,
    search_window_wiener: int | None = None,
    max_blocks_wiener: int | None = None,
    tau_match_wiener: float | None = None,
    beta_wiener: float | None = None,
    transform_wiener: Literal["bior1.5", "dct"] | None = None,
    mu2: float | None = None,
) -> np.ndarray:
    """Remove additive white Gaussian noise with BM3D (gray) or CBM3D (colour).

    image: HWC (H, W), (H, W, 1) gray or (H, W, 3) colour; uint8, uint16, float32 or float64
        (float64 is filtered in float32 and returned as float64).  Colour is filtered in the
        opponent colour space, blocks matched on its luminance; the channel order does not matter.
    sigma: the noise standard deviation in the image's own units -- 0-255 for uint8, 0-65535
        for uint16, 0-1 for floats.  None estimates it with estimate_sigma(image).  0 returns a
        copy.
    stage: "both" (hard thresholding, then Wiener filtering) or "hard" (the basic estimate).
    The other arguments override the authors' normal profile, which imgen._core.bm3d_profile(s)
    lists for a noise level s on the 0-255 scale: 8x8 blocks, reference blocks every 3 pixels,
    a 39x39 search window, at most 16 / 32 blocks per group, tau_match 3000 / 400 (mean squared
    block difference on the 0-255 scale), lambda_3d 2.7 (hard threshold lambda_3d * sigma), Kaiser
    beta 2, bior1.5 / DCT block transforms, mu2 1 (Wiener shrinkage B^2 / (B^2 + mu2 sigma^2)),
    with the reference's changes above sigma = 40 (on the 0-255 scale).

    Returns a new array of the input's shape and dtype; integer outputs are rounded and clipped,
    float outputs are not clipped.  Raises TypeError for an unsupported dtype or an argument of
    the wrong type, and ValueError for an unsupported shape or channel count, a pixel that is NaN
    or infinite, or an argument outside its range: sigma in [0, a million times the white level],
    block sizes 2..16, steps 1..block size, search windows odd in 1..255, max_blocks a power of
    two in 1..64, tau_match in [0, 1e30], beta in [0, 50], lambda_3d in [0, 1000], mu2 in
    [0, 1e6].
    """
    img = as_image(image, "image")  # float64 -> float32
    if img.ndim == 3 and img.shape[2] not in (1, 3):
        raise ValueError(
            f"bm3d supports gray (H, W) / (H, W, 1) or colour (H, W, 3) images, got {img.shape[2]} "
            f"channels (shape {img.shape})"
        )
    if sigma is None:
        if img.shape[0] < 2 or img.shape[1] < 2:
            raise ValueError(f"cannot estimate sigma of an image smaller than 2x2 {img.shape[:2]}: pass sigma")
        if img.dtype == np.float32 and not np.isfinite(img).all():
            raise ValueError("image contains NaN or infinite values")
        sigma = estimate_sigma(img)
    # The core checks sigma and the other arguments (types, ranges in the image's units) and
    # names the argument and its range in its TypeError / ValueError.
    out = _core.bm3d(
        img,
        sigma=sigma,
        stage=stage,
        block_size_hard=block_size_hard,
        step_hard=step_hard,
        search_window_hard=search_window_hard,
        max_blocks_hard=max_blocks_hard,
        tau_match_hard=tau_match_hard,
        lambda_3d=lambda_3d,
        beta_hard=beta_hard,
        transform_hard=transform_hard,
        block_size_wiener=block_size_wiener,
        step_wiener=step_wiener,
        search_window_wiener=search_window_wiener,
        max_blocks_wiener=max_blocks_wiener,
        tau_match_wiener=tau_match_wiener,
        beta_wiener=beta_wiener,
        transform_wiener=transform_wiener,
        mu2=mu2,
    )
    if isinstance(image, np.ndarray) and image.dtype != out.dtype:
        out = out.astype(image.dtype)
    return out
