"""imgen.video.sink: writing the processed frames -- timestamps kept (variable frame rates too),
audio and subtitle packets copied where the container takes them, one frame size per video, no
temporary file left after a failure.  Clips are made with PyAV (tests/video_clips.py)."""
from __future__ import annotations

import numpy as np
import pytest

av = pytest.importorskip("av")

from imgen.video import VideoError, process_video  # noqa: E402

import video_clips as vc  # noqa: E402
from video_runs import identity, leftovers  # noqa: E402


def test_variable_frame_rate_and_subtitles_survive(clips, tmp_path):
    src = vc.read_clip(clips["vfr"])
    dst = tmp_path / "out.mkv"
    summary = process_video(clips["vfr"], dst, identity, batch_size=3)
    got = vc.read_clip(dst)
    assert summary.frames_out == 18
    assert len(set(np.round(np.diff(src["times"]), 3))) == 2  # really variable
    np.testing.assert_allclose(got["times"], src["times"], atol=1e-3)
    assert got["packets"]["subtitle"] == src["packets"]["subtitle"]
    assert got["packets"]["audio"] == src["packets"]["audio"]
    # mp4 cannot hold SRT: said so, the rest still written
    s2 = process_video(clips["vfr"], tmp_path / "out.mp4", identity)
    assert any("subtitle" in n and "not copied" in n for n in s2.notes)


def test_a_processor_that_changes_size_midway_is_an_error(clips, tmp_path):
    calls = [0]

    def shrinking(frames):
        calls[0] += 1
        return [f[:-2] if calls[0] > 1 else f for f in frames]

    with pytest.raises(VideoError, match="every frame must have one size"):
        process_video(clips["mp4"], tmp_path / "o.mp4", shrinking, batch_size=2)
    assert leftovers(tmp_path) == [] and not (tmp_path / "o.mp4").exists()


def test_chapters_titles_and_dispositions_are_copied(tmp_path):
    src = vc.make_clip(tmp_path / "in.mkv", frames=12, subtitles=True, tags=True)

    def described(path):
        with av.open(str(path)) as c:
            return (c.metadata.get("title"), [(ch["start"] * ch["time_base"], ch["end"] * ch["time_base"],
                                               ch["metadata"]) for ch in c.chapters()],
                    [(s.type, s.metadata.get("title"), s.language, int(s.disposition)) for s in c.streams])

    want = described(src)
    assert want[0] == "A test clip" and len(want[1]) == 2 and want[2][2][3]  # the premise: forced subtitles
    process_video(src, tmp_path / "out.mkv", identity)
    assert described(tmp_path / "out.mkv") == want
    process_video(src, tmp_path / "out.mp4", identity)  # mp4: title and chapters too (no SRT)
    got = described(tmp_path / "out.mp4")
    assert got[0] == want[0] and got[1] == want[1]


def test_impossible_decoding_timestamps_from_an_encoder_are_repaired():
    """libx265 here sometimes hands out garbage dts for the first packets of a very short clip."""
    from types import SimpleNamespace

    from imgen.video.sink import VideoFileSink

    muxed = []
    sink = SimpleNamespace(_last_dts=None, _container=SimpleNamespace(mux=lambda p: muxed.append((p.pts, p.dts))))
    for pts, dts in [(0, 269577365191771824), (80, -5), (40, 40), (120, 100)]:
        VideoFileSink._mux_encoded(sink, SimpleNamespace(pts=pts, dts=dts))
    assert muxed == [(0, 0), (80, 1), (40, 40), (120, 100)]


def test_rgb24_rows_with_padding_go_to_the_core_without_a_copy():
    from imgen.video import _yuv
    from imgen.video.sink import _rgb_for_video

    full = np.random.default_rng(0).integers(0, 256, (10, 14, 3), dtype=np.uint8)
    crop = full[:, :12]  # rows padded by 2 pixels, as _fit_even's crop
    array, fmt, note = _rgb_for_video(crop)
    assert fmt == "rgb24" and note is None and np.shares_memory(array, full)
    a = _yuv.rgb_to_frame(av, array, "yuv420p", 1, None).to_ndarray()
    np.testing.assert_array_equal(a, _yuv.rgb_to_frame(av, crop.copy(), "yuv420p", 1, None).to_ndarray())
    rgba = np.zeros((4, 6, 4), np.uint8)  # alpha dropped: pixels 4 bytes apart, copied
    array, fmt, _ = _rgb_for_video(rgba)
    assert fmt == "rgb24" and array.flags.c_contiguous and not np.shares_memory(array, rgba)
