"""imgen.latent_codes: uniform latent quantisation round trips and its errors."""
from __future__ import annotations

import numpy as np
import pytest

from imgen.latent_codes import dequantize, quantize, quantizer_arrays, quantizer_from


@pytest.mark.parametrize("bits", [1, 3, 8, 12])
def test_round_trip_error_is_at_most_half_a_cell(bits, rng):
    z = rng.normal(0, 1.5, (50, 7))
    codes = quantize(z, bits)
    assert codes.dtype == (np.uint8 if bits <= 8 else np.uint16) and codes.max() < 2**bits
    back = dequantize(codes, bits)
    step = 6 / 2**bits
    assert np.all(np.abs(back - np.clip(z, -3, 3)) <= step / 2 + 1e-6)
    np.testing.assert_array_equal(quantize(back, bits), codes)  # cell centres map to their own cell


def test_custom_range_and_clipping():
    codes = quantize(np.array([-10.0, 0.0, 0.99, 10.0]), 2, 0.0, 1.0)
    assert codes.tolist() == [0, 0, 3, 3]
    assert dequantize(codes, 2, 0.0, 1.0).tolist() == [0.125, 0.125, 0.875, 0.875]


def test_parameters_round_trip_through_npz_entries(tmp_path):
    np.savez(tmp_path / "q.npz", **quantizer_arrays(5, -2.0, 4.0))
    assert quantizer_from(np.load(tmp_path / "q.npz")) == (5, -2.0, 4.0)


@pytest.mark.parametrize("call, message", [
    (lambda: quantize(np.zeros(3), 0), "bits must be an integer from 1 to 16"),
    (lambda: quantize(np.zeros(3), 4, 1.0, 1.0), "low < high"),
    (lambda: quantize(np.array([np.nan]), 4), "NaN"),
    (lambda: dequantize(np.array([1.5]), 4), "must be integers"),
    (lambda: dequantize(np.array([16]), 4), r"\[0, 15\]"),
    (lambda: quantizer_from({"quant_bits": 4}), "missing quant_low, quant_high"),
])
def test_bad_inputs_raise_clear_errors(call, message):
    with pytest.raises(ValueError, match=message):
        call()
