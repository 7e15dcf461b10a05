"""imgen_train.ranges: the 'V' or 'LOW,HIGH' options of imgen train, one parser with one message."""
from __future__ import annotations

import pytest

pytest.importorskip("torch", reason="imgen_train needs torch (pip install torch, then imgen[train])")

from imgen_train.ranges import parse_range  # noqa: E402


@pytest.mark.parametrize(("text", "expected"), [("25", (25.0, 25.0)), ("0,75", (0.0, 75.0)), ("0-75", (0.0, 75.0)),
                                                (" 1.5 , 3 ", (1.5, 3.0)), ("1e-05,2", (1e-05, 2.0))])
def test_values_and_forms(text, expected):
    assert parse_range(text, option="--x", low=0) == expected


def test_integer_ranges_and_bounds():
    assert parse_range("10,40", option="--quality", low=1, high=100, cast=int) == (10, 40)
    for bad in ("0,10", "40,10", "10,200", "10.5,20", "x", "1,2,3", "", "nan", "0,inf", "-5,3"):
        with pytest.raises(ValueError, match=r"--quality must be 'V' or 'LOW,HIGH' with 1 <= LOW <= HIGH <= 100"):
            parse_range(bad, option="--quality", low=1, high=100, cast=int if bad != "0,inf" else float)


def test_message_names_the_unit_and_the_text():
    with pytest.raises(ValueError, match=r"--blur-gauss must be 'V' or 'LOW,HIGH' in pixels .* got '9'"):
        parse_range("9", option="--blur-gauss", low=0.3, high=4.0, unit=" in pixels")


def test_parse_indices_reads_conv_indices_and_names_bad_text():
    from imgen_train.ranges import parse_indices

    assert parse_indices("0,1,2,-1") == (0, 1, 2, -1)
    assert parse_indices("") == () and parse_indices(" 0 , -1 ") == (0, -1)
    with pytest.raises(ValueError, match="comma-separated conv indices"):
        parse_indices("0,x")
