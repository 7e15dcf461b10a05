"""Short test clips made with PyAV (no files shipped): video with an audio track, subtitles,
variable frame rates and colour tags.  PyAV is imported by the functions that need it, so that
frame_image works without it."""
from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import numpy as np

SRT = ("1\n00:00:00,100 --> 00:00:00,400\nHello\n\n"
       "2\n00:00:00,500 --> 00:00:00,800\nWorld\n")


def frame_image(i: int, height: int, width: int, deep: bool = False) -> np.ndarray:
    """A smooth moving RGB test image (compresses well, so decoded frames stay close to it)."""
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    r = 128 + 100 * np.sin((x + 3 * i) / 9.0)
    g = 128 + 100 * np.cos((y - 2 * i) / 7.0)
    b = 128 + 60 * np.sin((x + y + 5 * i) / 13.0)
    img = np.stack([r, g, b], axis=2)
    if deep:
        return np.clip(np.rint(img * 257), 0, 65535).astype(np.uint16)
    return np.clip(np.rint(img), 0, 255).astype(np.uint8)


def frame_times_ms(count: int, vfr: bool) -> list[int]:
    """Presentation times in ms: 40 ms apart, or an irregular 20/20/90 ms rhythm."""
    times, t = [], 0
    for i in range(count):
        times.append(t)
        t += (90 if i % 3 == 2 else 20) if vfr else 40
    return times


#: HDR10 static metadata as x265 takes it (BT.2020 primaries, D65, 1000 / 0.0001 cd/m², MaxCLL 1000, MaxFALL 400).
HDR10_X265 = ("master-display=G(8500,39850)B(6550,2300)R(35400,14600)WP(15635,16450)L(10000000,1):"
              "max-cll=1000,400")
PQ_BT2020 = {"colorspace": 9, "color_primaries": 9, "color_trc": 16, "color_range": 1}


def make_clip(path, *, frames: int = 12, width: int = 64, height: int = 48, vfr: bool = False,
              audio: bool = True, subtitles: bool = False, bt709: bool = True,
              pix_fmt: str = "yuv420p", codec: str = "libx264", audio_seconds: float | None = None,
              rotation: int | None = None, options: dict | None = None, colour: dict | None = None,
              tags: bool = False, interlaced: bool = False) -> Path:
    """Write a clip: `frames` frames (ms timestamps), an AAC mono track covering them (or lasting
    audio_seconds), optional SRT subtitles (Matroska), BT.709 colour tags (or `colour`: codec
    context colour fields), a display rotation, encoder options; tags: a container title, two
    chapters, stream titles and a forced subtitle stream; interlaced: x264 interlaced coding, top
    field first."""
    import av

    path = Path(path)
    out = av.open(str(path), "w")
    vs = out.add_stream(codec, rate=25)
    vs.width, vs.height, vs.pix_fmt = width, height, pix_fmt
    vs.codec_context.time_base = Fraction(1, 1000)
    if codec == "libx264":
        vs.codec_context.options = {"preset": "ultrafast", "crf": "10"}
    if options:
        vs.codec_context.options = {**vs.codec_context.options, **options}
    if rotation is not None:
        vs.set_display_rotation(rotation)
    marker = None
    if interlaced:
        from imgen.video.fields import FieldMarker

        flags = av.codec.context.Flags
        vs.codec_context.flags |= flags.interlaced_dct | flags.interlaced_me
        vs.codec_context.field_order = 2
    if colour:
        for key, value in colour.items():
            setattr(vs.codec_context, key, value)
    if bt709 and not colour:
        cc = vs.codec_context
        cc.colorspace = cc.color_primaries = cc.color_trc = 1
        cc.color_range = 1
    aus = None
    if audio:
        aus = out.add_stream("aac", rate=16000)
        aus.layout = "mono"
    sub_in = sub_out = None
    if subtitles:
        srt = path.with_suffix(".srt")
        srt.write_text(SRT)
        sub_in = av.open(str(srt))
        sub_out = out.add_stream_from_template(sub_in.streams.subtitles[0])
    if tags:
        out.metadata["title"] = "A test clip"
        vs.metadata["title"] = "Main picture"
        if aus is not None:
            aus.metadata["title"] = "Commentary"
        if sub_out is not None:
            sub_out.metadata["title"] = "Signs"
            sub_out.disposition = av.stream.Disposition.forced
        span = frame_times_ms(frames, vfr)[-1] + 40
        out.set_chapters([{"id": 1, "start": 0, "end": span // 2, "time_base": Fraction(1, 1000),
                           "metadata": {"title": "Opening"}},
                          {"id": 2, "start": span // 2, "end": span, "time_base": Fraction(1, 1000),
                           "metadata": {"title": "Ending"}}])
    deep = "10" in pix_fmt or "16" in pix_fmt
    times = frame_times_ms(frames, vfr)
    for i, t in enumerate(times):
        img = frame_image(i, height, width, deep)
        f = av.VideoFrame.from_ndarray(img, format="rgb48le" if deep else "rgb24")
        space = (colour or {}).get("colorspace", 1 if bt709 else None)
        f = f.reformat(format=pix_fmt, dst_colorspace=space, dst_color_range=1 if bt709 or colour else None)
        f.pts, f.time_base = t, Fraction(1, 1000)
        if interlaced:
            marker = marker or FieldMarker(av, f, Fraction(1, 1000), top_first=True)
            f = marker.mark(f)
        for p in vs.encode(f):
            out.mux(p)
    for p in vs.encode():
        out.mux(p)
    if aus is not None:
        total = int((audio_seconds or (times[-1] + 40) / 1000) * 16000)
        for k in range(0, total, 1024):
            samples = (np.sin(np.arange(k, k + 1024) / 10.0) * 8000).astype(np.int16)[None]
            a = av.AudioFrame.from_ndarray(samples, format="s16", layout="mono")
            a.sample_rate, a.pts = 16000, k
            for p in aus.encode(a):
                out.mux(p)
        for p in aus.encode():
            out.mux(p)
    if sub_in is not None:
        for p in sub_in.demux(sub_in.streams.subtitles[0]):
            if p.size:
                p.stream = sub_out
                out.mux(p)
        sub_in.close()
    out.close()
    return path


def read_clip(path) -> dict:
    """Frames (RGB arrays), their times in seconds, and each stream's packets as bytes."""
    import av

    with av.open(str(path)) as c:
        info = {"streams": [(s.type, s.codec_context.name if s.codec_context else None) for s in c.streams]}
        v = c.streams.video[0]
        cc = v.codec_context
        info["colour"] = (int(cc.color_range), int(cc.colorspace), int(cc.color_primaries), int(cc.color_trc))
        info["pix_fmt"] = cc.pix_fmt
        info["size"] = (cc.width, cc.height)
        frames = list(c.decode(v))
        info["times"] = [float(f.pts * f.time_base) for f in frames]
        fmt = "rgb48le" if frames and "10" in frames[0].format.name else "rgb24"
        flags = av.video.reformatter.Interpolation
        accurate = (flags.BICUBIC if fmt == "rgb48le" else flags.BILINEAR) | flags.ACCURATE_RND | flags.FULL_CHR_H_INT
        info["frames"] = [f.to_ndarray(format=fmt, interpolation=accurate) for f in frames]
    with av.open(str(path)) as c:
        packets: dict[str, list[bytes]] = {}
        for p in c.demux():
            if p.size and p.stream.type != "video":
                packets.setdefault(p.stream.type, []).append(bytes(p))
        info["packets"] = packets
    return info
