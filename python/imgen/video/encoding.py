"""Setting up the video encoder: which codec, pixel format, rate control, timing and colour tags."""
from __future__ import annotations

import functools
import os
from fractions import Fraction

from .options import DEFAULT_CODECS, DEFAULT_CRF, EncodeOptions
from .result import VideoError
from .extras import FIELD_ORDERS, StreamExtras
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
#: x264's AVX-512 kernels make its bitstream depend on memory it never wrote: in one process the
#: same frames encode to different bytes from one encoder to the next (libx264 165 in PyAV 18.1's
#: FFmpeg; MALLOC_PERTURB_ makes them repeatable, a different stream for each fill byte: leftovers of
#: reused heap, not timing).  Held to AVX2 -- the
#: bytes its C code and every other kernel set make, at the same speed -- where x264 would use them.
X264_ASM = "asm=AVX2"
_AVX512 = frozenset({"avx512f", "avx512cd", "avx512bw", "avx512dq", "avx512vl"})  # x264's AVX-512 needs all five


#: Decoder name -> the encoder "--codec same" picks for it.
SAME_AS_INPUT = {"h264": "libx264", "hevc": "libx265", "vp9": "libvpx-vp9", "av1": "libsvtav1",
                 "mpeg4": "mpeg4", "mpeg2video": "mpeg2video", "ffv1": "ffv1", "prores": "prores_ks"}
SAME = "same"


def requested_codec(options: EncodeOptions, info: SourceInfo) -> str | None:
    """The encoder named by the options, "same" resolved to the one for the input's codec."""
    if options.codec != SAME:
        return options.codec
    if info.codec is None:
        raise VideoError("codec='same' needs a video file as input (frame folders have no codec)")
    name = SAME_AS_INPUT.get(info.codec)
    if name is None:
        raise VideoError(f"codec='same': no encoder known for input codec {info.codec!r} (known: "
                         f"{', '.join(sorted(SAME_AS_INPUT))}); name one as codec")
    return name


def _deep_formats(codec) -> list[str]:
    return [f.name for f in codec.video_formats or [] if max(c.bits for c in f.components) > 8]


def pick_codec(av, options: EncodeOptions, container, info: SourceInfo):
    """The encoder to use: the named one, or the first of DEFAULT_CODECS the container accepts
    -- and, for sources deeper than 8 bits (unless a pixel format is named), one that keeps the
    depth: VideoError rather than a silent cut to 8 bits."""
    named = requested_codec(options, info)
    names = [named] if named else list(DEFAULT_CODECS)
    accepted = container.supported_codecs
    fmt = container.format.name
    keep_depth = info.deep and not options.pix_fmt
    shallow = []
    for name in names:
        try:
            codec = av.codec.Codec(name, "w")
        except (av.codec.codec.UnknownCodecError, ValueError):
            if named:
                raise VideoError(f"encoder {name!r} is not in this FFmpeg build") from None
            continue
        if codec.type != "video":
            raise VideoError(f"{name!r} is an {codec.type} encoder, not a video one")
        if accepted and codec.canonical_name not in accepted:
            if named:
                raise VideoError(f"{fmt} files cannot hold {name} ({codec.canonical_name}) video; pick "
                                 f"another codec or container")
            continue
        if keep_depth and codec.video_formats and not _deep_formats(codec):
            if named:
                raise VideoError(f"the input has more than 8 bits per sample but encoder {name} takes only 8-bit "
                                 f"formats in this FFmpeg build; pick codec='libx265' or 'libsvtav1' (or pass "
                                 f"pix_fmt='yuv420p' to accept 8 bits)")
            shallow.append(name)
            continue
        return codec
    if shallow:
        raise VideoError(f"the input has more than 8 bits per sample and no encoder for {fmt} files here keeps "
                         f"that ({', '.join(shallow)} take only 8-bit formats in this FFmpeg build); use another "
                         f"container (.mkv, .mp4) or pass pix_fmt='yuv420p' to accept 8 bits")
    raise VideoError(f"none of the encoders {', '.join(names)} is available for {fmt} files; name one "
                     f"as codec")


def pick_pix_fmt(codec, options: EncodeOptions, info: SourceInfo) -> str:
    """The requested pixel format, else the source's if the encoder takes it, else yuv420p
    (for deeper sources: yuv420p10le, else the encoder's first format deeper than 8 bits)."""
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
    if info.deep:
        deep = _deep_formats(codec)
        if "yuv420p10le" in deep:
            return "yuv420p10le"
        if deep:
            return deep[0]
    return "yuv420p" if "yuv420p" in supported else supported[0]


def output_colour(info: SourceInfo, height: int) -> Colour:
    """Colour tags for the output: the source's; for untagged RGB frame files, BT.709 from 720
    lines up and BT.601 (SMPTE 170M) below, limited range -- what players assume."""
    if info.pix_fmt is not None:
        return info.colour
    return Colour(range=1, space=1, primaries=1, trc=1) if height >= 720 else Colour(range=1, space=6, primaries=6, trc=6)


def _subsampling(av, pix_fmt: str) -> tuple[bool, bool]:
    """(halved horizontally, halved vertically) for a pixel format's chroma."""
    components = av.VideoFormat(pix_fmt, 2, 2).components
    if len(components) < 3:
        return False, False
    return components[1].width < 2, components[1].height < 2


def even_size(av, pix_fmt: str, width: int, height: int, even: str | None) -> tuple[int, int]:
    """The frame size to encode: (width, height), made even where the chroma subsampling needs it
    with even="pad" (one more) or "crop" (one less); VideoError when it needs it and even is None."""
    sub_w, sub_h = _subsampling(av, pix_fmt)
    odd_w, odd_h = sub_w and width % 2, sub_h and height % 2
    if not (odd_w or odd_h):
        return width, height
    if even is None:
        raise VideoError(f"frames of {width}x{height} cannot be encoded as {pix_fmt} (its chroma subsampling "
                         f"needs even sizes); pass even='pad' or even='crop' to make them even by one pixel, or "
                         f"pix_fmt='yuv444p' (which many hardware players cannot decode)")
    step = 1 if even == "pad" else -1
    if (odd_w and width + step < 1) or (odd_h and height + step < 1):
        raise VideoError(f"frames of {width}x{height} are too small to crop to an even size; use even='pad'")
    return width + step * bool(odd_w), height + step * bool(odd_h)


def check_frame_size(av, pix_fmt: str, width: int, height: int) -> None:
    """VideoError when chroma subsampling (4:2:0, 4:2:2) meets an odd frame size."""
    even_size(av, pix_fmt, width, height, None)


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
    if codec.name == "libx264" and cpu_has_avx512():
        given = settings.get("x264-params")
        settings["x264-params"] = ":".join([X264_ASM] + ([given] if given else []))  # the caller's win
    if settings:
        cc.options = {**cc.options, **settings}
    return stream, time_base


@functools.cache
def cpu_has_avx512() -> bool:
    """Whether x264 would run its AVX-512 kernels here: the CPU flags of Linux's /proc/cpuinfo
    (elsewhere False: x264 then runs as it detects)."""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("flags"):
                    return _AVX512 <= set(line.partition(":")[2].split())
    except OSError:
        pass
    return False


def set_frame_size(av, stream, *, width: int, height: int, colour: Colour) -> None:
    """Size and colour tags of the output stream, before its encoder opens."""
    check_frame_size(av, stream.codec_context.pix_fmt, width, height)
    stream.width, stream.height = width, height
    cc = stream.codec_context
    cc.color_range, cc.colorspace = colour.range, colour.space
    cc.color_primaries, cc.color_trc = colour.primaries, colour.trc


#: Encoders that code interlaced frames (FFmpeg's interlaced DCT / ME flags, field order per frame).
INTERLACED_ENCODERS = ("libx264", "mpeg2video", "mpeg4")


def interlaced_coding(av, stream, extras: StreamExtras, notes: list[str]) -> bool:
    """For an interlaced source, set the encoder to code fields (True: frames must then be marked
    with their field order, see imgen.video.fields.FieldMarker), or note that it cannot."""
    if not extras.interlaced:
        return False
    cc = stream.codec_context
    name = cc.codec.name
    order = FIELD_ORDERS[extras.field_order]
    if name not in INTERLACED_ENCODERS:
        notes.append(f"interlaced input ({order}) encoded by {name} as progressive frames with the fields woven "
                     f"together; pass --deinterlace for a progressive picture, or --codec libx264 to keep "
                     f"interlaced coding")
        return False
    flags = av.codec.context.Flags
    cc.flags = cc.flags | flags.interlaced_dct | flags.interlaced_me
    cc.field_order = extras.field_order
    notes.append(f"interlaced input kept interlaced ({order}, coded by {name})")
    return True


def carry_extras(stream, extras: StreamExtras, options: EncodeOptions, notes: list[str]) -> None:
    """Before the encoder opens: the source's display matrix onto the output stream, HDR10 static
    metadata into x265 / SVT-AV1 parameters (a note where the encoder cannot take it), and the
    encoder libraries that print to stderr themselves silenced when ``options.quiet``."""
    cc = stream.codec_context
    name = cc.codec.name
    if extras.display_matrix:
        stream.set_display_matrix(list(extras.display_matrix))
        notes.append(f"display matrix kept (the video shows rotated by {extras.rotation} degrees, as the input)")
    params: list[str] = []
    if extras.mastering or extras.light_level:
        if name == "libx265":
            if extras.mastering:
                params.append(f"master-display={extras.mastering.x265()}")
            if extras.light_level:
                params.append("max-cll={},{}".format(*extras.light_level))
        elif name == "libsvtav1":
            if extras.mastering:
                params.append(f"mastering-display={extras.mastering.svt()}")
            if extras.light_level:
                params.append("content-light={},{}".format(*extras.light_level))
        else:
            notes.append(f"HDR10 static metadata (mastering display, content light level) not kept: encoder {name} "
                         f"cannot take it; use --codec libx265 or libsvtav1")
    if options.quiet and name == "libx265":
        params.append("log-level=error")
    if options.quiet and name == "libsvtav1":
        os.environ.setdefault("SVT_LOG", "1")  # SVT-AV1 reads its log level only from the environment
    if params:
        key = "x265-params" if name == "libx265" else "svtav1-params"
        given = cc.options.get(key)
        cc.options = {**cc.options, key: ":".join(params + ([given] if given else []))}  # the caller's win
