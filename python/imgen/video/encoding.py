"""Setting up the video encoder: which codec, pixel format, rate control, timing and colour tags."""
from __future__ import annotations

from fractions import Fraction

from .options import DEFAULT_CODECS, DEFAULT_CRF, EncodeOptions
from .result import VideoError
from .source import Colour, SourceInfo

#: FFmpeg AVColorSpace values and the swscale matrix that converts for them (others: swscale's default, BT.601).
SWS_COLORSPACE = {1: 1, 4: 4, 5: 5, 6: 5, 7: 7, 9: 9, 10: 9}
_FIXED_QUANTISER = 3  # for encoders without CRF and no bitrate (mpeg4: 2 best .. 31 worst)
_MPEG4_MAX_TIMEBASE = 65535
#: Encoder threads when EncodeOptions.threads is 0.  Fixed rather than FFmpeg's automatic choice,
#: which follows the machine's CPU count: x264/x265 frame threads and FFmpeg's slice-threaded
#: encoders make a different bitstream for each thread count, and the same input must encode to
#: the same bytes on any machine (a laptop, a 1-CPU Ray worker).
DEFAULT_THREADS = 4


def pick_codec(av, options: EncodeOptions, container):
    """The encoder to use: the named one, or the first of DEFAULT_CODECS the container accepts."""
    names = [options.codec] if options.codec else list(DEFAULT_CODECS)
    accepted = container.supported_codecs
    fmt = container.format.name
    for name in names:
        try:
            codec = av.codec.Codec(name, "w")
        except (av.codec.codec.UnknownCodecError, ValueError):
            if options.codec:
                raise VideoError(f"encoder {name!r} is not in this FFmpeg build") from None
            continue
        if codec.type != "video":
            raise VideoError(f"{name!r} is an {codec.type} encoder, not a video one")
        if accepted and codec.canonical_name not in accepted:
            if options.codec:
                raise VideoError(f"{fmt} files cannot hold {name} ({codec.canonical_name}) video; pick "
                                 f"another --codec or container")
            continue
        return codec
    raise VideoError(f"none of the encoders {', '.join(names)} is available for {fmt} files; name one "
                     f"with --codec")


def pick_pix_fmt(codec, options: EncodeOptions, info: SourceInfo) -> str:
    """The requested pixel format, else the source's if the encoder takes it, else yuv420p(10le)."""
    supported = [f.name for f in codec.video_formats or []]
    if options.pix_fmt:
        if supported and options.pix_fmt not in supported:
            raise VideoError(f"encoder {codec.name} does not take pixel format {options.pix_fmt!r} "
                             f"(it takes {', '.join(supported)})")
        return options.pix_fmt
    if not supported:
        return info.pix_fmt or "yuv420p"
    if info.pix_fmt in supported:
        return info.pix_fmt
    for name in (["yuv420p10le"] if info.deep else []) + ["yuv420p"]:
        if name in supported:
            return name
    return supported[0]


def output_colour(info: SourceInfo, height: int) -> Colour:
    """Colour tags for the output: the source's; for untagged RGB frame files, BT.709 from 720
    lines up and BT.601 (SMPTE 170M) below, limited range -- what players assume."""
    if info.pix_fmt is not None:
        return info.colour
    return Colour(range=1, space=1, primaries=1, trc=1) if height >= 720 else Colour(range=1, space=6, primaries=6, trc=6)


def check_frame_size(av, pix_fmt: str, width: int, height: int) -> None:
    """VideoError when chroma subsampling (4:2:0, 4:2:2) meets an odd frame size."""
    components = av.VideoFormat(pix_fmt, 2, 2).components
    if len(components) < 3:
        return
    sub_w, sub_h = components[1].width < 2, components[1].height < 2
    if (sub_w and width % 2) or (sub_h and height % 2):
        raise VideoError(f"frames of {width}x{height} cannot be encoded as {pix_fmt} (its chroma subsampling "
                         f"needs even sizes); pass --pix-fmt yuv444p or give frames of even size")


def encoder_time_base(codec, info: SourceInfo) -> Fraction:
    """The source's time base (keeps variable frame rates exact) where the codec allows it."""
    tb = info.time_base
    if codec.name == "mpeg4" and tb.denominator > _MPEG4_MAX_TIMEBASE:
        return 1 / Fraction(info.rate).limit_denominator(1001)
    return tb


def add_video_stream(av, container, codec, options: EncodeOptions, info: SourceInfo, *, pix_fmt: str):
    """Add and configure the output video stream; returns (stream, encoder time base).

    The frame size and colour tags are set by :func:`set_frame_size` once the first processed
    frame is known (the encoder opens on the first frame it gets).
    """
    stream = container.add_stream(codec.name, rate=info.rate.limit_denominator(1_000_000))
    stream.width, stream.height, stream.pix_fmt = info.width, info.height, pix_fmt
    cc = stream.codec_context
    time_base = encoder_time_base(codec, info)
    cc.time_base = time_base
    cc.framerate = info.rate.limit_denominator(1_000_000)
    cc.thread_count = options.threads or DEFAULT_THREADS
    if info.sample_aspect_ratio:
        cc.sample_aspect_ratio = info.sample_aspect_ratio

    private = {o.name for o in cc.supported_options.private}
    settings: dict[str, str] = {}
    if options.bitrate:
        cc.bit_rate = int(options.bitrate)
    elif "crf" in private:
        settings["crf"] = f"{options.crf if options.crf is not None else DEFAULT_CRF:g}"
    elif options.crf is not None:
        raise VideoError(f"encoder {codec.name} has no CRF; give a bitrate instead")
    else:
        cc.qmin = cc.qmax = _FIXED_QUANTISER
    if options.preset:
        if "preset" not in private:
            raise VideoError(f"encoder {codec.name} has no presets")
        settings["preset"] = options.preset
    known = private | {o.name for o in cc.supported_options.generic}
    unknown = sorted(str(k) for k in options.extra if str(k) not in known)
    if unknown:  # FFmpeg would silently ignore them
        raise VideoError(f"encoder {codec.name} has no option {', '.join(unknown)} (container options such as "
                         f"movflags are not encoder options)")
    settings.update({str(k): str(v) for k, v in options.extra.items()})
    if settings:
        cc.options = {**cc.options, **settings}
    return stream, time_base


def set_frame_size(av, stream, *, width: int, height: int, colour: Colour) -> None:
    """Size and colour tags of the output stream, before its encoder opens."""
    check_frame_size(av, stream.codec_context.pix_fmt, width, height)
    stream.width, stream.height = width, height
    cc = stream.codec_context
    cc.color_range, cc.colorspace = colour.range, colour.space
    cc.color_primaries, cc.color_trc = colour.primaries, colour.trc
