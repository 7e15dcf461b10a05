"""Unpaired translation examples against their true transform on the held-out photos (coffee,
grace_hopper), next to the baselines a CycleGAN must beat (docs/models.md; stylize: docs/experiments.md):

    tools/generative-trainsets gen-data
    PYTHONPATH=python:export python benchmarks/quality/eval_translation.py --task stylize --data gen-data/stylize \
        [--model stylize-cyclegan-a2b | --model a2b.onnx | --checkpoint runs/cycle/last.pt] [--json out.json]

Rows (PSNR in dB of uint8 RGB against T(x), T = the task's transform of the whole photo):
identity (x itself); per-channel histogram matching of x to all of domain B's pixels; the affine
colour transfer mapping domain A's pixel mean and covariance onto domain B's (Monge-Kantorovich);
the model (an ONNX generator through imgen.load, tiled by the engine like any image; or a training
checkpoint's G_AB in torch on the whole photo, padded to a multiple of 4 by reflection).  The
baselines are fitted on the unpaired training folders only.  ``--figure F.png`` (with a model)
also writes a crop of coffee: input | T(x) | model, magnified 3x with nearest neighbours (so a
checkerboard would show).
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(REPO / "python"), str(REPO / "export"), str(REPO / "benchmarks" / "quality")]

import imgen  # noqa: E402
from eval_generative import _affine_transfer, _pixels  # noqa: E402
from imgen_train import examples  # noqa: E402

TASKS = {"stylize": examples.stylize, "sepia": examples.sepia_tone, "smooth": examples.smooth}
FIGURE_CROP = ("coffee", 150, 170, 72)  # photo, top, left, size: the cup's rim and the saucer


def checkpoint_generator(path: str):
    """G_AB of an imgen-train CycleGAN checkpoint: (H, W, 3) uint8 -> (H, W, 3) uint8 (torch, whole image)."""
    import torch
    from torch.nn import functional as F

    from imgen_train.train import load_model

    model, _ = load_model(path)

    def run(x: np.ndarray) -> np.ndarray:
        h, w = x.shape[:2]
        t = torch.from_numpy(x.astype(np.float32).transpose(2, 0, 1)[None]) / 127.5 - 1
        t = F.pad(t, (0, -w % 4, 0, -h % 4), mode="reflect")
        with torch.no_grad():
            y = model.g_ab(t)[0, :, :h, :w].numpy().transpose(1, 2, 0)
        return np.clip(np.rint((y + 1) * 127.5), 0, 255).astype(np.uint8)

    return run


def evaluate(task: str, data: Path, model=None) -> dict:
    """{photo: {row: PSNR dB}} plus a "mean" entry; ``model``: (H, W, 3) uint8 -> uint8, or None."""
    from skimage.exposure import match_histograms

    transform = TASKS[task]
    pix_a, pix_b = _pixels(data / "trainA"), _pixels(data / "trainB")
    transfer = _affine_transfer(pix_a, pix_b)
    ref_b = pix_b.reshape(-1, 1, 3).astype(np.uint8)
    out: dict = {}
    for name in examples.TEST_PHOTOS:
        x = examples.photo(name)
        target = transform(x)
        hist = np.clip(np.rint(match_histograms(x, ref_b, channel_axis=-1)), 0, 255).astype(np.uint8)
        row = {"identity": imgen.metrics.psnr(x, target),
               "histogram matching": imgen.metrics.psnr(hist, target),
               "affine colour transfer": imgen.metrics.psnr(transfer(x), target)}
        if model is not None:
            row["model"] = imgen.metrics.psnr(model(x), target)
        out[name] = row
    out["mean"] = {k: float(np.mean([out[n][k] for n in examples.TEST_PHOTOS])) for k in out[examples.TEST_PHOTOS[0]]}
    return out


def figure(task: str, model, path: str, magnify: int = 3) -> None:
    """input | T(x) | model(x) on FIGURE_CROP, each magnified; written atomically (imgen.imageio)."""
    import cv2

    from imgen.imageio import write_image

    name, top, left, size = FIGURE_CROP
    x = examples.photo(name)
    panels = [x, TASKS[task](x), model(x)]
    crops = [cv2.resize(p[top:top + size, left:left + size], None, fx=magnify, fy=magnify,
                        interpolation=cv2.INTER_NEAREST) for p in panels]
    gap = np.full((size * magnify, 4, 3), 255, np.uint8)
    strip = np.concatenate([crops[0], gap, crops[1], gap, crops[2]], axis=1)
    write_image(path, cv2.cvtColor(strip, cv2.COLOR_RGB2BGR))


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--task", choices=sorted(TASKS), default="stylize")
    p.add_argument("--data", required=True, help="tools/generative-trainsets OUT/<task> (trainA, trainB)")
    group = p.add_mutually_exclusive_group()
    group.add_argument("--model", help="A->B generator: .onnx file or shipped name")
    group.add_argument("--checkpoint", help="an imgen-train cyclegan checkpoint (its G_AB, in torch)")
    p.add_argument("--json", help="also write the numbers here")
    p.add_argument("--figure", help="also write input | target | model crops to this PNG (needs a model)")
    args = p.parse_args(argv)
    data = Path(args.data)
    if not (data / "trainA").is_dir() or not (data / "trainB").is_dir():
        p.error(f"--data {data} needs trainA/ and trainB/ folders (tools/generative-trainsets OUT writes them)")
    if args.figure and not (args.model or args.checkpoint):
        p.error("--figure needs --model or --checkpoint")
    model = None
    if args.model:
        model = imgen.load(args.model, providers=["cpu"])
    elif args.checkpoint:
        model = checkpoint_generator(args.checkpoint)
    results = evaluate(args.task, data, model)
    if args.figure:
        figure(args.task, model, args.figure)
    for name, row in results.items():
        print(f"{name:14s} " + "  ".join(f"{k} {v:.2f}" for k, v in row.items()))
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
