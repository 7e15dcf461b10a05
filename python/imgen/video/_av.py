"""PyAV, imported only when a video file is read or written (it is the optional [video] extra)."""
from __future__ import annotations

from ..errors import ImgenError

INSTALL_HINT = "pip install 'imgen[video]'"


class VideoSupportMissing(ImgenError, ImportError):
    """PyAV is not installed."""


def require_av():
    """The ``av`` module; VideoSupportMissing (an ImgenError) naming the extra when it is absent."""
    try:
        import av
    except ImportError as e:
        raise VideoSupportMissing(f"reading and writing video files needs PyAV: {INSTALL_HINT}") from e
    return av
