"""Uniform scalar quantisation of latents (VAE compression): ``imgen encode --bits N``.

Each latent value z is clipped to [low, high] and mapped to one of 2**bits equal cells:
``code = min(floor((z - low) / step), 2**bits - 1)`` with ``step = (high - low) / 2**bits``; the
decoder reads the cell centre ``low + (code + 0.5) * step``.  Codes are uint8 (bits <= 8) or
uint16 (bits <= 16); the quantiser's parameters travel with them (``QUANT_KEYS`` in the .npz), so
``dequantize`` is exact and deterministic.  A VAE's prior is N(0, I), so the default range is
+-3 standard deviations (``DEFAULT_RANGE``).  Rate: ``bits * latent elements`` per image.
"""
from __future__ import annotations

import numpy as np

DEFAULT_RANGE = (-3.0, 3.0)
MAX_BITS = 16
QUANT_KEYS = ("quant_bits", "quant_low", "quant_high")


def check_quantizer(bits: int, low: float, high: float) -> None:
    """ValueError unless 1 <= bits <= 16 and low < high are finite."""
    if isinstance(bits, bool) or not isinstance(bits, (int, np.integer)) or not 1 <= bits <= MAX_BITS:
        raise ValueError(f"bits must be an integer from 1 to {MAX_BITS}, got {bits!r}")
    if not (np.isfinite(low) and np.isfinite(high) and low < high):
        raise ValueError(f"the quantiser range must be finite with low < high, got [{low}, {high}]")


def quantize(z: np.ndarray, bits: int, low: float = DEFAULT_RANGE[0], high: float = DEFAULT_RANGE[1]) -> np.ndarray:
    """float latents (any shape) -> codes of the same shape (uint8 for bits <= 8, else uint16).
    NaN raises ValueError; values outside [low, high] are clipped."""
    check_quantizer(bits, low, high)
    z = np.asarray(z, dtype=np.float64)
    if np.isnan(z).any():
        raise ValueError("latents contain NaN")
    levels = 1 << bits
    step = (high - low) / levels
    codes = np.floor((np.clip(z, low, high) - low) / step)
    return np.clip(codes, 0, levels - 1).astype(np.uint8 if bits <= 8 else np.uint16)


def dequantize(codes: np.ndarray, bits: int, low: float = DEFAULT_RANGE[0], high: float = DEFAULT_RANGE[1]) -> np.ndarray:
    """codes -> float32 cell centres.  Raises ValueError for codes that are not integers in
    [0, 2**bits)."""
    check_quantizer(bits, low, high)
    codes = np.asarray(codes)
    if codes.dtype.kind not in "iu":
        raise ValueError(f"latent codes must be integers, got {codes.dtype}")
    if codes.size and (codes.min() < 0 or codes.max() >= 1 << bits):
        raise ValueError(f"latent codes must lie in [0, {(1 << bits) - 1}] for {bits} bits, "
                         f"got [{codes.min()}, {codes.max()}]")
    step = (high - low) / (1 << bits)
    return (low + (codes.astype(np.float64) + 0.5) * step).astype(np.float32)


def quantizer_arrays(bits: int, low: float, high: float) -> dict[str, np.ndarray]:
    """The parameters as .npz entries (``QUANT_KEYS``)."""
    check_quantizer(bits, low, high)
    return {"quant_bits": np.array(bits, np.int64), "quant_low": np.array(low, np.float64),
            "quant_high": np.array(high, np.float64)}


def quantizer_from(arrays) -> tuple[int, float, float]:
    """(bits, low, high) from .npz entries; ValueError naming what is missing or wrong."""
    missing = [k for k in QUANT_KEYS if k not in arrays]
    if missing:
        raise ValueError(f"quantised latents need {', '.join(QUANT_KEYS)}; missing {', '.join(missing)}")
    try:
        bits = int(np.asarray(arrays["quant_bits"]).item())
        low = float(np.asarray(arrays["quant_low"]).item())
        high = float(np.asarray(arrays["quant_high"]).item())
    except (ValueError, TypeError) as e:
        raise ValueError(f"quantiser parameters must be scalars ({e})") from None
    check_quantizer(bits, low, high)
    return bits, low, high
