"""PyAV, imported only when a video file is read or written (it is the optional [video] extra)."""
from __future__ import annotations

from ..errors import MissingExtraError, require

INSTALL_HINT = "pip install 'imgen[video]'"


class VideoSupportMissing(MissingExtraError):
    """PyAV is not installed."""


def require_av():
    """The ``av`` module; VideoSupportMissing (an ImgenError) naming the extra when it is absent."""
    return require("av", purpose="reading and writing video files", extra="video", package="PyAV",
                   error=VideoSupportMissing)
