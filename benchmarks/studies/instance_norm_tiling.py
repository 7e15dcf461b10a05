"""Instance-norm generators on large images: tiles with their own statistics against tiles fed
the statistics of a (downscaled) whole-image pass (``imgen.norm_stats``), their peak memory, and
what the statistics rewrite costs at whole-image inference.

    PYTHONPATH=python:export python benchmarks/studies/instance_norm_tiling.py [--size 1024] [--tile 512]
        [--overlap 128] [--speed-size 512] [--threads 2] [--work /tmp/x]

Model: a random-init CycleGAN ResnetGenerator (junyanz layout, 9 blocks, ngf 64, weights
N(0, 0.02) as the reference's ``init_weights('normal')``), imported and exported by imgen
(``export_checkpoint``: the file with feedable statistics) and, for comparison, the same graph
exported without the rewrite (the plain file, as imgen wrote it before).  Image: scikit-image's
astronaut resized (area) to SIZE x SIZE.  Reported: PSNR against the whole-image output (uint8),
largest and mean difference, seconds, for

  own      the plain file in tiles (each tile normalised by its own statistics)
  whole    tiles fed the statistics of the whole image (whole_pixels = SIZE^2)
  down2/4  tiles fed the statistics of a copy downscaled 2x / 4x (whole_pixels = SIZE^2/4, /16)

and the peak resident memory (VmHWM of a fresh process) of the whole-image run against the
engine's default path with whole_pixels = (SIZE/2)^2; and the whole-image time of plain against
rewritten file (fastest of 3 alternating runs at SPEED-SIZE).  ``--rss-of MODEL --size N
[--whole-pixels P]`` measures one peak alone (e.g. a 2048 x 2048 image at a 512 x 512 budget).
"""
from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

REPO = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(REPO / "python"), str(REPO / "export")]

import imgen  # noqa: E402


def photo(size: int) -> np.ndarray:
    import skimage.data

    return cv2.resize(skimage.data.astronaut(), (size, size), interpolation=cv2.INTER_AREA)


def build(work: Path) -> tuple[Path, Path]:
    """(plain, rewritten) ONNX files of the random-init generator."""
    import torch

    from imgen_train.convert import export_checkpoint
    from imgen_train.export_onnx import _export_graph, _set_metadata
    from imgen_train.import_checkpoint import model_from_state_dict
    from imgen_train.import_generative import ResnetGenerator

    torch.manual_seed(0)
    net = ResnetGenerator(3, 3, 64, "instance", 9, False)
    for m in net.modules():
        if isinstance(m, (torch.nn.Conv2d, torch.nn.ConvTranspose2d)):
            torch.nn.init.normal_(m.weight, 0.0, 0.02)
            torch.nn.init.zeros_(m.bias)
    work.mkdir(parents=True, exist_ok=True)
    torch.save(net.state_dict(), work / "latest_net_G_A.pth")
    stats = work / "resnet9.onnx"
    export_checkpoint(work / "latest_net_G_A.pth", stats)
    plain = work / "resnet9-plain.onnx"
    graph = model_from_state_dict(net.state_dict()).graphs("resnet9-plain", None)[0]
    _export_graph(graph, plain, "pix2pix_resnet")
    _set_metadata(plain, graph.metadata)
    return plain, stats


def compare(out: np.ndarray, ref: np.ndarray) -> str:
    diff = np.abs(out.astype(int) - ref.astype(int))
    mse = np.mean(diff.astype(np.float64) ** 2)
    psnr = float("inf") if mse == 0 else 10 * np.log10(255**2 / mse)
    return f"PSNR vs whole {psnr:6.2f} dB, max difference {diff.max():3d}, mean {diff.mean():5.2f}"


def peak_rss(model: Path, size: int, whole_pixels: int | None, threads: int) -> tuple[float, float]:
    """(MiB before the run, peak MiB) of a fresh process running the model once."""
    cmd = [sys.executable, __file__, "--rss-of", str(model), "--size", str(size), "--threads", str(threads)]
    if whole_pixels:
        cmd += ["--whole-pixels", str(whole_pixels)]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout.split()
    return float(out[-2]), float(out[-1])


def high_water_mib() -> float:
    """Peak resident memory of this process since exec (VmHWM; ru_maxrss would carry the forking
    parent's peak over)."""
    with open("/proc/self/status") as f:
        kib = next(int(line.split()[1]) for line in f if line.startswith("VmHWM:"))
    return kib / 1024


def rss_child(args) -> int:
    model = imgen.load(args.rss_of, threads=args.threads)
    img = photo(args.size)
    before = high_water_mib()
    model(img, whole_pixels=args.whole_pixels) if args.whole_pixels else model(img, tile=0)
    print(f"{before:.0f} {high_water_mib():.0f}")
    return 0


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--size", type=int, default=1024)
    p.add_argument("--tile", type=int, default=512)
    p.add_argument("--overlap", type=int, default=128)
    p.add_argument("--speed-size", type=int, default=512)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--work", help="folder for the checkpoint and ONNX files (default: a temporary one)")
    p.add_argument("--rss-of", metavar="MODEL", help="only print 'MiB before, peak MiB' (VmHWM) of one run of MODEL "
                   "on the SIZE x SIZE photo: whole, or with --whole-pixels the engine's path at that budget")
    p.add_argument("--whole-pixels", type=int, help="with --rss-of: the whole_pixels budget")
    args = p.parse_args(argv)
    if args.rss_of:
        return rss_child(args)

    plain_path, stats_path = build(Path(args.work or tempfile.mkdtemp()))
    plain = imgen.load(str(plain_path), threads=args.threads)
    stats = imgen.load(str(stats_path), threads=args.threads)
    n, t, o = args.size, args.tile, args.overlap
    print(f"model: 9-block ResnetGenerator, ngf 64, N(0, 0.02); norm_stats={stats.info.norm_stats}, "
          f"receptive_field={stats.info.receptive_field}; image {n}x{n}, tiles {t} overlap {o}, "
          f"{args.threads} onnxruntime threads")

    small = photo(args.speed_size)
    times: dict[str, list[float]] = {"plain": [], "rewritten": []}
    for _ in range(3):
        for name, model in (("plain", plain), ("rewritten", stats)):
            start = time.perf_counter()
            model(small, tile=0)
            times[name].append(time.perf_counter() - start)
    a, b = min(times["plain"]), min(times["rewritten"])
    print(f"whole {args.speed_size}x{args.speed_size}: plain {a:.2f} s, rewritten {b:.2f} s, ratio {b / a:.3f} "
          f"(fastest of 3 alternating runs)")

    img = photo(n)
    start = time.perf_counter()
    whole = stats(img, tile=0)
    print(f"whole image: {time.perf_counter() - start:.1f} s; plain file whole differs by "
          f"{np.abs(plain(img, tile=0).astype(int) - whole).max()} gray levels")
    rows = (("own statistics (plain file)", plain, n * n),
            ("whole-image statistics", stats, n * n),
            ("statistics from a 2x downscaled pass", stats, n * n // 4),
            ("statistics from a 4x downscaled pass", stats, n * n // 16))
    for label, model, budget in rows:
        start = time.perf_counter()
        out = model(img, tile=t, overlap=o, whole_pixels=budget)
        print(f"tiles, {label:38s}: {compare(out, whole)}; {time.perf_counter() - start:.1f} s")
    start = time.perf_counter()
    out = stats(img, whole_pixels=n * n // 4)
    side = stats._budget_side(n * n // 4)
    print(f"engine default path at whole_pixels {n * n // 4} (2x statistics, tiles {side}, overlap "
          f"{min(stats.info.overlap_needed, side // 2)}): {compare(out, whole)}; {time.perf_counter() - start:.1f} s")

    for label, budget in (("whole image", None), (f"whole_pixels {n * n // 4}", n * n // 4)):
        before, peak = peak_rss(stats_path, n, budget, args.threads)
        print(f"peak RSS, {label}: {peak:.0f} MiB (model and image loaded: {before:.0f} MiB; "
              f"the run: +{peak - before:.0f} MiB)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
