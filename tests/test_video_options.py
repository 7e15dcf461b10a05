"""imgen.video.options: EncodeOptions, checked when built (what the encoder does with them is in
test_video_encoding.py)."""
from __future__ import annotations

from dataclasses import FrozenInstanceError

import pytest

from imgen.video import EncodeOptions
from imgen.video.options import DEFAULT_CODECS, DEFAULT_CRF


def test_defaults_leave_the_choices_to_the_encoder():
    options = EncodeOptions()
    assert (options.codec, options.crf, options.bitrate, options.pix_fmt, options.preset) == (None,) * 5
    assert options.threads == 0 and dict(options.extra) == {}
    assert DEFAULT_CODECS[0] == "libx264" and DEFAULT_CRF == 18
    with pytest.raises(FrozenInstanceError):
        options.crf = 20


@pytest.mark.parametrize("fields, match", [
    ({"crf": -1}, "crf must be >= 0, got -1"),
    ({"crf": float("nan")}, "crf must be >= 0"),
    ({"bitrate": 0}, r"bitrate must be > 0 bits/s, got 0"),
    ({"threads": -2}, r"threads must be >= 0 \(0 = automatic\), got -2"),
])
def test_bad_values_are_refused_when_built(fields, match):
    with pytest.raises(ValueError, match=match):
        EncodeOptions(**fields)


def test_good_values_are_kept():
    options = EncodeOptions(codec="libx265", crf=0, bitrate=8_000_000, pix_fmt="yuv444p", preset="slow", threads=4,
                            extra={"tune": "grain"})
    assert options.crf == 0 and options.bitrate == 8_000_000 and options.extra["tune"] == "grain"
