"""``imgen run MODEL INPUT... -o OUT``: run an image model over files and folders."""
from __future__ import annotations

import argparse
import logging
from dataclasses import dataclass

import numpy as np

from ..engine import Model, load
from ..errors import ImgenError
from ..imageio import DEFAULT_MAX_PIXELS, IMAGE_EXTENSIONS, MAX_PIXELS_VARIABLE, plan_outputs
from ..processors import FrameProcessor, ProcessorOptions
from ._args import image_ext, nonnegative_float, nonnegative_int, thread_count
from ._batch import run_files, skip_done
from ._distributed import add_ray_arguments, add_resume_argument, check_ray_arguments

log = logging.getLogger("imgen")


def add_parser(sub) -> None:
    p = sub.add_parser(
        "run", help="run an image model over files and folders",
        description="Run a restoration/translation model on images and folders (recursive, relative "
                    "paths kept). Outputs are written atomically; inputs are never overwritten; a bad "
                    "file is reported and the rest carry on (exit status 1 if anything failed).")
    p.add_argument("model", help="an .onnx file or the name of a shipped model")
    add_io_arguments(p)
    p.add_argument("--sigma", type=nonnegative_float,
                   help="noise level for models with a noise input, on the 0-255 scale whatever the file's bit "
                        "depth (default: estimated)")
    add_tiling_arguments(p, threads_help="onnxruntime threads (default: all cores; with --ray see --cpus-per-worker)")
    add_resume_argument(p)
    add_ray_arguments(p)
    p.set_defaults(func=main)


def add_io_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("inputs", nargs="+", metavar="INPUT", help="image files or folders")
    p.add_argument("-o", "--output", required=True, help="output folder (or file, for a single input file)")
    p.add_argument("--ext", type=image_ext,
                   help=f"write outputs with this extension, one of {', '.join(IMAGE_EXTENSIONS)}")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    add_max_pixels_argument(p)


def add_max_pixels_argument(p: argparse.ArgumentParser) -> None:
    """--max-pixels N: the decompression-bomb guard of every command that reads image files."""
    p.add_argument("--max-pixels", type=_pixels, metavar="N",
                   help=f"refuse images of more than N pixels, read from the file's header before decoding "
                        f"(default ${MAX_PIXELS_VARIABLE} or {DEFAULT_MAX_PIXELS:,}; above 2**30 also set "
                        f"OPENCV_IO_MAX_IMAGE_PIXELS in the environment, or set {MAX_PIXELS_VARIABLE})")


def _pixels(text: str) -> int:
    try:
        value = float(text)
    except ValueError:
        value = 0.0
    if not (value >= 1 and value == int(value)):
        raise argparse.ArgumentTypeError(f"must be a whole number of pixels > 0 (e.g. 1e9), got {text!r}")
    return int(value)


def add_tiling_arguments(p: argparse.ArgumentParser, *,
                         threads_help: str = "onnxruntime threads (default: all cores)") -> None:
    p.add_argument("--tile", type=nonnegative_int,
                   help="tile size in pixels (0 = never tile; default from the model, else 512)")
    p.add_argument("--overlap", type=nonnegative_int, help="tile overlap in pixels (default from the model, else 64)")
    p.add_argument("--providers", nargs="+", help="execution providers (default: TensorRT > CUDA > CPU)")
    p.add_argument("--threads", type=thread_count, help=threads_help)


@dataclass(frozen=True)
class RunSettings:
    """What ``imgen run`` does to images, picklable so that distributed workers rebuild it.

    Calling it with a thread count loads the model (once) and returns the batch function.
    """

    model: str
    providers: tuple[str, ...] | None = None
    sigma: float | None = None
    tile: int | None = None
    overlap: int | None = None

    def load(self, threads: int | None = None) -> Model:
        """Load the model and check the settings against it (ImgenError when they do not fit)."""
        return self.check(load(self.model, providers=self.providers, threads=threads))

    def check(self, model: Model) -> Model:
        """ImgenError when the settings do not fit the model."""
        if self.sigma is not None and model.info.noise_input is None:
            raise ImgenError(f"--sigma given, but model {model.name} has no noise-level input")
        if self.sigma is not None and not self.sigma >= 0:
            raise ImgenError(f"--sigma must be >= 0, got {self.sigma}")
        return model

    def processor_options(self) -> ProcessorOptions:
        """The same work as a video/denoise processor, on BGR(A) files."""
        return ProcessorOptions(model=self.model, sigma=self.sigma, tile=self.tile, overlap=self.overlap,
                                providers=self.providers, color_order="bgr")

    def __call__(self, threads: int | None = None) -> "ModelProcess":
        return ModelProcess(self.load(threads), self)


class ModelProcess:
    """A loaded model applied to a chunk of BGR(A) images; ``notes`` lists the conversions."""

    def __init__(self, model: Model, settings: RunSettings):
        self.model = model
        self.settings = settings
        self._frames = FrameProcessor(settings.processor_options(), model=model)

    @property
    def notes(self) -> set[str]:
        return self._frames.notes

    def __call__(self, images: list[np.ndarray]) -> list[np.ndarray]:
        return self._frames(images)


def main(args: argparse.Namespace) -> int:
    check_ray_arguments(args)
    settings = RunSettings(args.model, tuple(args.providers) if args.providers else None,
                           args.sigma, args.tile, args.overlap)
    if args.ray is not None:
        from ._distributed import run_on_ray

        return run_on_ray(args, settings)
    return run_local(settings(args.threads), args)


def run_model(model: Model, args: argparse.Namespace) -> int:
    """Run an already loaded image-to-image model over args.inputs into args.output, as ``imgen run``
    does (used by ``imgen translate``)."""
    settings = RunSettings(args.model, tuple(args.providers) if args.providers else None,
                           getattr(args, "sigma", None), args.tile, args.overlap)
    settings.check(model)
    return run_local(ModelProcess(model, settings), args)


def run_local(process: ModelProcess, args: argparse.Namespace) -> int:
    """The single-machine file loop: plan, skip finished outputs (--resume), run, report."""
    log.info("model %s on %s", process.model.name, process.model.provider)
    jobs, problems = plan_outputs(args.inputs, args.output, args.ext)
    skipped = 0
    if getattr(args, "resume", False):
        jobs, skipped = skip_done(jobs)
    summary = run_files(jobs, process, desc=process.model.name, quiet=args.quiet, max_pixels=args.max_pixels)
    summary.notes.update(process.notes)
    summary.skipped = skipped
    return summary.report(problems)
