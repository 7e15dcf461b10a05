"""imgen.video.fields: interlaced input -- kept interlaced (field order and interlaced coding) by
encoders that code fields, noted by those that cannot, or deinterlaced on request (bwdif, one
frame per frame, timestamps kept).  Clips are made with PyAV (x264 interlaced coding)."""
from __future__ import annotations

import pytest

av = pytest.importorskip("av")

from imgen.cli import main  # noqa: E402
from imgen.metrics import psnr  # noqa: E402
from imgen.video import EncodeOptions, process_video  # noqa: E402

import video_clips as vc  # noqa: E402
from video_runs import identity, leftovers  # noqa: E402


@pytest.fixture(scope="module")
def interlaced(tmp_path_factory):
    return vc.make_clip(tmp_path_factory.mktemp("il") / "il.mkv", frames=8, interlaced=True, audio=False)


def _fields(path):
    with av.open(str(path)) as c:
        stream = c.streams.video[0]
        frames = list(c.decode(stream))
        return stream.codec_context.field_order, [f.interlaced_frame for f in frames], \
            [float(f.pts * f.time_base) for f in frames]


def test_interlaced_input_stays_interlaced(interlaced, tmp_path):
    order, flags, times = _fields(interlaced)
    assert order == 2 and all(flags)  # the premise: top field first, coded interlaced
    summary = process_video(interlaced, tmp_path / "out.mkv", identity)
    got = _fields(tmp_path / "out.mkv")
    assert got == (order, flags, times)
    assert "interlaced input kept interlaced (top field first, coded by libx264)" in summary.notes


def test_an_encoder_without_field_coding_says_so(interlaced, tmp_path):
    summary = process_video(interlaced, tmp_path / "out.mkv", identity,
                            options=EncodeOptions(codec="libx265", quiet=True))
    assert any("encoded by libx265 as progressive frames" in n and "--deinterlace" in n for n in summary.notes)


def test_deinterlace_on_request(interlaced, tmp_path, capsys):
    dst = tmp_path / "out.mkv"
    assert main(["video", str(interlaced), "-o", str(dst), "--method", "wavelet", "-q", "--deinterlace"]) == 0
    assert "note: deinterlaced (top field first) with FFmpeg's bwdif" in capsys.readouterr().err
    order, flags, times = _fields(dst)
    assert order in (0, 1) and not any(flags) and times == _fields(interlaced)[2]
    # the picture survives (the clip's content is progressive, so bwdif has little to change)
    before, after = vc.read_clip(interlaced)["frames"], vc.read_clip(dst)["frames"]
    assert len(after) == len(before) and min(psnr(a, b) for a, b in zip(before, after)) > 30
    assert leftovers(tmp_path) == []


def test_deinterlace_on_progressive_input_is_a_note(clips, tmp_path):
    summary = process_video(clips["mp4"], tmp_path / "o.mp4", identity, options=EncodeOptions(deinterlace=True))
    assert summary.frames_out == 20 and any("nothing to deinterlace" in n for n in summary.notes)
