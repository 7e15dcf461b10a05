"""Shared pieces of the generative commands (generate, decode, encode, reconstruct, translate):
loading a model of the right task, and writing image sets or one grid image atomically."""
from __future__ import annotations

import argparse
import os
import tempfile
from pathlib import Path
from typing import Sequence

import numpy as np

from ..engine import Model, load
from ..errors import ImgenError
from ..generative import make_grid, with_article
from ..imageio import IMAGE_EXTENSIONS, ImageFileError, write_image

TASK_HINTS = {"generate": "a GAN generator", "decode": "a VAE decoder", "encode": "a VAE encoder",
              "translate": "a CycleGAN generator"}


def add_session_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--providers", nargs="+", help="execution providers (default: TensorRT > CUDA > CPU)")
    p.add_argument("--threads", type=int, help="onnxruntime threads (default: all cores)")


def add_output_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("-o", "--output", required=True,
                   help="output folder (one file per image), or with --grid the grid image file")
    p.add_argument("--grid", action="store_true", help="write one grid image instead of one file per image")
    p.add_argument("--cols", type=int, help="grid columns (default: about square)")
    p.add_argument("--ext", default=".png", help="image file extension in a folder (default .png)")


def load_for(args: argparse.Namespace, tasks: Sequence[str], command: str, model: str | None = None) -> Model:
    """Load ``model`` (default args.model) and check its task; ImgenError naming what was expected."""
    m = load(model or args.model, providers=args.providers, threads=args.threads)
    if m.info.task not in tasks:
        wanted = " or ".join(tasks)
        hints = ", ".join(TASK_HINTS[t] for t in tasks if t in TASK_HINTS)
        raise ImgenError(f"model {m.name} is {with_article(m.info.task)} model; imgen {command} needs {with_article(wanted)} model ({hints})")
    return m


def to_bgr_file(img: np.ndarray) -> np.ndarray:
    """An HWC RGB/gray image as OpenCV writes it (BGR; gray kept 2-D)."""
    if img.shape[2] == 1:
        return img[..., 0]
    return np.ascontiguousarray(img[..., ::-1]) if img.shape[2] == 3 else img


def write_images(images: np.ndarray, args: argparse.Namespace, names: Sequence[str] | None = None) -> list[Path]:
    """Write (N, H, W, C) RGB/gray images as one grid file (--grid) or one file each in a folder."""
    out = Path(args.output)
    try:
        if args.grid:
            if out.suffix.lower() not in IMAGE_EXTENSIONS:
                raise ImgenError(f"--grid writes one image: -o must name an image file "
                                 f"({', '.join(IMAGE_EXTENSIONS)}), got {out}")
            write_image(out, to_bgr_file(make_grid(images, cols=args.cols)))
            return [out]
        if out.suffix.lower() in IMAGE_EXTENSIONS:
            raise ImgenError(f"-o {out} names an image file; give a folder, or add --grid for one grid image")
        ext = args.ext if args.ext.startswith(".") else "." + args.ext
        names = names or [f"{k:05d}" for k in range(len(images))]
        paths = [out / f"{name}{ext}" for name in names]
        for path, img in zip(paths, images):
            write_image(path, to_bgr_file(img))
        return paths
    except ImageFileError as e:
        raise ImgenError(str(e)) from e


def save_npz(path: str | os.PathLike, **arrays: np.ndarray) -> None:
    """np.savez to a temporary file beside ``path``, then renamed over it (never half-written)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".npz", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            np.savez(f, **arrays)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
