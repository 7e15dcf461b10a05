"""imgen.video.extras: what a video stream carries beside its pixels survives a run -- the display
matrix (phone rotation) and HDR10 static metadata (mastering display, content light level) --
checked with PyAV on the output; encoders that cannot take HDR10 metadata say so."""
from __future__ import annotations

from fractions import Fraction

import pytest

av = pytest.importorskip("av")

from imgen.video import EncodeOptions, process_video  # noqa: E402
from imgen.video.extras import MasteringDisplay, _mastering as _parse, read_extras, side_data  # noqa: E402

import video_clips as vc  # noqa: E402
from video_runs import identity, leftovers  # noqa: E402


def _first_frame(path):
    with av.open(str(path)) as c:
        frame = next(c.decode(video=0))
        side = {sd.type.name: bytes(sd) for sd in side_data(frame)}
        return frame.rotation, side, c.streams.video[0].codec_context


def _mastering(data: bytes) -> list[float]:
    md = _parse(data)
    return [float(v) for xy in md.primaries + (md.white_point,) for v in xy] + [float(md.min_luminance),
                                                                               float(md.max_luminance)]


@pytest.mark.parametrize("suffix", [".mp4", ".mkv", ".mov"])
def test_rotation_is_kept(tmp_path, suffix):
    src = vc.make_clip(tmp_path / "phone.mp4", frames=4, rotation=90, audio=False)
    assert _first_frame(src)[0] == 90  # the premise
    dst = tmp_path / f"out{suffix}"
    summary = process_video(src, dst, identity)
    rotation, side, _ = _first_frame(dst)
    assert rotation == 90
    assert side["DISPLAYMATRIX"] == _first_frame(src)[1]["DISPLAYMATRIX"]
    assert any("display matrix kept" in n and "90 degrees" in n for n in summary.notes)
    plain = process_video(vc.make_clip(tmp_path / "plain.mp4", frames=2, audio=False), tmp_path / "p.mp4", identity)
    assert "DISPLAYMATRIX" not in _first_frame(tmp_path / "p.mp4")[1] and plain.notes == []


@pytest.fixture(scope="module")
def hdr_clip(tmp_path_factory):
    """HEVC 10-bit, PQ / BT.2020, with HDR10 SEI (x265)."""
    path = tmp_path_factory.mktemp("hdr") / "hdr.mkv"
    return vc.make_clip(path, frames=4, codec="libx265", pix_fmt="yuv420p10le", colour=vc.PQ_BT2020, audio=False,
                        options={"x265-params": "log-level=error:" + vc.HDR10_X265})


@pytest.mark.parametrize("codec", ["same", "libx265", "libsvtav1"])
def test_hdr10_static_metadata_is_carried(hdr_clip, tmp_path, codec):
    _, side_in, _ = _first_frame(hdr_clip)
    assert {"MASTERING_DISPLAY_METADATA", "CONTENT_LIGHT_LEVEL"} <= side_in.keys()
    dst = tmp_path / "out.mkv"
    summary = process_video(hdr_clip, dst, identity, options=EncodeOptions(codec=codec, quiet=True))
    _, side, cc = _first_frame(dst)
    assert cc.name == ("hevc" if codec != "libsvtav1" else cc.name) and cc.pix_fmt == "yuv420p10le"
    assert (cc.color_trc, cc.color_primaries, cc.colorspace) == (16, 9, 9)
    got, want = (_mastering(s["MASTERING_DISPLAY_METADATA"]) for s in (side, side_in))
    assert got == pytest.approx(want, rel=1e-3, abs=1e-4)  # AV1 has coarser fixed-point units than HEVC
    assert side["CONTENT_LIGHT_LEVEL"] == side_in["CONTENT_LIGHT_LEVEL"]
    assert not any("HDR10" in n for n in summary.notes)


def test_hdr10_metadata_an_encoder_cannot_take_is_noted(hdr_clip, tmp_path):
    summary = process_video(hdr_clip, tmp_path / "out.mkv", identity, options=EncodeOptions(codec="libx264"))
    assert any("HDR10 static metadata" in n and "libx264 cannot take it" in n for n in summary.notes)
    assert "MASTERING_DISPLAY_METADATA" not in _first_frame(tmp_path / "out.mkv")[1]
    assert leftovers(tmp_path) == []


def test_mastering_display_in_x265_and_svt_units():
    md = MasteringDisplay(primaries=((Fraction(708, 1000), Fraction(292, 1000)), (Fraction(17, 100), Fraction(797, 1000)),
                                     (Fraction(131, 1000), Fraction(46, 1000))),
                          white_point=(Fraction(3127, 10000), Fraction(329, 1000)),
                          min_luminance=Fraction(1, 10000), max_luminance=Fraction(1000))
    assert md.x265() == "G(8500,39850)B(6550,2300)R(35400,14600)WP(15635,16450)L(10000000,1)"
    assert md.svt() == ("G(0.17000,0.79700)B(0.13100,0.04600)R(0.70800,0.29200)WP(0.31270,0.32900)"
                        "L(1000.0000,0.0001)")


def test_read_extras_ignores_an_identity_matrix_and_partial_metadata():
    class SD:
        def __init__(self, name, data):
            self.type = type("T", (), {"name": name})()
            self._data = data

        def __bytes__(self):
            return self._data

    import struct

    class Frame:
        rotation = 0
        interlaced_frame = False
        side_data = [SD("DISPLAYMATRIX", struct.pack("<9i", 65536, 0, 0, 0, 65536, 0, 0, 0, 1 << 30)),
                     SD("MASTERING_DISPLAY_METADATA", struct.pack("<20i2i", *([1] * 20), 1, 0))]

    extras = read_extras(Frame(), 1)
    assert extras.display_matrix is None and extras.mastering is None and not extras.interlaced


def test_side_data_reads_either_pyav_layout():
    """PyAV 18.1.0's frame.side_data iterates over its entries, 18.1.1's over their types (a mapping)."""

    class Type:  # an enum member: it has a name, no .type
        def __init__(self, name):
            self.name = name

    class Entry:
        def __init__(self, name, data):
            self.type, self.data = Type(name), data

        def __bytes__(self):
            return self.data

    entries = [Entry("DISPLAYMATRIX", b"\0" * 36), Entry("CONTENT_LIGHT_LEVEL", b"\1" * 8)]

    class Frame:
        pass

    listed, mapped = Frame(), Frame()
    listed.side_data = entries
    mapped.side_data = {e.type: e for e in entries}
    assert side_data(listed) == side_data(mapped) == entries
