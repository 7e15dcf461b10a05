"""Horizontal bands with margins: how the classical methods that need a whole image in memory
(BM3D, Wiener, Richardson-Lucy) bound their working memory by a band on large images.

A band is rows [c0, c1) of the output, computed from rows [t0, t1) of the input: the band's own
rows plus ``margin`` rows of context above and below (fewer at the image's top and bottom).
"""
from __future__ import annotations

from collections.abc import Iterator

import numpy as np

#: Images of up to this many pixels are processed whole (band=None); larger ones in bands.
WHOLE_PIXELS = 1 << 24
#: The pixels of a band's own rows for band=None (its margins come on top).
BAND_PIXELS = 1 << 23


def check_band(band: object) -> None:
    """Raise ValueError unless ``band`` is None (automatic), 0 (whole) or a height in rows > 0."""
    if band is not None and (isinstance(band, bool) or not isinstance(band, (int, np.integer)) or band < 0):
        raise ValueError(f"band must be None (automatic), 0 (whole image) or a band height in rows > 0, got {band!r}")


def band_rows(height: int, width: int, band: int | None, *, grid: int = 1) -> int:
    """The rows of each band's own part (a multiple of ``grid``); 0: process the image whole
    (band=0, band=None on an image of up to WHOLE_PIXELS, or a band at least the image's height).
    ``band`` must have passed :func:`check_band`."""
    if band == 0 or (band is None and height * width <= WHOLE_PIXELS):
        return 0
    rows = int(band) if band else max(1, BAND_PIXELS // max(width, 1))
    rows = -(-rows // grid) * grid
    return rows if rows < height else 0


def spans(height: int, rows: int, margin: int) -> Iterator[tuple[int, int, int, int]]:
    """(c0, c1, t0, t1) of each band, top to bottom: its own rows [c0, c1) and the rows [t0, t1)
    it reads (``margin`` more each side, within the image)."""
    for c0 in range(0, height, rows):
        c1 = min(c0 + rows, height)
        yield c0, c1, max(0, c0 - margin), min(height, c1 + margin)
