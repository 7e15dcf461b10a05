"""imgen's own per-frame work in video runs -- the two colour conversions -- before and after #18.

    tools/dev-build && PYTHONPATH=python python benchmarks/bench_video_overhead.py [--size 720p] [--frames 30] [--repeats 5] [--threads 2]

Decodes a generated clip (benchmarks/bench_video.make_clip: H.264 yuv420p BT.709, a panned photograph
with mild noise) once, then per frame, alternating, median of --repeats passes over all frames:

- YUV -> RGB: libswscale with ACCURATE_RND | FULL_CHR_H_INT on one thread (what imgen's video source
  did) against imgen's core (``video._yuv.frame_to_rgb``: csrc/preprocess/yuv, --threads threads);
- RGB -> YUV: libswscale's default into a new yuv420p frame (what the sink did) against
  ``video._yuv.rgb_to_frame`` (writes the new frame's planes directly).

Prints ms per frame of each and the ratios (old / new), the largest difference between the two
outputs (levels), and imgen's per-frame total against the 3 ms target.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_video import SIZES, make_clip  # noqa: E402


def main() -> None:
    import av
    from av.video.reformatter import Interpolation, VideoReformatter

    import imgen
    from imgen.video import _yuv

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", default="720p", choices=list(SIZES))
    ap.add_argument("--frames", type=int, default=30)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    imgen.set_num_threads(args.threads)
    accurate = Interpolation.BILINEAR | Interpolation.ACCURATE_RND | Interpolation.FULL_CHR_H_INT
    with tempfile.TemporaryDirectory() as tmp:
        clip = make_clip(Path(tmp) / "clip.mp4", *SIZES[args.size], args.frames)
        with av.open(str(clip)) as inp:
            frames = list(inp.decode(video=0))
    space, rng = int(frames[0].colorspace), int(frames[0].color_range)
    sws = VideoReformatter()
    to_rgb = _yuv.StreamToRgb(lambda f: sws.reformat(f, format="rgb24", interpolation=accurate, threads=1).to_ndarray())
    steps = {
        "YUV->RGB swscale (before)": lambda f, _: sws.reformat(f, format="rgb24", interpolation=accurate, threads=1).to_ndarray(),
        "YUV->RGB imgen core (after)": lambda f, _: to_rgb(f),
        "RGB->YUV swscale (before)": lambda _, a: sws.reformat(av.VideoFrame.from_numpy_buffer(a, format="rgb24"), format="yuv420p",
                                                               dst_colorspace=space, dst_color_range=rng or None, threads=1),
        "RGB->YUV imgen core (after)": lambda _, a: _yuv.rgb_to_frame(av, a, "yuv420p", space, rng or None),
    }
    rgbs = [steps["YUV->RGB swscale (before)"](f, None) for f in frames]
    times: dict[str, list[float]] = {k: [] for k in steps}
    for _ in range(args.repeats):
        for k, fn in steps.items():
            t0 = time.perf_counter()
            for f, a in zip(frames, rgbs):
                fn(f, a)
            times[k].append((time.perf_counter() - t0) / len(frames) * 1e3)
    ms = {k: statistics.median(v) for k, v in times.items()}
    dec = max(int(np.abs(steps["YUV->RGB imgen core (after)"](f, None).astype(int) - a).max()) for f, a in zip(frames, rgbs))
    enc = max(int(np.abs(steps["RGB->YUV imgen core (after)"](None, a).to_ndarray().astype(int)
                         - steps["RGB->YUV swscale (before)"](None, a).to_ndarray()).max()) for a in rgbs[:5])
    print(f"{args.size} ({frames[0].width}x{frames[0].height}, {frames[0].format.name}, colorspace {space}, range {rng}), "
          f"{len(frames)} frames, median of {args.repeats}, imgen threads {args.threads}")
    for k, v in ms.items():
        print(f"  {k:30s} {v:7.2f} ms/frame")
    before = ms["YUV->RGB swscale (before)"] + ms["RGB->YUV swscale (before)"]
    after = ms["YUV->RGB imgen core (after)"] + ms["RGB->YUV imgen core (after)"]
    print(f"  YUV->RGB {ms['YUV->RGB swscale (before)'] / ms['YUV->RGB imgen core (after)']:.2f}x faster, "
          f"RGB->YUV {ms['RGB->YUV swscale (before)'] / ms['RGB->YUV imgen core (after)']:.2f}x faster; "
          f"max difference {dec} / {enc} levels")
    print(f"  imgen's conversions per frame: {before:.2f} ms before, {after:.2f} ms after ({before / after:.2f}x); "
          f"target <= 3 ms: {'met' if after <= 3 else 'not met'}")


if __name__ == "__main__":
    main()
