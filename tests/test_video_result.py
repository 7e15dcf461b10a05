"""imgen.video.result: VideoSummary (what `imgen video` prints) and the errors that carry one."""
from __future__ import annotations

import pytest

from imgen import ImgenError
from imgen.video import VideoError, VideoInterrupted, VideoSummary


def test_summary_lines():
    summary = VideoSummary(source="in.mp4", output="out.mp4", frames_in=50, frames_out=48, seconds=4.0,
                           complete=True, bad_frames=["frame 7: broken (skipped)", "frame 9: broken (skipped)"],
                           copied_streams=["audio #1 (aac)", "subtitle #2 (subrip)"], notes=["data #3 not copied"])
    assert summary.fps == 12.0
    assert summary.lines() == [
        "frames in 50, frames out 48, bad 2; 4.0 s, 12.0 frames/s",
        "output: out.mp4",
        "copied without re-encoding: audio #1 (aac), subtitle #2 (subrip)",
        "note: data #3 not copied",
        "bad frame: frame 7: broken (skipped)",
        "bad frame: frame 9: broken (skipped)",
    ]


def test_an_unfinished_summary_says_so():
    summary = VideoSummary(source="in.mp4", output=None)
    assert summary.fps == 0.0  # no time measured: no division by zero
    assert summary.lines() == ["frames in 0, frames out 0, bad 0; 0.0 s, 0.0 frames/s (stopped early)"]


def test_the_errors_carry_the_summary():
    summary = VideoSummary(source="in.mp4", output="out.partial.mp4", frames_out=3)
    error = VideoError("stopped at a bad frame", summary)
    assert isinstance(error, ImgenError) and error.summary is summary and str(error) == "stopped at a bad frame"
    assert VideoError("cannot open").summary is None
    with pytest.raises(KeyboardInterrupt) as info:  # Ctrl+C handlers catch it as what it is
        raise VideoInterrupted(summary)
    assert info.value.summary.output == "out.partial.mp4"


def test_a_slow_run_says_seconds_per_frame_not_zero_frames_per_second():
    """#33 item 12: 20 frames in 400 s is 20.0 s/frame, not "0.1 frames/s" or "0.0 frames/s"."""
    slow = VideoSummary(source="in.mp4", output="out.mp4", frames_in=20, frames_out=20, seconds=400.0, complete=True)
    assert slow.lines()[0] == "frames in 20, frames out 20, bad 0; 400.0 s, 20.0 s/frame"
    crawl = VideoSummary(source="in.mp4", output="out.mp4", frames_in=3, frames_out=3, seconds=1000.0, complete=True)
    assert "333.3 s/frame" in crawl.lines()[0] and "frames/s" not in crawl.lines()[0]
    assert VideoSummary(source="a", output="b", frames_out=3, seconds=3.0).rate == "1.0 frames/s"
