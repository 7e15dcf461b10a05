"""Shared pieces of the generative commands (generate, decode, encode, reconstruct, translate):
loading a model of the right task, and writing image sets or one grid image atomically."""
from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Iterable, Sequence, TypeVar

import numpy as np

from ..atomic import atomic_write
from ..engine import Model
from ..errors import ImgenError
from ..generative import make_grid
from ..imageio import IMAGE_EXTENSIONS, ImageFileError, write_image
from ._args import add_info_argument, image_ext, positive_int, thread_count

M = TypeVar("M", bound=Model)

#: Most images one --grid file may hold (a 100 x 100 grid): the grid is made in memory.
MAX_GRID_IMAGES = 10_000

TASK_HINTS = {"generate": "a GAN generator", "decode": "a VAE decoder", "encode": "a VAE encoder",
              "translate": "a CycleGAN generator"}


def add_session_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--providers", nargs="+", help="execution providers (default: TensorRT > CUDA > CPU)")
    p.add_argument("--threads", type=thread_count, help="onnxruntime threads (default: all cores)")
    add_info_argument(p)


def add_output_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("-o", "--output", required=True,
                   help="output folder (one file per image, written batch by batch), or with --grid the grid "
                        "image file")
    p.add_argument("--grid", action="store_true",
                   help=f"write one grid image instead of one file per image (at most {MAX_GRID_IMAGES} images)")
    p.add_argument("--cols", type=positive_int, help="grid columns (default: about square)")
    p.add_argument("--ext", type=image_ext, default=".png",
                   help=f"image file extension in a folder, one of {', '.join(IMAGE_EXTENSIONS)} (default .png)")


def check_output(args: argparse.Namespace, count: int, counted_by: str) -> None:
    """ImgenError for -o / --grid mistakes, before any image is made: a grid needs an image file
    name and at most MAX_GRID_IMAGES images (``counted_by`` names the option that set ``count``);
    a folder must not look like an image file."""
    out = Path(args.output)
    if args.grid:
        if out.suffix.lower() not in IMAGE_EXTENSIONS:
            raise ImgenError(f"--grid writes one image: -o must name an image file "
                             f"({', '.join(IMAGE_EXTENSIONS)}), got {out}")
        if count > MAX_GRID_IMAGES:
            raise ImgenError(f"--grid puts every image in one picture made in memory: at most {MAX_GRID_IMAGES} "
                             f"images, got {count} ({counted_by}); leave out --grid to write them batch by "
                             f"batch into a folder")
    elif out.suffix.lower() in IMAGE_EXTENSIONS:
        raise ImgenError(f"-o {out} names an image file; give a folder, or add --grid for one grid image")


def load_for(args: argparse.Namespace, purpose: type[M], command: str, *, tasks: Sequence[str] | None = None,
             model: str | None = None) -> M:
    """Open ``model`` (default args.model) as ``purpose`` (ImageModel, Generator, Encoder), for
    one of ``tasks`` (default: the purpose's); ModelError naming what was expected, with a hint
    ("a VAE decoder")."""
    m = Model.open(model or args.model, providers=args.providers, threads=args.threads, metadata=dict(args.info))
    hints = ", ".join(TASK_HINTS[t] for t in (tasks or purpose.TASKS) if t in TASK_HINTS)
    return purpose.adopt(m, f"imgen {command}", tasks=tasks, hint=f" ({hints})")


def to_bgr_file(img: np.ndarray) -> np.ndarray:
    """An HWC RGB/gray image as OpenCV writes it (BGR; gray kept 2-D)."""
    if img.shape[2] == 1:
        return img[..., 0]
    return np.ascontiguousarray(img[..., ::-1]) if img.shape[2] == 3 else img


def write_grid(images: np.ndarray, args: argparse.Namespace) -> Path:
    """Write (N, H, W, C) RGB/gray images as one grid image, the file -o (see check_output)."""
    out = Path(args.output)
    try:
        write_image(out, to_bgr_file(make_grid(images, cols=args.cols)))
    except ImageFileError as e:
        raise ImgenError(str(e)) from e
    return out


def write_images(batches: Iterable[np.ndarray], args: argparse.Namespace, names: Sequence[str] | None = None) -> int:
    """Write (N, H, W, C) RGB/gray image batches one file per image into the folder -o, each batch
    before the next is made (Ctrl+C keeps the files written); files are ``names`` (default 00000,
    00001, ...) with --ext.  Returns how many were written."""
    out = Path(args.output)
    count = 0
    try:
        for batch in batches:
            for img in batch:
                name = names[count] if names is not None else f"{count:05d}"
                write_image(out / f"{name}{args.ext}", to_bgr_file(img))
                count += 1
    except ImageFileError as e:
        raise ImgenError(str(e)) from e
    return count


def save_npz(path: str | os.PathLike, **arrays: np.ndarray) -> None:
    """np.savez to ``path`` atomically (imgen.atomic: never half-written, umask permissions)."""
    with atomic_write(path) as f:
        np.savez(f, **arrays)
