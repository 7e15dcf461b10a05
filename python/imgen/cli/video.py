"""``imgen video INPUT -o OUTPUT``: every frame of a video (or frame folder) through a model or a denoiser."""
from __future__ import annotations

import argparse
import os
import sys

from ..errors import ImgenError
from ._args import nonnegative_float, nonnegative_int, positive_float, positive_int, thread_count
from ._distributed import check_ray_arguments
from ..interrupts import exit_status, stop_reason, stopped_words
from ._cost import say_video_cost
from ._videos import add_video_ray_arguments, library_run, main_library
from ._methods import add_method_arguments, processor_options
from ._args import add_max_pixels_argument

_EPILOG = """\
Decoding, processing and encoding overlap on their own threads (bounded queues: memory stays flat).
The output is written to a temporary file beside OUTPUT and renamed into place when complete; the
input is never overwritten. Frame rate, timestamps (variable frame rate too) and colour tags are
kept; audio and subtitle streams are copied without re-encoding when the container takes them.

Ctrl+C or SIGTERM stops cleanly: the frames encoded so far are finalised into a playable
OUTPUT.partial.EXT (e.g. out.partial.mp4), OUTPUT itself is left untouched, no temporary file is
left, and the exit status is 130 (Ctrl+C) or 143 (SIGTERM). Frame-folder outputs keep the frames
already written (each a complete file). A folder of videos stops after the current one.
Videos of at least 2 x --part-seconds are written as closed parts in a hidden folder beside OUTPUT
(.NAME.imgen-parts); after Ctrl+C, SIGTERM or even kill -9, the same command with --resume decodes
and processes only what comes after the last closed part. The finished run deletes the parts and
any OUTPUT.partial.EXT; a run without --resume starts over.

An undecodable frame is reported and skipped (or ends the run with --on-bad-frame stop, keeping
the frames before it as OUTPUT.partial.EXT); the summary lists frames in, frames out and every bad
frame, and the exit status is 1 when any frame was bad.
"""


def add_parser(sub) -> None:
    p = sub.add_parser(
        "video", help="run a model or denoiser over the frames of a video or frame folder",
        description="Process every frame of a video file or frame folder with a model (any imgen "
                    "image model; upscalers change the size) or a classical denoiser.",
        epilog=_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("input", metavar="INPUT", help="a video file, a folder of frames, or a pattern such as frames/%%06d.png")
    p.add_argument("-o", "--output", required=True,
                   help="a video file (.mp4, .mkv, .mov, ...) or frames: a pattern such as out/%%06d.png or a folder")
    add_method_arguments(p, required=True, tasks=True)
    _add_inpaint_arguments(p)
    p.add_argument("--tile", type=nonnegative_int,
                   help="model: tile size in pixels (0 = never tile; default from the model, else 512)")
    p.add_argument("--overlap", type=nonnegative_int,
                   help="model: tile overlap in pixels (default from the model, else 64)")
    p.add_argument("--providers", nargs="+", help="model: execution providers (default: TensorRT > CUDA > CPU)")
    p.add_argument("--threads", type=thread_count,
                   help="processing threads: onnxruntime's or imgen's kernels' (default: all cores)")
    p.add_argument("--batch-size", type=positive_int, default=4, help="frames per model call (default 4)")
    p.add_argument("--queue-size", type=positive_int, default=8, help="frames buffered between stages (default 8)")
    enc = p.add_argument_group("encoding")
    enc.add_argument("--codec", help="video encoder, or 'same' for the input's codec (HEVC in, libx265 out; "
                                     "default: libx264 when available, else libx265, libvpx-vp9, libsvtav1 or "
                                     "mpeg4, whichever the container takes and, for inputs over 8 bits, keeps "
                                     "their depth)")
    enc.add_argument("--crf", type=float, help="constant rate factor (default 18; x264/x265/vp9/av1)")
    enc.add_argument("--bitrate", type=_bitrate, help="target bitrate instead of CRF, e.g. 8M or 2500k")
    enc.add_argument("--pix-fmt", help="pixel format (default: the source's when the encoder takes it, else yuv420p)")
    enc.add_argument("--preset", help="encoder speed preset (x264: ultrafast ... veryslow; default: the encoder's)")
    enc.add_argument("--encoder-option", action="append", default=[], metavar="KEY=VALUE",
                     help="further encoder option as FFmpeg names it (repeatable), e.g. tune=film")
    enc.add_argument("--no-copy", action="store_true", help="do not copy audio and subtitle streams")
    even = enc.add_mutually_exclusive_group()
    even.add_argument("--pad", dest="even", action="store_const", const="pad",
                      help="frames of odd width or height: repeat the last column / row to make them even "
                           "(yuv420p needs even sizes)")
    even.add_argument("--crop", dest="even", action="store_const", const="crop",
                      help="frames of odd width or height: drop the last column / row to make them even")
    enc.add_argument("--deinterlace", action="store_true",
                     help="interlaced input becomes progressive (FFmpeg's bwdif, one frame per frame); "
                          "default: coded interlaced where the encoder can (x264, MPEG-2), else noted")
    p.add_argument("--part-seconds", type=nonnegative_float, default=60.0, metavar="S",
                   help="videos of at least 2*S seconds are written as closed parts of ~S seconds (joined "
                        "without re-encoding at the end), so that a run stopped in any way (Ctrl+C, SIGTERM, "
                        "kill -9) continues with --resume from its last part; 0 = one file (default 60)")
    p.add_argument("--fps", type=positive_float, help="frame rate of frame-folder inputs (default 25)")
    p.add_argument("--on-bad-frame", choices=("skip", "stop"), default="skip",
                   help="an undecodable frame is reported and skipped (default) or stops the run")
    p.add_argument("-q", "--quiet", action="store_true",
                   help="no progress bar, and no [info] lines from encoder libraries (x265, SVT-AV1)")
    add_max_pixels_argument(p)  # frame files
    add_video_ray_arguments(p)  # a folder of videos, --resume, --ray (cli/_videos.py)
    p.set_defaults(func=main, whole_pixels=None)  # no --whole-pixels here: a model's default


def _add_inpaint_arguments(p: argparse.ArgumentParser) -> None:
    """--inpaint-mask (one mask for every frame) and the inpainting methods among --method's choices."""
    from ..inpainting.classical import METHODS as INPAINT_METHODS

    method = next(a for a in p._actions if a.dest == "method")
    method.choices = tuple(method.choices) + INPAINT_METHODS
    method.help += "; with --inpaint-mask: " + ", ".join(INPAINT_METHODS)
    p.add_argument("--inpaint-mask", metavar="MASK", help="fill what this mask marks (nonzero = missing; a logo, a "
                   "timestamp) in every frame, with --method " + "|".join(INPAINT_METHODS) + " or an inpaint --model; "
                   "the mask must have the frames' size")
    p.add_argument("--inpaint-mask-invert", action="store_true", help="in the --inpaint-mask file, zero = missing")


def _inpaint_processor(args: argparse.Namespace):
    """The frame processor of --inpaint-mask (ImgenError for options that do not go with it)."""
    from ..inpainting import InpaintModel
    from ..inpainting.classical import METHODS as INPAINT_METHODS
    from ..inpainting.process import InpaintProcessor, MaskSource

    if args.inpaint_mask is None:
        if args.method in INPAINT_METHODS:
            raise ImgenError(f"--method {args.method} fills holes: give the mask with --inpaint-mask")
        return None
    if not os.path.isfile(args.inpaint_mask):
        raise ImgenError(f"--inpaint-mask {args.inpaint_mask}: no such file")
    if args.model is None and args.method not in INPAINT_METHODS:
        raise ImgenError(f"--inpaint-mask takes --method {'|'.join(INPAINT_METHODS)} or an inpaint --model, "
                         f"not --method {args.method}")
    if args.task != "denoise":
        raise ImgenError("--inpaint-mask does not go with --task")
    model = None
    if args.model is not None:
        model = InpaintModel.open(args.model, providers=args.providers, threads=args.threads)
    masks = MaskSource(path=args.inpaint_mask, invert=args.inpaint_mask_invert)
    return InpaintProcessor(masks, method=None if model else args.method, model=model, color_order="rgb")


def _bitrate(text: str) -> int:
    units = {"k": 1_000, "m": 1_000_000, "g": 1_000_000_000}
    t = text.strip().lower()
    try:
        value = float(t[:-1]) * units[t[-1]] if t and t[-1] in units else float(t)
    except ValueError:
        raise argparse.ArgumentTypeError(f"bitrate must be a number of bits/s such as 8M or 2500k, got {text!r}") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"bitrate must be > 0, got {text!r}")
    return int(value)


def _encoder_options(pairs: list[str]) -> dict[str, str]:
    out = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise ImgenError(f"--encoder-option takes KEY=VALUE, got {pair!r}")
        out[key] = value
    return out


def main(args: argparse.Namespace) -> int:
    from ..processors import FrameProcessor
    from ..video import EncodeOptions, VideoError, VideoInterrupted, process_video
    from ..video.paths import input_location, output_location

    if not (input_location(args.input).is_frames and output_location(args.output).is_frames):
        from ..video._av import require_av

        require_av()  # the [video] extra; says how to install it
    try:
        options = EncodeOptions(codec=args.codec, crf=args.crf, bitrate=args.bitrate, pix_fmt=args.pix_fmt,
                                preset=args.preset, extra=_encoder_options(args.encoder_option),
                                even=args.even, deinterlace=args.deinterlace, quiet=args.quiet)
    except ValueError as e:
        raise ImgenError(str(e)) from e
    check_ray_arguments(args)
    inpainter = _inpaint_processor(args)
    if inpainter is not None and library_run(args):
        raise ImgenError("--inpaint-mask runs one video file or frame folder at a time, without --ray or --resume")
    if library_run(args):
        return main_library(args, options)
    if args.threads is not None:
        from .. import set_num_threads

        set_num_threads(args.threads)
    processor = inpainter or FrameProcessor(processor_options(args, color_order="rgb"))
    desc = f"inpaint {args.model or args.method}" if inpainter else processor.name
    if inpainter is None:
        say_video_cost(processor, args.input, quiet=args.quiet, threads=args.threads, max_pixels=args.max_pixels)
    try:
        summary = process_video(
            args.input, args.output, processor, options=options, on_bad_frame=args.on_bad_frame,
            progress=not args.quiet, batch_size=args.batch_size, queue_size=args.queue_size,
            fps=args.fps, copy_streams=not args.no_copy, desc=desc, max_pixels=args.max_pixels,
            part_seconds=args.part_seconds)
    except VideoInterrupted as e:
        _report(e.summary)
        kept = f"the frames done so far are in {e.summary.output}" if e.summary.output else "nothing was kept"
        reason = stop_reason(e)
        print(f"imgen: {stopped_words(reason)}; {kept}; {args.output} was not written", file=sys.stderr)
        return exit_status(reason)
    except VideoError as e:
        if e.summary is not None:
            _report(e.summary)
        raise
    except ValueError as e:
        raise ImgenError(str(e)) from e
    _report(summary)
    return 1 if summary.bad_frames else 0


def _report(summary) -> None:
    for line in summary.lines():
        print(f"imgen: {line}", file=sys.stderr)
