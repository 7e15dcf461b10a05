"""imgen's own per-frame work in video runs -- the two colour conversions -- side by side in one run.

    tools/dev-build && PYTHONPATH=python python benchmarks/bench_video_overhead.py [--size 720p] [--frames 30]
        [--repeats 5] [--threads 2] [--before-core OLD/_core.cpython-311-x86_64-linux-gnu.so]

Decodes a generated clip (benchmarks/bench_video.make_clip: H.264 yuv420p BT.709, a panned photograph
with mild noise) once, then per frame, steps alternating, median of --repeats passes over all frames:

- YUV -> RGB: libswscale with ACCURATE_RND | FULL_CHR_H_INT on one thread (what imgen's video source
  did before #18) against imgen's core (``video._yuv.frame_to_rgb``, --threads threads): its
  baseline kernels (IMGEN_DISABLE_AVX2=1), the _core of an older build (--before-core, e.g. the
  commit before the AVX2 intrinsics) and this build's AVX2 kernels;
- RGB -> YUV: libswscale's default into a new yuv420p frame (what the sink did) against
  ``video._yuv.rgb_to_frame`` (writes the new frame's planes directly) with the same cores.

Prints wall and CPU (process, all threads) ms per frame of each, the ratios against this build's
AVX2 path, the largest difference between swscale's and imgen's outputs (levels), and imgen's
per-frame total against the 3 ms target (wall and CPU: CPU time is less sensitive to a loaded machine).
"""
from __future__ import annotations

import argparse
import contextlib
import importlib.util
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_video import SIZES, make_clip  # noqa: E402


def _load_core(path: str):
    """Another build's imgen._core, imported under a private name."""
    spec = importlib.util.spec_from_file_location("_before._core", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@contextlib.contextmanager
def _using(yuv, core, avx2: bool = True):
    """video._yuv running on ``core`` (avx2=False: its baseline kernels) for the block."""
    saved, env = yuv._core, os.environ.get("IMGEN_DISABLE_AVX2")
    yuv._core = core
    os.environ["IMGEN_DISABLE_AVX2"] = "0" if avx2 else "1"
    try:
        yield
    finally:
        yuv._core = saved
        if env is None:
            del os.environ["IMGEN_DISABLE_AVX2"]
        else:
            os.environ["IMGEN_DISABLE_AVX2"] = env


def main() -> None:
    import av
    from av.video.reformatter import Interpolation, VideoReformatter

    import imgen
    from imgen import _core
    from imgen.video import _yuv

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", default="720p", choices=list(SIZES))
    ap.add_argument("--frames", type=int, default=30)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--before-core", help="an older build's _core*.so to compare with (same Python)")
    args = ap.parse_args()
    imgen.set_num_threads(args.threads)
    cores = {"imgen baseline kernels": (_core, False)}
    if args.before_core:
        old = _load_core(args.before_core)
        old.set_num_threads(args.threads)
        cores["imgen --before-core"] = (old, True)
    cores["imgen AVX2 (after)"] = (_core, True)

    accurate = Interpolation.BILINEAR | Interpolation.ACCURATE_RND | Interpolation.FULL_CHR_H_INT
    with tempfile.TemporaryDirectory() as tmp:
        clip = make_clip(Path(tmp) / "clip.mp4", *SIZES[args.size], args.frames)
        with av.open(str(clip)) as inp:
            frames = list(inp.decode(video=0))
    space, rng = int(frames[0].colorspace), int(frames[0].color_range)
    sws = VideoReformatter()

    def sws_to_rgb(f):
        return sws.reformat(f, format="rgb24", interpolation=accurate, threads=1).to_ndarray()

    def sws_to_yuv(a):
        return sws.reformat(av.VideoFrame.from_numpy_buffer(a, format="rgb24"), format="yuv420p",
                            dst_colorspace=space, dst_color_range=rng or None, threads=1)

    to_rgb = _yuv.StreamToRgb(sws_to_rgb)
    to_rgb(frames[0])  # decides the chroma siting (co-sited for H.264) as the video source does
    assert to_rgb.uses_core, "imgen's core does not reproduce swscale on this clip"
    cosited = to_rgb._cosited

    def core_step(direction, core, avx2):
        def run(f, a):
            with _using(_yuv, core, avx2):
                if direction == "to_rgb":
                    return _yuv.frame_to_rgb(f, cosited=cosited)
                return _yuv.rgb_to_frame(av, a, "yuv420p", space, rng or None)
        return run

    steps = {"YUV->RGB swscale": lambda f, _: sws_to_rgb(f)}
    steps.update({f"YUV->RGB {name}": core_step("to_rgb", *c) for name, c in cores.items()})
    steps["RGB->YUV swscale"] = lambda _, a: sws_to_yuv(a)
    steps.update({f"RGB->YUV {name}": core_step("to_yuv", *c) for name, c in cores.items()})
    rgbs = [sws_to_rgb(f) for f in frames]
    wall: dict[str, list[float]] = {k: [] for k in steps}
    cpu: dict[str, list[float]] = {k: [] for k in steps}
    for _ in range(args.repeats):
        for k, fn in steps.items():
            c0, t0 = time.process_time(), time.perf_counter()
            for f, a in zip(frames, rgbs):
                fn(f, a)
            wall[k].append((time.perf_counter() - t0) / len(frames) * 1e3)
            cpu[k].append((time.process_time() - c0) / len(frames) * 1e3)
    ms = {k: statistics.median(v) for k, v in wall.items()}
    cpu_ms = {k: statistics.median(v) for k, v in cpu.items()}

    print(f"{args.size} ({frames[0].width}x{frames[0].height}, {frames[0].format.name}, colorspace {space}, "
          f"range {rng}, {'co-sited' if cosited else 'centred'} chroma), {len(frames)} frames, median of "
          f"{args.repeats}, imgen threads {args.threads}, SIMD {_core.simd_level()}, load average "
          f"{os.getloadavg()[0]:.1f}")
    after = "imgen AVX2 (after)"
    for direction in ("YUV->RGB", "RGB->YUV"):
        ref = f"{direction} {after}"
        for k in [k for k in steps if k.startswith(direction)]:
            print(f"  {k:40s} {ms[k]:7.2f} ms/frame wall ({ms[k] / ms[ref]:5.2f}x after) "
                  f"{cpu_ms[k]:7.2f} ms/frame CPU ({cpu_ms[k] / cpu_ms[ref]:5.2f}x after)")
    with _using(_yuv, _core):
        dec = max(int(np.abs(_yuv.frame_to_rgb(f, cosited=cosited).astype(int) - a).max()) for f, a in zip(frames, rgbs))
        enc = max(int(np.abs(_yuv.rgb_to_frame(av, a, "yuv420p", space, rng or None).to_ndarray().astype(int)
                             - sws_to_yuv(a).to_ndarray()).max()) for a in rgbs[:5])
    print(f"  largest difference to swscale: {dec} level(s) YUV->RGB, {enc} level(s) RGB->YUV")
    # the kernels alone (no PyAV, no allocation) on 1 and 2 threads: planes of the first frame
    planes = _yuv._planes(frames[0])
    mat = _yuv._matrix("yuv420p", space, rng)
    out = np.empty_like(rgbs[0])
    dst = [np.empty_like(p) for p in planes]
    for n in (1, 2):
        for name, (core, avx2) in cores.items():
            core.set_num_threads(n)
            with _using(_yuv, core, avx2):
                kernel = {"yuv420_to_rgb": lambda: core.yuv420_to_rgb(*planes, cosited=cosited, out=out, **mat),
                          "rgb_to_yuv420": lambda: core.rgb_to_yuv420(rgbs[0], *dst, **mat)}
                for kname, fn in kernel.items():
                    w, c = [], []
                    for _ in range(10 * args.repeats):
                        c0, t0 = time.process_time(), time.perf_counter()
                        fn()
                        w.append((time.perf_counter() - t0) * 1e3)
                        c.append((time.process_time() - c0) * 1e3)
                    print(f"  kernel alone, {n} thread(s), {name:24s} {kname}: {statistics.median(w):6.2f} ms wall, "
                          f"{statistics.median(c):6.2f} ms CPU")
            core.set_num_threads(args.threads)
    names = ["swscale"] + list(cores)
    for name in names:
        w = ms[f"YUV->RGB {name}"] + ms[f"RGB->YUV {name}"]
        c = cpu_ms[f"YUV->RGB {name}"] + cpu_ms[f"RGB->YUV {name}"]
        print(f"  both conversions, {name:31s} {w:7.2f} ms/frame wall, {c:7.2f} ms/frame CPU")
    w = ms[f"YUV->RGB {after}"] + ms[f"RGB->YUV {after}"]
    c = cpu_ms[f"YUV->RGB {after}"] + cpu_ms[f"RGB->YUV {after}"]
    print(f"  imgen's per-frame overhead (after): {w:.2f} ms wall = {w / 3:.2f}x the 3 ms target "
          f"({'met' if w <= 3 else 'not met'}); {c:.2f} ms CPU = {c / 3:.2f}x ({'met' if c <= 3 else 'not met'})")


if __name__ == "__main__":
    main()
