"""BM3D / CBM3D denoising (Dabov et al. 2007) on the C++ core."""
from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Literal

import numpy as np

from .. import _core
from .. import methods
from .._bands import band_rows, check_band, spans
from .._validate import as_image
from ._sigma import estimate_sigma

Transform = Literal["bior1.5", "dct"]


@dataclass(frozen=True, kw_only=True)
class Bm3dParams:
    """BM3D's tuning parameters: the one list of their names (bm3d()'s keywords mirror it, and
    the core reads these attributes by name).  None takes the profile's value, which
    imgen._core.bm3d_profile(sigma) lists for a noise level sigma: 8x8 blocks, reference blocks
    every 3 pixels, a 39x39 search window, at most 16 / 16 blocks per group (16 / 32 above
    40/255), tau_match max(3000, 6.4 sigma^2) / 3200 (mean squared block difference on the
    0-255 scale), lambda_3d 2.7 (hard threshold lambda_3d * sigma * sqrt(v)), Kaiser beta 2,
    bior1.5 / DCT block transforms, mu2 0.7 (Wiener shrinkage B^2 / (B^2 + mu2 sigma^2 v));
    lambda_3d 2.8, mu2 0.6 and step_wiener 4 above 40/255.  v is each 3-D coefficient's exact
    noise variance in units of sigma^2 (blocks of a group that overlap share noise), as in the
    reference package's 2020 release.

    Construction checks nothing but the names (an unknown one is a TypeError); types and ranges
    are checked once, by the core, when bm3d() runs: block sizes 2..16, steps 1..block size,
    search windows odd in 1..255, max_blocks a power of two in 1..64, tau_match in [0, 1e30],
    beta in [0, 50], lambda_3d in [0, 1000], mu2 in [0, 1e6]; bior1.5 needs 8x8 blocks.
    """

    block_size_hard: int | None = None
    step_hard: int | None = None
    search_window_hard: int | None = None
    max_blocks_hard: int | None = None
    tau_match_hard: float | None = None
    lambda_3d: float | None = None
    beta_hard: float | None = None
    transform_hard: Transform | None = None
    block_size_wiener: int | None = None
    step_wiener: int | None = None
    search_window_wiener: int | None = None
    max_blocks_wiener: int | None = None
    tau_match_wiener: float | None = None
    beta_wiener: float | None = None
    transform_wiener: Transform | None = None
    mu2: float | None = None


_FIELDS = tuple(f.name for f in dataclasses.fields(Bm3dParams))


def bm3d(
    image: np.ndarray,
    *,
    sigma: float | None = None,
    stage: Literal["both", "hard", "wiener"] = "both",
    params: Bm3dParams | None = None,
    pilot: np.ndarray | None = None,
    # Convenience keywords: exactly Bm3dParams' fields (tests/test_bm3d.py checks), each
    # overriding params' value when not None.
    block_size_hard: int | None = None,
    step_hard: int | None = None,
    search_window_hard: int | None = None,
    max_blocks_hard: int | None = None,
    tau_match_hard: float | None = None,
    lambda_3d: float | None = None,
    beta_hard: float | None = None,
    transform_hard: Transform | None = None,
    block_size_wiener: int | None = None,
    step_wiener: int | None = None,
    search_window_wiener: int | None = None,
    max_blocks_wiener: int | None = None,
    tau_match_wiener: float | None = None,
    beta_wiener: float | None = None,
    transform_wiener: Transform | None = None,
    mu2: float | None = None,
    band: int | None = None,
) -> np.ndarray:
    """Remove additive white Gaussian noise with BM3D (gray) or CBM3D (colour).

    image: HWC (H, W), (H, W, 1) gray or (H, W, 3) colour; uint8, uint16, float32 or float64
        (float64 is filtered in float32 and returned as float64).  Colour is filtered in the
        opponent colour space, blocks matched on its luminance; the channel order does not matter.
    sigma: the noise standard deviation as a fraction of the full range, whatever the dtype
        (noise of 25 gray levels in a uint8 image: 25/255).  None estimates it with
        estimate_sigma(image).  0 returns a copy.
    stage: "both" (hard thresholding, then Wiener filtering), "hard" (the basic estimate) or
        "wiener" (the Wiener stage alone, with `pilot` as its basic estimate).
    pilot: stage "wiener" only, and required there: a basic estimate of the image's shape (any
        of the image dtypes, in its own dtype's units), e.g. bm3d(image, stage="hard") or
        another denoiser's output.
    band: None (default) denoises images of up to WHOLE_PIXELS (16 Mi) pixels whole and larger
        ones in horizontal bands of about BAND_PIXELS (8 Mi); 0 always whole; N > 0 bands of N rows
        (rounded up to the reference grid) when the image is taller.  Each band is filtered with
        a margin of rows above and below that covers everything its rows depend on (both
        stages' search windows and blocks), so the result is the whole image's up to float rounding
        (the core's block matching rounds differently at another distance from the top: the
        whole call on an image cropped at a band's edge differs as much): within 1e-3 of the
        full range, uint8 a few pixels in 10,000 by 1 level (tests/test_bm3d_bands.py).  Memory is
        bounded by the band, not the image: about 16 bytes a pixel of the band for gray and 48 for
        colour, besides the input and output.
    params: a Bm3dParams overriding the profile (see Bm3dParams for the fields, their defaults
        and ranges).  The other keywords are the same fields, given one by one: those not None
        override params' value, so bm3d(x, sigma=0.1, step_hard=3) and
        bm3d(x, sigma=0.1, params=Bm3dParams(step_hard=3)) are the same call.

    Returns a new array of the input's shape and dtype; integer outputs are rounded and clipped,
    float outputs are not clipped.  Raises TypeError for an unsupported dtype or an argument of
    the wrong type, and ValueError for an unsupported shape or channel count, a pixel that is NaN
    or infinite, or an argument outside its range: sigma in [0, 1],
    the others as Bm3dParams lists (the message names the parameter and its range).
    """
    arguments = locals()  # first thing: exactly the arguments
    overrides = {name: arguments[name] for name in _FIELDS if arguments[name] is not None}
    check_band(band)
    if pilot is not None:
        pilot = as_image(pilot, "pilot")  # float64 -> float32; the core checks the rest
    if params is None:
        params = Bm3dParams(**overrides)
    elif not isinstance(params, Bm3dParams):
        raise TypeError(f"params must be a Bm3dParams or None, got {type(params).__name__}")
    elif overrides:
        params = dataclasses.replace(params, **overrides)
    img = as_image(image, "image")  # float64 -> float32
    if sigma is None:
        # estimate_sigma's preconditions; the core checks everything else, once.
        if img.shape[0] < 2 or img.shape[1] < 2:
            raise ValueError(f"cannot estimate sigma of an image smaller than 2x2 {img.shape[:2]}: pass sigma")
        if img.dtype == np.float32 and not np.isfinite(img).all():
            raise ValueError("image contains NaN or infinite values")
        sigma = estimate_sigma(img)
    # The core checks sigma, stage, the channel count and params (types and ranges) and names
    # the argument and its range in its TypeError / ValueError.
    rows = _band_rows(img, band, sigma, stage, params, pilot)
    if rows:
        out = _banded(img, rows, sigma=sigma, stage=stage, params=params, pilot=pilot)
    else:
        out = _core.bm3d(img, sigma=sigma, stage=stage, params=params, pilot=pilot)
    if isinstance(image, np.ndarray) and image.dtype != out.dtype:
        out = out.astype(image.dtype)
    return out


# -- large images: bands with margins -------------------------------------------------------------


def _band_rows(img: np.ndarray, band: int | None, sigma, stage: str, params: Bm3dParams, pilot) -> int:
    """The rows of each band's core, on the reference grid; 0: filter the image whole (small
    enough, band=0, or arguments the core will refuse with its own message)."""
    h, w = img.shape[:2]
    if band_rows(h, w, band) == 0:
        return 0
    if pilot is not None and pilot.shape[:2] != img.shape[:2]:
        return 0  # the core names both shapes
    try:
        grid = _grid(_resolved(params, float(sigma)), stage)
    except (TypeError, ValueError, OverflowError):
        return 0  # the core names the parameter and its range
    return band_rows(h, w, band, grid=grid)


def _resolved(params: Bm3dParams, sigma: float) -> dict[str, dict[str, int]]:
    """Each stage's block size, step and search window: params' values, else the profile's."""
    profile = _core.bm3d_profile(min(max(sigma, 0.0), 1.0))
    out = {}
    for stage in ("hard", "wiener"):
        out[stage] = {key: int(getattr(params, f"{key}_{stage}") if getattr(params, f"{key}_{stage}") is not None
                               else profile[stage][key]) for key in ("block_size", "step", "search_window")}
    return out


def _grid(sizes: dict[str, dict[str, int]], stage: str) -> int:
    """Rows a band boundary is a multiple of: both stages' reference steps fall on the same rows
    in a band as in the whole image."""
    used = ("hard", "wiener") if stage == "both" else (stage,)
    return math.lcm(*(sizes[s]["step"] for s in used))


def _margin(sizes: dict[str, dict[str, int]], stage: str) -> int:
    """Rows a band's core depends on beyond its edge.  One stage: a pixel takes the groups of
    reference blocks within half a search window and a block of it, whose blocks come from half a
    search window around the reference (2 * (window // 2) + block - 1 rows); the Wiener stage
    also matches on the basic estimate, which reaches as far again.  A search window clipped at
    an edge shifts inward in some implementations: a block more each side covers that."""
    used = ("hard", "wiener") if stage == "both" else (stage,)
    return sum(2 * (sizes[s]["search_window"] // 2) + 2 * sizes[s]["block_size"] for s in used)


def _banded(img: np.ndarray, rows: int, *, sigma, stage: str, params: Bm3dParams, pilot) -> np.ndarray:
    """The image in horizontal bands of ``rows`` rows, each filtered with its margin; the whole
    call's pixels up to float rounding (bm3d's docstring).  Row bands of a C-contiguous image are
    views, not copies."""
    sizes = _resolved(params, float(sigma))
    grid = _grid(sizes, stage)
    margin = -(-_margin(sizes, stage) // grid) * grid
    h = img.shape[0]
    img = np.ascontiguousarray(img)
    out = np.empty_like(img)
    for c0, c1, t0, t1 in spans(h, rows, margin):
        part = _core.bm3d(img[t0:t1], sigma=sigma, stage=stage, params=params,
                          pilot=None if pilot is None else np.ascontiguousarray(pilot[t0:t1]))
        out[c0:c1] = part[c0 - t0:c1 - t0]
    return out


@methods.register("bm3d", task="denoise", help="BM3D / CBM3D (Dabov et al. 2007), imgen's C++ core")
class Bm3dDenoise:
    """The registry's ``bm3d``: :func:`bm3d` with a noise level and a stage (the profile's tuning)."""

    @dataclass(frozen=True, kw_only=True)
    class Params(methods.Params):
        sigma: float | None = methods.sigma_param()
        stage: str = methods.param("both", help="both stages or the hard-threshold one", choices=("both", "hard"))

    def __call__(self, image: np.ndarray, params: Params) -> np.ndarray:
        return bm3d(image, sigma=params.sigma, stage="hard" if params.stage == "hard" else "both")
