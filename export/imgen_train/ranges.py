"""Range options of ``imgen train`` ('V' or 'LOW,HIGH'): --noise, --quality, --blur-noise, --blur-gauss."""
from __future__ import annotations

import math
import re
from collections.abc import Callable

_DASHED = re.compile(r"\s*[0-9.]+\s*-\s*[0-9.]+\s*")


def parse_range(text: str, *, option: str, low: float, high: float | None = None,
                cast: Callable[[str], float] = float, unit: str = "") -> tuple:
    """``'V'`` -> (V, V); ``'LOW,HIGH'`` (or ``'LOW-HIGH'``) -> (LOW, HIGH), finite values of
    ``cast`` with ``low <= LOW <= HIGH <= high``.  ValueError naming ``option``, the form and the bounds
    otherwise."""
    text = str(text)
    parts = [p for p in (text.split("-") if _DASHED.fullmatch(text) else text.split(",")) if p.strip()]
    try:
        values = [cast(p) for p in parts]
    except ValueError:
        values = []
    if len(values) == 1:
        values *= 2
    if len(values) != 2 or not all(math.isfinite(v) for v in values) or not low <= values[0] <= values[1] <= (values[1] if high is None else high):
        upper = "" if high is None else f" <= {high:g}"
        raise ValueError(f"{option} must be 'V' or 'LOW,HIGH'{unit} with {low:g} <= LOW <= HIGH{upper}, got {text!r}")
    return values[0], values[1]


def parse_indices(text: str) -> tuple[int, ...]:
    """'0,1,-1' -> (0, 1, -1): conv indices in graph order, negative from the end (ValueError naming
    the text otherwise)."""
    try:
        return tuple(int(part) for part in text.split(",") if part.strip())
    except ValueError:
        raise ValueError(f"expected comma-separated conv indices such as '0,-1', got {text!r}") from None
