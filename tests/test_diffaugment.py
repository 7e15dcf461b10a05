"""DiffAugment transforms: seeded, differentiable, the paper's ranges, named errors."""
from __future__ import annotations

import pytest

torch = pytest.importorskip("torch", reason="imgen_train needs torch (pip install torch, then imgen[train])")

from imgen_train.diffaugment import diff_augment, parse_policy  # noqa: E402


def _x(n=8, c=1, h=16, w=16):
    return torch.rand((n, c, h, w), generator=torch.Generator().manual_seed(0)) * 2 - 1


def _g(seed=1):
    return torch.Generator().manual_seed(seed)


def test_policy_parsing_names_unknown_transforms():
    assert parse_policy("") == ()
    assert parse_policy("color, translation,cutout") == ("color", "translation", "cutout")
    with pytest.raises(ValueError, match="unknown transform.*rotate.*choose from color, translation, cutout"):
        parse_policy("color,rotate")


@pytest.mark.parametrize("policy", [("color",), ("translation",), ("cutout",), ("color", "translation", "cutout")])
def test_same_seed_same_transforms_and_gradients_flow(policy):
    x = _x().requires_grad_(True)
    a = diff_augment(x, policy, _g(3))
    b = diff_augment(x, policy, _g(3))
    assert a.shape == x.shape and torch.equal(a, b)
    assert not torch.equal(a, diff_augment(x, policy, _g(4)))
    a.sum().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0


def test_translation_shifts_by_at_most_an_eighth_with_zeros_shifted_in():
    x = torch.ones((64, 1, 16, 16))
    out = diff_augment(x, ("translation",), _g())
    zero_rows = (out == 0).all(dim=3).sum(dim=(1, 2))
    zero_cols = (out == 0).all(dim=2).sum(dim=(1, 2))
    assert int(zero_rows.max()) <= 2 and int(zero_cols.max()) <= 2  # 16 / 8 = 2 pixels
    assert int((zero_rows + zero_cols).gt(0).sum()) > 32  # most images moved
    assert set(out.unique().tolist()) <= {0.0, 1.0}


def test_cutout_zeroes_a_square_of_half_the_size_clipped_at_the_border():
    x = torch.ones((64, 1, 16, 16))
    out = diff_augment(x, ("cutout",), _g())
    zeros = (out == 0).sum(dim=(1, 2, 3))
    assert int(zeros.max()) == 64 and int(zeros.min()) >= 4 * 4  # 8x8; its centre may sit on a corner pixel


def test_color_on_gray_changes_brightness_and_contrast_only():
    x = _x(n=4)
    out = diff_augment(x, ("color",), _g())
    for k in range(4):  # an affine map of the image: out = a * x + b
        a = ((out[k] - out[k].mean()) * (x[k] - x[k].mean())).sum() / ((x[k] - x[k].mean()) ** 2).sum()
        torch.testing.assert_close(out[k], a * (x[k] - x[k].mean()) + out[k].mean(), rtol=1e-5, atol=1e-5)
        assert 0.5 - 1e-6 <= float(a) <= 1.5 + 1e-6
