"""imgen video (pipelined) against a naive decode -> process -> encode loop, frames per second.

    tools/dev-build && PYTHONPATH=python python benchmarks/speed/bench_video.py [--frames 60] [--repeats 3]

Generates clips (H.264, yuv420p, BT.709, 25 fps; a panned photograph from scikit-image with mild
noise) at 720p and 1080p, then times, alternating run by run:

- naive: one thread, one frame at a time: decode -> RGB -> process -> YUV -> encode, written
  here with PyAV directly (same decoder threads, same conversion flags, same encoder settings as
  imgen: libx264, CRF 18, its default preset or ``--preset``, FFmpeg's automatic thread counts);
- imgen: ``imgen.video.process_video`` -- decode, process and encode on their own threads with
  bounded queues, frames batched to the processor.

for these processors: a small colour CNN (3 conv layers, 3->8->8->3, built here with
onnx.helper, run by imgen's engine with its default tiling), the wavelet denoiser
(``--method wavelet --sigma 10``), an identity (no processing: the per-frame overhead of
decode + convert + encode), and, with ``--processors wait40``, 40 ms of waiting per frame that
uses no CPU (a stand-in for inference on a GPU).  The breakdown of that overhead is measured step by step on one
thread, with imgen's own conversions (``video._yuv``, the C++ core) beside swscale's.  Prints a Markdown table; medians of ``--repeats`` runs, and how many cores each
contender kept busy (process CPU time / wall time): on a shared machine a run with more busy
threads also gets a larger share of the CPU, so read the speed-up with that column.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from fractions import Fraction
from pathlib import Path

import numpy as np

SIZES = {"720p": (1280, 720), "1080p": (1920, 1080)}


def make_clip(path: Path, width: int, height: int, frames: int) -> Path:
    import av
    import cv2
    from skimage import data

    photo = cv2.resize(data.astronaut(), (width + frames * 4, height), interpolation=cv2.INTER_AREA)
    rng = np.random.default_rng(0)
    with av.open(str(path), "w") as out:
        vs = out.add_stream("libx264", rate=25)
        vs.width, vs.height, vs.pix_fmt = width, height, "yuv420p"
        vs.codec_context.options = {"crf": "18", "preset": "veryfast"}
        vs.codec_context.colorspace = vs.codec_context.color_primaries = vs.codec_context.color_trc = 1
        vs.codec_context.color_range = 1
        for i in range(frames):
            img = photo[:, i * 4:i * 4 + width]
            img = np.clip(img + rng.normal(0, 6, img.shape), 0, 255).astype(np.uint8)
            f = av.VideoFrame.from_ndarray(img, format="rgb24").reformat(
                format="yuv420p", dst_colorspace=1, dst_color_range=1)
            f.pts = i
            for p in vs.encode(f):
                out.mux(p)
        for p in vs.encode():
            out.mux(p)
    return path


def small_cnn(path: Path) -> str:
    """3x3 convs 3->8->8->3 with ReLU between, random weights; an imgen 'restore' model."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(0)
    chans = [3, 8, 8, 3]
    nodes, inits = [], []
    x = "x"
    for k in range(3):
        w = rng.normal(0, 0.2, (chans[k + 1], chans[k], 3, 3)).astype(np.float32)
        b = np.zeros(chans[k + 1], np.float32)
        inits += [numpy_helper.from_array(w, f"w{k}"), numpy_helper.from_array(b, f"b{k}")]
        y = f"c{k}" if k < 2 else "y"
        nodes.append(helper.make_node("Conv", [x, f"w{k}", f"b{k}"], [y], pads=[1, 1, 1, 1]))
        if k < 2:
            nodes.append(helper.make_node("Relu", [y], [f"r{k}"]))
            y = f"r{k}"
        x = y
    io = lambda name: helper.make_tensor_value_info(name, TensorProto.FLOAT, ["N", 3, "H", "W"])  # noqa: E731
    graph = helper.make_graph(nodes, "small_cnn", [io("x")], [io("y")], initializer=inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 9
    for k, v in {"imgen.schema": "1", "imgen.task": "restore", "imgen.channels": "3"}.items():
        e = model.metadata_props.add()
        e.key, e.value = k, v
    onnx.save(model, str(path))
    return str(path)


def naive(src: Path, dst: Path, processor, preset: str | None = None) -> int:
    """Decode one frame, convert, process, convert, encode; repeat.  Same settings as imgen."""
    import av
    from av.video.reformatter import Interpolation, VideoReformatter

    accurate = Interpolation.BILINEAR | Interpolation.ACCURATE_RND | Interpolation.FULL_CHR_H_INT
    to_rgb, to_yuv = VideoReformatter(), VideoReformatter()
    n = 0
    with av.open(str(src)) as inp, av.open(str(dst), "w") as out:
        vin = inp.streams.video[0]
        vin.thread_type = "AUTO"
        vout = out.add_stream("libx264", rate=vin.average_rate)
        vout.width, vout.height, vout.pix_fmt = vin.codec_context.width, vin.codec_context.height, "yuv420p"
        vout.codec_context.time_base = vin.time_base
        vout.codec_context.options = {"crf": "18", **({"preset": preset} if preset else {})}
        cc = vin.codec_context
        vout.codec_context.colorspace, vout.codec_context.color_range = cc.colorspace, cc.color_range
        vout.codec_context.color_primaries, vout.codec_context.color_trc = cc.color_primaries, cc.color_trc
        for frame in inp.decode(vin):
            rgb = to_rgb.reformat(frame, format="rgb24", interpolation=accurate, threads=1).to_ndarray()
            result = processor([rgb])[0]
            yuv = to_yuv.reformat(av.VideoFrame.from_numpy_buffer(np.ascontiguousarray(result), format="rgb24"),
                                  format="yuv420p", dst_colorspace=int(cc.colorspace),
                                  dst_color_range=int(cc.color_range), threads=1)
            yuv.pts, yuv.time_base = frame.pts, frame.time_base
            for p in vout.encode(yuv):
                out.mux(p)
            n += 1
        for p in vout.encode():
            out.mux(p)
    return n


def pipelined(src: Path, dst: Path, processor, batch_size: int, preset: str | None = None,
              part_seconds: float | None = None) -> int:
    from imgen.video import EncodeOptions, process_video

    parts = {} if part_seconds is None else {"part_seconds": part_seconds}
    return process_video(src, dst, processor, batch_size=batch_size,
                         options=EncodeOptions(preset=preset), **parts).frames_out


def breakdown(src: Path, preset: str | None = None) -> dict[str, float]:
    """ms per frame of each overhead step, one after the other on one thread (encoder: its own threads)."""
    import av
    from av.video.reformatter import Interpolation, VideoReformatter

    accurate = Interpolation.BILINEAR | Interpolation.ACCURATE_RND | Interpolation.FULL_CHR_H_INT
    with av.open(str(src)) as inp:
        vin = inp.streams.video[0]
        vin.thread_type = "AUTO"
        t0 = time.perf_counter()
        frames = list(inp.decode(vin))
        t_decode = time.perf_counter() - t0
    n = len(frames)
    to_rgb = VideoReformatter()
    t0 = time.perf_counter()
    rgbs = [to_rgb.reformat(f, format="rgb24", interpolation=accurate, threads=1).to_ndarray() for f in frames]
    t_rgb = time.perf_counter() - t0
    to_yuv = VideoReformatter()
    t0 = time.perf_counter()
    yuvs = [to_yuv.reformat(av.VideoFrame.from_numpy_buffer(a, format="rgb24"), format="yuv420p",
                            dst_colorspace=1, dst_color_range=1, threads=1) for a in rgbs]
    t_yuv = time.perf_counter() - t0
    # imgen's own conversions (video/_yuv: the C++ core, imgen's threads) of the same frames
    from imgen.video import _yuv

    core_rgb = _yuv.StreamToRgb(lambda f: to_rgb.reformat(f, format="rgb24", interpolation=accurate,
                                                          threads=1).to_ndarray())
    core_rgb(frames[0])  # decides the chroma siting, as the video source does
    t0 = time.perf_counter()
    for f in frames:
        core_rgb(f)
    t_core_rgb = time.perf_counter() - t0
    t0 = time.perf_counter()
    for a in rgbs:
        _yuv.rgb_to_frame(av, a, "yuv420p", 1, 1)
    t_core_yuv = time.perf_counter() - t0
    with tempfile.TemporaryDirectory() as tmp, av.open(os.path.join(tmp, "e.mp4"), "w") as out:
        vout = out.add_stream("libx264", rate=25)
        vout.width, vout.height, vout.pix_fmt = frames[0].width, frames[0].height, "yuv420p"
        vout.codec_context.options = {"crf": "18", **({"preset": preset} if preset else {})}
        t0 = time.perf_counter()
        for i, y in enumerate(yuvs):
            y.pts, y.time_base = i, Fraction(1, 25)
            for p in vout.encode(y):
                out.mux(p)
        for p in vout.encode():
            out.mux(p)
        t_enc = time.perf_counter() - t0
    ms = lambda t: 1000 * t / n  # noqa: E731
    return {"decode": ms(t_decode), "to RGB": ms(t_rgb), "to YUV": ms(t_yuv), "encode": ms(t_enc),
            "imgen to RGB": ms(t_core_rgb), "imgen to YUV": ms(t_core_yuv)}


def _waiting(frames):
    """40 ms per frame without using the CPU: a stand-in for inference on a GPU."""
    time.sleep(0.040 * len(frames))
    return frames


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", nargs="+", default=list(SIZES), choices=list(SIZES))
    ap.add_argument("--frames", type=int, default=60)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--batch-size", type=int, default=4)
    ap.add_argument("--preset", help="x264 preset for both contenders (default: x264's, medium)")
    ap.add_argument("--part-seconds", type=float,
                    help="imgen: write the output as closed parts of S seconds, joined at the end (the "
                         "resumable path; default: process_video's, 60 s, so a short clip is one file)")
    ap.add_argument("--processors", nargs="+", default=["cnn", "wavelet", "identity"],
                    choices=["cnn", "wavelet", "identity", "wait40"])
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-video-") as tmp:
        return run(args, Path(tmp))


def run(args: argparse.Namespace, tmp: Path) -> int:
    from imgen.video import make_processor

    processors = {
        "cnn": make_processor(model=small_cnn(tmp / "cnn.onnx")),
        "wavelet": make_processor(method="wavelet", sigma=10 / 255),  # the library takes sigma as a fraction
        "identity": lambda frames: frames,
        "wait40": _waiting,
    }
    print(f"# {args.frames} frames per clip, x264 preset {args.preset or 'medium'}, median of {args.repeats}, "
          f"load average before: "
          f"{os.getloadavg()[0]:.1f}", file=sys.stderr)
    rows = []
    for size in args.sizes:
        w, h = SIZES[size]
        clip = make_clip(tmp / f"{size}.mp4", w, h, args.frames)
        for name in args.processors:
            proc = processors[name]
            times = {"naive": [], "imgen": []}
            cpu = {"naive": [], "imgen": []}
            for r in range(args.repeats):
                for contender in ("naive", "imgen") if r % 2 == 0 else ("imgen", "naive"):
                    dst = tmp / f"out-{contender}.mp4"
                    t0, c0 = time.perf_counter(), time.process_time()
                    n = (naive(clip, dst, proc, args.preset) if contender == "naive"
                         else pipelined(clip, dst, proc, args.batch_size, args.preset, args.part_seconds))
                    times[contender].append(time.perf_counter() - t0)
                    cpu[contender].append(time.process_time() - c0)
                    assert n == args.frames, (contender, n)
            fps = {k: args.frames / statistics.median(v) for k, v in times.items()}
            # CPU seconds of all this process's threads per wall second: how many cores it kept busy
            cores = {k: statistics.median(c / t for c, t in zip(cpu[k], times[k])) for k in cpu}
            cpu_ms = {k: 1000 * statistics.median(cpu[k]) / args.frames for k in cpu}
            rows.append((size, name, fps["naive"], fps["imgen"], fps["imgen"] / fps["naive"],
                         1000 / fps["naive"], 1000 / fps["imgen"], cores["naive"], cores["imgen"],
                         cpu_ms["naive"], cpu_ms["imgen"]))
            print(f"{size} {name}: naive {fps['naive']:.2f} fps ({cores['naive']:.2f} cores), "
                  f"imgen {fps['imgen']:.2f} fps ({cores['imgen']:.2f} cores); load "
                  f"{os.getloadavg()[0]:.1f}", file=sys.stderr)
        steps = breakdown(clip, args.preset)
        rows.append((size, "steps", steps))
    print(f"# load average after: {os.getloadavg()[0]:.1f}", file=sys.stderr)

    print("| clip | processing | naive loop | imgen video | speed-up | naive ms/frame | imgen ms/frame "
          "| cores busy: naive | imgen | CPU ms/frame: naive | imgen |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for row in rows:
        if row[1] != "steps":
            size, name, fn, fi, ratio, mn, mi, cn, ci, pn, pi = row
            print(f"| {size} | {name} | {fn:.2f} fps | {fi:.2f} fps | {ratio:.2f}× | {mn:.1f} | {mi:.1f} "
                  f"| {cn:.2f} | {ci:.2f} | {pn:.1f} | {pi:.1f} |")
    print()
    print("| clip | decode | to RGB (swscale) | to YUV (swscale) | encode (x264 threads) | sum, ms/frame "
          "| to RGB (imgen core) | to YUV (imgen core) | imgen conversions / swscale's |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for row in rows:
        if row[1] == "steps":
            s = row[2]
            swscale, core = s["to RGB"] + s["to YUV"], s["imgen to RGB"] + s["imgen to YUV"]
            print(f"| {row[0]} | {s['decode']:.1f} | {s['to RGB']:.1f} | {s['to YUV']:.1f} | {s['encode']:.1f} | "
                  f"{s['decode'] + swscale + s['encode']:.1f} | {s['imgen to RGB']:.1f} | {s['imgen to YUV']:.1f} "
                  f"| {core / swscale:.2f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
