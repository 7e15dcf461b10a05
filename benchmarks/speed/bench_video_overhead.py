"""imgen's own per-frame work in video runs -- the two colour conversions -- side by side in one run.

    tools/dev-build && PYTHONPATH=python python benchmarks/speed/bench_video_overhead.py [--size 720p] [--frames 30]
        [--repeats 5] [--threads 2] [--before-tree OLD/python]

Decodes a generated clip (benchmarks/speed/bench_video.make_clip: H.264 yuv420p BT.709, a panned photograph
with mild noise) once, then per frame, steps alternating, median of --repeats passes over all frames:

- YUV -> RGB: libswscale with ACCURATE_RND | FULL_CHR_H_INT on one thread (what imgen's video source
  did before #18) against imgen's core (``video._yuv.frame_to_rgb``, --threads threads): its
  baseline kernels (IMGEN_DISABLE_AVX2=1), an older imgen (--before-tree: the python/ folder of an
  older checkout with its _core built into it, e.g. the commit before the AVX2 intrinsics; run in a
  worker process, pybind11 cannot load two _core modules in one, its passes alternating with
  these) and this build's AVX2 kernels;
- RGB -> YUV: libswscale's default into a new yuv420p frame (what the sink did) against
  ``video._yuv.rgb_to_frame`` (writes the new frame's planes directly) with the same cores.

Prints wall and CPU (process, all threads) ms per frame of each, the ratios against this build's
AVX2 path, the largest difference between swscale's and imgen's outputs (levels), and imgen's
per-frame total against the 3 ms target (wall and CPU: CPU time is less sensitive to a loaded machine).
"""
from __future__ import annotations

import argparse
import contextlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_video import SIZES, make_clip  # noqa: E402


def _kernel_times(core, planes, rgb, mat: dict, cosited: bool, repeats: int) -> dict[str, tuple[float, float]]:
    """Median (wall, CPU) ms of each kernel alone (no PyAV, no allocation) on 1 and 2 threads."""
    out, dst = np.empty_like(rgb), [np.empty_like(p) for p in planes]
    kernels = {"yuv420_to_rgb": lambda: core.yuv420_to_rgb(*planes, cosited=cosited, out=out, **mat),
               "rgb_to_yuv420": lambda: core.rgb_to_yuv420(rgb, *dst, **mat)}
    res = {}
    for n in (1, 2):
        core.set_num_threads(n)
        for name, fn in kernels.items():
            w, c = [], []
            for _ in range(10 * repeats):
                c0, t0 = time.process_time(), time.perf_counter()
                fn()
                w.append((time.perf_counter() - t0) * 1e3)
                c.append((time.process_time() - c0) * 1e3)
            res[f"{n} thread(s) {name}"] = (statistics.median(w), statistics.median(c))
    return res


def _worker(clip: str, threads: int, repeats: int) -> None:
    """--before-tree's side: the imgen on PYTHONPATH converts the clip's frames, one pass over
    them per line read from stdin; prints JSON lines of wall and CPU ms per frame."""
    import json

    import av

    import imgen
    from imgen.video import _yuv

    imgen.set_num_threads(threads)
    with av.open(clip) as inp:
        frames = list(inp.decode(video=0))
    space, rng = int(frames[0].colorspace), int(frames[0].color_range)
    rgbs = [_yuv.frame_to_rgb(f, cosited=True) for f in frames]
    steps = {"YUV->RGB": lambda f, a: _yuv.frame_to_rgb(f, cosited=True),
             "RGB->YUV": lambda f, a: _yuv.rgb_to_frame(av, a, "yuv420p", space, rng or None)}
    print(json.dumps({"simd": imgen._core.simd_level()}), flush=True)
    for _ in sys.stdin:
        res = {}
        for k, fn in steps.items():
            c0, t0 = time.process_time(), time.perf_counter()
            for f, a in zip(frames, rgbs):
                fn(f, a)
            res[k] = ((time.perf_counter() - t0) / len(frames) * 1e3, (time.process_time() - c0) / len(frames) * 1e3)
        print(json.dumps(res), flush=True)
    print(json.dumps(_kernel_times(imgen._core, _yuv._planes(frames[0]), rgbs[0],
                                   _yuv._matrix("yuv420p", space, rng), True, repeats)), flush=True)


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
    ap.add_argument("--before-tree", help="python/ folder of an older imgen, its _core built in it")
    ap.add_argument("--worker", help=argparse.SUPPRESS)  # the --before-tree process: the clip's path
    args = ap.parse_args()
    if args.worker:
        return _worker(args.worker, args.threads, args.repeats)
    imgen.set_num_threads(args.threads)
    cores = {"imgen baseline kernels": (_core, False), "imgen AVX2 (after)": (_core, True)}

    accurate = Interpolation.BILINEAR | Interpolation.ACCURATE_RND | Interpolation.FULL_CHR_H_INT
    tmp = tempfile.TemporaryDirectory()
    clip = make_clip(Path(tmp.name) / "clip.mp4", *SIZES[args.size], args.frames)
    with av.open(str(clip)) as inp:
        frames = list(inp.decode(video=0))
    before = None
    if args.before_tree:
        before = subprocess.Popen(
            [sys.executable, __file__, "--worker", str(clip), "--threads", str(args.threads),
             "--repeats", str(args.repeats)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
            env={**os.environ, "PYTHONPATH": args.before_tree, "IMGEN_DISABLE_AVX2": "0"})
        before_simd = json.loads(before.stdout.readline())["simd"]
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
        if before is not None:  # one pass of the older imgen between these
            before.stdin.write("run\n")
            before.stdin.flush()
            for direction, (w, c) in json.loads(before.stdout.readline()).items():
                k = f"{direction} imgen --before-tree"
                wall.setdefault(k, []).append(w)
                cpu.setdefault(k, []).append(c)
    kernel_times = {}
    if before is not None:
        before.stdin.close()
        kernel_times["imgen --before-tree"] = json.loads(before.stdout.readline())
        before.wait()
        cores["imgen --before-tree"] = None
        steps = {k: None for k in sorted(wall, key=lambda k: (k[:8], k.endswith("(after)"), "swscale" not in k))}
    tmp.cleanup()
    ms = {k: statistics.median(v) for k, v in wall.items()}
    cpu_ms = {k: statistics.median(v) for k, v in cpu.items()}

    print(f"{args.size} ({frames[0].width}x{frames[0].height}, {frames[0].format.name}, colorspace {space}, "
          f"range {rng}, {'co-sited' if cosited else 'centred'} chroma), {len(frames)} frames, median of "
          f"{args.repeats}, imgen threads {args.threads}, SIMD {_core.simd_level()}, load average "
          f"{os.getloadavg()[0]:.1f}" + (f"; --before-tree SIMD {before_simd}" if before else ""))
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
    # the kernels alone on 1 and 2 threads: planes of the first frame
    planes, mat = _yuv._planes(frames[0]), _yuv._matrix("yuv420p", space, rng)
    for name, (core, avx2) in [(k, v) for k, v in cores.items() if v is not None]:
        with _using(_yuv, core, avx2):
            kernel_times[name] = _kernel_times(core, planes, rgbs[0], mat, cosited, args.repeats)
    _core.set_num_threads(args.threads)
    for key in next(iter(kernel_times.values())):
        for name, times in kernel_times.items():
            w, c = times[key]
            print(f"  kernel alone, {key:24s} {name:24s} {w:6.2f} ms wall, {c:6.2f} ms CPU")
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
