"""One generic training loop; each task contributes a small ``step(batch, update) -> dict[str, Tensor]``.

    python -m imgen_train.train --arch ffdnet --train-dir DIR --noise 0,75 --out runs/x
    python -m imgen_train.train --arch dcgan --train-dir faces/ --patch 32 --out runs/gan
    python -m imgen_train.train --arch cyclegan --train-dir A/ --train-dir-b B/ --out runs/cyc
    imgen train ...   (the same options)

Options live in ``TrainOptions`` (a dataclass: CLI flags are its fields).  The architecture picks
the task (tasks/: denoise, gan, vae, cyclegan); the task owns its data, its optimizers (one Adam
per network group, e.g. generator and discriminator), its step, validation and sample grids.  A
run directory holds ``last.pt`` (resumable: model, optimizers, schedulers, task state, step),
``best.pt`` (best validation score, for tasks that validate), ``final.pt`` (after batch-norm
re-estimation), ``log.csv`` (step, losses, lr, validation, seconds), ``samples/`` (grids, for
generative tasks) and ``options.json``.  Batch k depends only on (seed, k), so ``--resume``
continues exactly where an interrupted run stopped.
"""
from __future__ import annotations

import argparse
import csv
import dataclasses
import json
import logging
import math
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import torch
from torch import nn

from imgen.atomic import atomic_write
from imgen.imageio import write_image

from . import archs
from .fake_quant import FakeQuant
from .ranges import parse_indices
from .tasks import TASKS, Task
from .tasks.denoise import psnr, recalibrate_batch_norm  # noqa: F401  (re-exported)

log = logging.getLogger("imgen_train")

CHECKPOINT_FORMAT = "imgen-train"
CHECKPOINT_VERSION = 2


@dataclass
class TrainOptions:
    """Everything a run depends on (saved in options.json and in every checkpoint)."""

    train_dir: str = ""
    train_dir_b: str | None = None  # cyclegan: the second, unpaired folder (domain B)
    out: str = "runs/train"
    task: str | None = None         # None = the architecture's (denoise, gan, vae, cyclegan)
    arch: str = "ffdnet"
    channels: int = 1
    depth: int | None = None        # None = the architecture's default
    width: int | None = None
    batch_norm: bool | None = None  # None = the architecture's default
    latent: int | None = None       # dcgan/vae latent size
    disc_width: int | None = None   # cyclegan discriminator width
    norm: str | None = None         # cyclegan generator normalisation: instance | batch | none
    residual: bool | None = None    # cyclegan: generators predict a change to their input
    upsample: str | None = None     # cyclegan generator upsampling: transposed | resize | pixelshuffle
    scale: int | None = None        # srnet: the upscaling factor (default: the architecture's, 2)
    quality: str = "10,40"          # jpeg: JPEG quality per patch, "Q" or "LOW,HIGH"
    blur_noise: str = "2,3"         # deblur: noise sigma (0-255) after the blur, "S" or "LOW,HIGH"
    blur_gauss: str = "0.8,3.2"     # deblur: the Gaussian kernels' width (px), "S" or "LOW,HIGH"
    wiener_balance: float | None = None  # wiener_refine: Wiener's balance for its input (None: 0.01)
    activation: str | None = None   # srnet: "prelu" (default) or "relu"
    noise: str = "0,75"             # sigma on the 0-255 scale: "25" or "LOW,HIGH"
    patch: int = 64                 # patch size; dcgan/vae: the image size (images are resized to it)
    batch: int = 32
    iters: int = 10000
    lr: float = 1e-3
    lr_min: float = 1e-5
    schedule: str = "cosine"        # cosine | linear (constant, then linear decay) | multistep
    milestones: list[int] = field(default_factory=list)  # multistep: lr *= gamma at these steps
    gamma: float = 0.1
    loss: str = "mse"               # denoise: mse | l1 | mse_sigma; restoration tasks: mse | l1
    adam_beta1: float | None = None # None = the task's (0.9; 0.5 for GANs)
    beta: float = 1.0               # vae: weight of the KL term
    cycle_weight: float = 10.0      # cyclegan: lambda of the cycle losses
    identity_weight: float = 0.5    # cyclegan: identity loss weight, relative to cycle_weight
    cycle_loss: str = "l1"          # cyclegan: distance of the cycle and identity terms: l1 | mse
    shift: float = 0.0              # gan: random whole-pixel shifts of up to this many pixels
    brightness: float = 0.0         # gan: random brightness/contrast change of up to +- this fraction
    diffaugment: str = ""           # gan: DiffAugment transforms on real and generated images before D
    pool_size: int = 50             # cyclegan: history of generated images shown to the discriminators
    sample_every: int = 500         # write a sample grid to OUT/samples every N steps (0 = never)
    val_dir: str | None = None      # held-out folder; else the last --val-count files of train_dir
    val_count: int = 8
    val_sigma: float = 25.0
    val_every: int = 250
    ckpt_every: int = 250
    log_every: int = 25
    seed: int = 0
    device: str = "auto"            # auto | cpu | cuda
    threads: int | None = None
    amp: str = "none"               # none | bf16 (CPU autocast) | fp16 (CUDA autocast)
    bn_recalibrate: int = 100       # batches to re-estimate batch-norm statistics at the end (0 = off)
    val_bn_batches: int = 32        # batches to re-estimate them before each validation (0 = running statistics)
    resume: bool = False
    init_from: str | None = None    # start a fresh run from these weights (an imgen-train .pt or an ONNX it exported)
    fake_quant: bool = False        # quantisation-aware: convs as the int8 file computes them (fake_quant.py)
    fake_quant_float: str = "0,-1"  # fake_quant: the convs (graph order, negative from the end) whose weights stay float
    fake_quant_range_sigma: float = 0.0  # fake_quant: ranges from the patches with at least this sigma (0-255)
    stop_at: int | None = None      # stop at this step (the schedule still spans iters); --resume continues
    progress: bool = True

    def arch_options(self) -> dict:
        """The architecture's options from these (image_size = patch where the arch has one)."""
        opts = {"in_channels": self.channels}
        for name in ("depth", "width", "batch_norm", "latent", "disc_width", "norm", "residual", "scale",
                     "upsample", "wiener_balance", "activation"):
            if getattr(self, name) is not None:
                opts[name] = getattr(self, name)
        if "image_size" in archs.option_names(self.arch):
            opts["image_size"] = self.patch
        return opts


# -- helpers ----------------------------------------------------------------------------------

def pick_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise RuntimeError("--device cuda was asked for but torch sees no CUDA device")
    return torch.device(name)


def lr_factor(step: int, o: TrainOptions) -> float:
    """Learning-rate multiplier at ``step``: a closed form of the options, so a resumed run may
    change ``--iters`` (the schedule is stretched from then on).  ``linear`` is CycleGAN's: constant
    for the first half, then a straight line down to lr_min."""
    t = min(step, o.iters) / max(o.iters, 1)
    floor = o.lr_min / o.lr
    if o.schedule == "cosine":
        return floor + (1 - floor) * 0.5 * (1 + math.cos(math.pi * t))
    if o.schedule == "linear":
        return 1.0 if t <= 0.5 else 1.0 - (1 - floor) * (t - 0.5) / 0.5
    if o.schedule == "multistep":
        milestones = o.milestones or [int(o.iters * 0.5), int(o.iters * 0.75)]
        return o.gamma ** sum(step >= m for m in milestones)
    raise ValueError(f"schedule must be 'cosine', 'linear' or 'multistep', got {o.schedule!r}")


def make_scheduler(opt: torch.optim.Optimizer, o: TrainOptions):
    lr_factor(0, o)  # validates the schedule name
    return torch.optim.lr_scheduler.LambdaLR(opt, lambda step: lr_factor(step, o))


def save_checkpoint(path: Path, model: nn.Module, o: TrainOptions, step: int, **extra) -> None:
    """Atomic write of {format, version, arch, config, state_dict, options, step, ...}."""
    state = {
        "format": CHECKPOINT_FORMAT,
        "version": CHECKPOINT_VERSION,
        "arch": o.arch,
        "config": dataclasses.asdict(model.config),
        "state_dict": {k: v.detach().cpu() for k, v in model.state_dict().items()},
        "options": dataclasses.asdict(o),
        "step": step,
        **extra,
    }
    with atomic_write(path) as f:
        torch.save(state, f)


def load_model(checkpoint: str | os.PathLike | dict) -> tuple[nn.Module, dict]:
    """(model in eval mode, checkpoint dict) from one of our checkpoints."""
    state = checkpoint if isinstance(checkpoint, dict) else torch.load(checkpoint, map_location="cpu", weights_only=True)
    if state.get("format") != CHECKPOINT_FORMAT:
        raise ValueError(f"{checkpoint} is not an imgen-train checkpoint (use import_checkpoint for others)")
    model = archs.ARCHS[state["arch"]].cls(archs.config_for(state["arch"], **state["config"]))
    model.load_state_dict(state["state_dict"])
    return model.eval(), state


def _conv_weights(state: dict[str, torch.Tensor]) -> list[tuple[torch.Tensor, torch.Tensor | None]]:
    """[(weight, bias)] of the 4-D weights in ``state`` in key order (numeric parts compared as
    numbers, so model.10 follows model.8)."""
    import re

    def order(key: str):
        return [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", key)]
    weights = sorted((k for k, v in state.items() if k.endswith("weight") and v.dim() == 4), key=order)
    return [(state[k], state.get(k[: -len("weight")] + "bias")) for k in weights]


def load_initial_weights(model: nn.Module, path: str | os.PathLike) -> None:
    """Copy weights into ``model`` (in place) from an imgen-train checkpoint (exact keys) or from an
    ONNX file (its convolutions in order, batch norm folded into them by the export, so ``model``
    must have biased convs and no batch norm: the same function as the file).  ValueError naming the
    first layer that does not fit."""
    path = Path(path)
    if path.suffix.lower() == ".onnx":
        import onnx
        from onnx import numpy_helper

        graph = onnx.load(str(path)).graph
        state = {t.name: torch.from_numpy(numpy_helper.to_array(t).copy()) for t in graph.initializer}
        source = _conv_weights(state)
        convs = [m for m in model.modules() if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d))]
        if any(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in model.modules()):
            raise ValueError(f"init_from {path}: an exported ONNX file has batch norm folded into its "
                             "convolutions; train with batch_norm=False (--no-batch-norm)")
        if len(source) != len(convs):
            raise ValueError(f"init_from {path}: the file has {len(source)} convolutions, the model {len(convs)}")
        with torch.no_grad():
            for i, (conv, (w, b)) in enumerate(zip(convs, source)):
                if tuple(conv.weight.shape) != tuple(w.shape) or (conv.bias is None) != (b is None):
                    raise ValueError(f"init_from {path}: convolution {i} is {tuple(w.shape)} "
                                     f"{'with' if b is not None else 'without'} bias in the file, "
                                     f"{tuple(conv.weight.shape)} in the model")
                conv.weight.copy_(w)
                if b is not None:
                    conv.bias.copy_(b)
        return
    state = torch.load(path, map_location="cpu", weights_only=True)
    if not isinstance(state, dict) or state.get("format") != CHECKPOINT_FORMAT:
        raise ValueError(f"init_from {path}: expected an imgen-train checkpoint (.pt) or an ONNX file it exported")
    model.load_state_dict(state["state_dict"])


def resolve_task(o: TrainOptions) -> str:
    """The task of the run: the architecture's; ``--task`` may only confirm it."""
    task = archs.task_of(o.arch)
    if o.task not in (None, task):
        known = ", ".join(TASKS)
        raise ValueError(f"--arch {o.arch} is trained by task {task!r}, not {o.task!r} (tasks: {known})")
    return task


def _write_samples(out: Path, task: Task, step: int) -> None:
    grid = task.samples()
    if grid is not None:
        (out / "samples").mkdir(exist_ok=True)
        bgr = cv2.cvtColor(grid, cv2.COLOR_RGB2BGR) if grid.shape[2] == 3 else grid
        write_image(out / "samples" / f"step_{step:06d}.png", bgr)


def _logged_step(text: str) -> float:
    """The step of a log.csv row ("250", or "60000+bn" for the row after BN re-estimation)."""
    try:
        return int(text.split("+")[0])
    except ValueError:
        return math.inf


class _Log:
    """log.csv: step, the task's losses (means since the last row), lr, validation, seconds (wall
    clock since the run began, resumes included) and cpu_seconds (process CPU time, all threads)."""

    def __init__(self, path: Path, task: Task, fresh: bool):
        self.path, self.names = path, task.losses
        self.val = task.val_metric
        self.sums = dict.fromkeys(self.names, 0.0)
        self.count = 0
        if fresh or not path.exists():
            header = ["step", *self.names, "lr"] + ([f"val_{self.val}"] if self.val else []) + ["seconds", "cpu_seconds"]
            self._write(header)

    def drop_rows_after(self, step: int) -> None:
        """On resume: drop the rows logged after the checkpoint's ``step`` (those steps are run
        again), so each step is logged once; rewritten atomically."""
        with open(self.path, newline="") as f:
            rows = list(csv.reader(f))
        kept = rows[:1] + [r for r in rows[1:] if r and _logged_step(r[0]) <= step]
        if len(kept) == len(rows):
            return
        with atomic_write(self.path, mode=None) as tmp, open(tmp, "w", newline="") as f:
            csv.writer(f).writerows(kept)

    def _write(self, row: list) -> None:
        with open(self.path, "a", newline="") as f:
            csv.writer(f).writerow(row)

    def add(self, losses: dict[str, torch.Tensor]) -> None:
        for k in self.names:
            self.sums[k] += float(losses[k].detach())
        self.count += 1

    def row(self, step, lr: float | str, val: float | None, seconds: float, cpu_seconds: float) -> dict[str, float]:
        means = {k: v / max(self.count, 1) for k, v in self.sums.items()}
        losses = [f"{means[k]:.6g}" if self.count else "" for k in self.names]
        lr_text = f"{lr:.6g}" if isinstance(lr, float) else lr
        val_text = ([f"{val:.4f}" if val is not None else ""] if self.val else [])
        self._write([step, *losses, lr_text, *val_text, f"{seconds:.1f}", f"{cpu_seconds:.2f}"])
        self.sums, self.count = dict.fromkeys(self.names, 0.0), 0
        return means


# -- the loop ---------------------------------------------------------------------------------

def train(o: TrainOptions) -> dict:
    """Run (or resume) a training run; returns {"step", "seconds", "losses"} and, for tasks that
    validate, {"best_<metric>", "last_<metric>"} (and "final_<metric>" after BN re-estimation)."""
    task_name = resolve_task(o)
    if o.threads:
        torch.set_num_threads(o.threads)
    device = pick_device(o.device)
    out = Path(o.out)
    out.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(o.seed)

    model = archs.build(o.arch, **o.arch_options())
    model = model.to(device)
    if device.type == "cpu":
        model = model.to(memory_format=torch.channels_last)
    task = TASKS[task_name](model, o, device)
    groups = task.param_groups()
    betas = (o.adam_beta1, task.adam_betas[1]) if o.adam_beta1 is not None else task.adam_betas
    opts = {name: torch.optim.Adam(params, lr=o.lr, betas=betas) for name, params in groups.items()}
    scheds = {name: make_scheduler(opt, o) for name, opt in opts.items()}
    step, best, seconds, cpu_seconds = 0, -math.inf, 0.0, 0.0
    metric = task.val_metric

    last_path, best_path = out / "last.pt", out / "best.pt"
    if o.resume:
        if not last_path.exists():
            raise FileNotFoundError(f"--resume: no checkpoint {last_path}")
        state = torch.load(last_path, map_location="cpu", weights_only=False)
        model.load_state_dict(state["state_dict"])
        for name in opts:
            opts[name].load_state_dict(state["optimizers"][name])
            scheds[name].load_state_dict(state["schedulers"][name])
        task.load_state_dict(state.get("task_state", {}))
        step, best, seconds = state["step"], state.get("best", -math.inf), state.get("seconds", 0.0)
        cpu_seconds = state.get("cpu_seconds", 0.0)
        log.info("resumed %s at step %d", last_path, step)
    else:
        if o.init_from:
            load_initial_weights(model, o.init_from)
            log.info("initial weights from %s", o.init_from)
        (out / "log.csv").unlink(missing_ok=True)
    fake_quant = (FakeQuant(model, keep_float=parse_indices(o.fake_quant_float),
                            range_sigma=o.fake_quant_range_sigma / 255 if o.fake_quant_range_sigma > 0 else None)
                  if o.fake_quant else None)
    if fake_quant is not None and o.resume:
        if "fake_quant" not in state:
            raise ValueError(f"--resume --fake-quant: {last_path} was not trained with fake quantisation")
        fake_quant.load_state_dict(state["fake_quant"])
    csv_log = _Log(out / "log.csv", task, fresh=not o.resume)
    if o.resume:
        csv_log.drop_rows_after(step)
    (out / "options.json").write_text(json.dumps(dataclasses.asdict(o), indent=2))

    def update(name: str, loss: torch.Tensor) -> None:
        opt = opts[name]
        opt.zero_grad(set_to_none=True)
        loss.backward(inputs=groups[name])
        opt.step()

    amp_dtype = {"none": None, "bf16": torch.bfloat16, "fp16": torch.float16}[o.amp]
    bar = None
    if o.progress:
        from tqdm import tqdm

        bar = tqdm(total=o.iters, initial=step, desc=f"{o.arch} {task_name}", unit="it", dynamic_ncols=True)
    last_val, means = None, {}
    started = time.perf_counter() - seconds
    cpu_started = time.process_time() - cpu_seconds

    def checkpoint(path: Path) -> None:
        save_checkpoint(path, model, o, step, optimizers={k: v.state_dict() for k, v in opts.items()},
                        schedulers={k: v.state_dict() for k, v in scheds.items()}, task_state=task.state_dict(),
                        best=best, last_val=last_val, seconds=time.perf_counter() - started,
                        cpu_seconds=time.process_time() - cpu_started,
                        **({"fake_quant": fake_quant.state_dict()} if fake_quant is not None else {}))

    model.train()
    end = o.iters if o.stop_at is None else min(o.stop_at, o.iters)
    while step < end:
        batch = task.to_device(task.batch(step))
        with torch.autocast(device.type, dtype=amp_dtype, enabled=amp_dtype is not None):
            losses = task.step(batch, update)
        for sched in scheds.values():
            sched.step()
        step += 1
        csv_log.add(losses)
        if bar is not None:
            bar.update(1)
        val_now = metric is not None and (step % o.val_every == 0 or step == end)
        if step % o.log_every == 0 or val_now:
            if val_now:
                # The running BN statistics trail the weights (at lr 1e-3 they cost the colour run
                # 1.3 dB at step 32750 and made its curve swing 28.0-29.3 dB): validate, and keep
                # best.pt, with exact ones. Training uses batch statistics, so it is unaffected.
                task.recalibrate(o.val_bn_batches, o.iters + step)
                last_val = task.validate()
                if last_val > best:
                    best = last_val
                    checkpoint(best_path)
            lr = next(iter(scheds.values())).get_last_lr()[0]
            means = csv_log.row(step, lr, last_val if val_now else None, time.perf_counter() - started,
                               time.process_time() - cpu_started)
            if bar is not None:
                first = task.losses[0]
                post = {first: f"{means[first]:.3g}"}
                if metric:
                    post.update(val=f"{last_val:.2f}" if last_val is not None else "-", best=f"{best:.2f}")
                bar.set_postfix(post)
        if o.sample_every and (step % o.sample_every == 0 or step == end):
            _write_samples(out, task, step)
        if step % o.ckpt_every == 0 or step == end:
            checkpoint(last_path)
    if bar is not None:
        bar.close()
    result: dict = {"step": step, "seconds": time.perf_counter() - started, "losses": means}
    if metric:
        result.update({f"best_{metric}": best, f"last_{metric}": last_val})
    if step >= o.iters and o.bn_recalibrate > 0 and task.recalibrate(o.bn_recalibrate, o.iters):
        # The weights of the last step with exact BN statistics (the running ones follow the last
        # ~10 batches only): final.pt, and best.pt too when it validates better.
        final_val = task.validate() if metric else None
        extra = {"best": final_val, "last_val": final_val, "bn_recalibrated": o.bn_recalibrate}
        save_checkpoint(out / "final.pt", model, o, step, **extra)
        csv_log.row(f"{step}+bn", "", final_val, time.perf_counter() - started,
                    time.process_time() - cpu_started)
        if metric:
            result[f"final_{metric}"] = final_val
            if final_val > best:
                best = result[f"best_{metric}"] = final_val
                save_checkpoint(best_path, model, o, step, **extra)
        if o.sample_every:
            _write_samples(out, task, step)
    return result


# -- command line -----------------------------------------------------------------------------

def add_arguments(p: argparse.ArgumentParser) -> None:
    """One flag per TrainOptions field (--train-dir, --iters, ...)."""
    defaults = TrainOptions()
    help_text = {
        "train_dir": "folder of training images", "out": "run folder (checkpoints, log.csv)",
        "noise": "sigma on the 0-255 scale: '25' or 'LOW,HIGH' (uniform per patch)",
        "val_dir": "held-out validation folder (default: the last --val-count images of --train-dir)",
        "amp": "mixed precision: bf16 (CPU autocast) or fp16 (CUDA)", "resume": "continue from OUT/last.pt",
        "fake_quant": "quantisation-aware fine-tuning: every conv but the first and last with int8 weights "
                      "and every conv's input but the first on uint8, as `imgen export --int8` computes them "
                      "(needs no batch norm: start from an exported ONNX file with --no-batch-norm)",
        "fake_quant_float": "--fake-quant: the convs whose weights stay float, comma-separated indices in graph "
                            "order (negative from the end); `imgen export --int8` of the checkpoint keeps the "
                            "same convs float",
        "fake_quant_range_sigma": "--fake-quant: the activation ranges come from the patches with at least this "
                                  "noise sigma (0-255; int8 calibration uses 10-75): a net whose activations are "
                                  "far larger at sigma near 0 would otherwise set every range by them",
        "stop_at": "stop at this step; the LR schedule still spans --iters (continue with --resume)",
        "bn_recalibrate": "batches to re-estimate batch-norm statistics after the last step (writes final.pt)",
        "val_bn_batches": "batches to re-estimate batch-norm statistics before each validation (0: validate with "
                          "the running statistics)",
        "depth": "conv layers; cyclegan: residual blocks (default: the architecture's)",
        "width": "hidden channels", "train_dir_b": "cyclegan: folder of domain-B images (unpaired with A)",
        "task": "confirms the task; the architecture decides it",
        "init_from": "start from these weights instead of random ones: an imgen-train checkpoint or an ONNX "
                     "file exported from one (batch norm folded: train it with --no-batch-norm); a fresh "
                     "optimizer and schedule",
        "diffaugment": "gan, cyclegan: differentiable augmentation of real AND generated images before the discriminator "
                       "(Zhao et al. 2020), a comma list of color, translation, cutout",
        "cycle_loss": "cyclegan: distance of the cycle and identity terms, l1 (the paper's) or mse (no dead "
                      "zone at the identity: use with --residual)",
        "loss": "mse, l1, or (denoise) mse_sigma: each patch's MSE divided by sigma + 5/255 (times 25/255), "
                "so a dB counts about alike at every noise level",
        "blur_noise": "deblur: noise sigma (0-255) added after the blur, 'S' or 'LOW,HIGH'",
        "blur_gauss": "deblur: the width (sigma, px) of the Gaussian kernels of the training family (40%% of "
                      "the kernels; the rest are motion kernels of 9-25 px), 'S' or 'LOW,HIGH'",
        "activation": "srnet: the activation between the convs, prelu (per-channel slope) or relu (which "
                      "onnxruntime fuses into the conv)",
        "wiener_balance": "wiener_refine: the balance of the Wiener deconvolution whose output the network "
                          "corrects (default 0.01, imgen.restoration's)",
    }
    for f in dataclasses.fields(TrainOptions):
        flag = "--" + f.name.replace("_", "-")
        default = getattr(defaults, f.name)
        h = help_text.get(f.name, "") + (f" (default: {default})" if default not in (None, "") else "")
        if f.name in ("resume", "fake_quant"):
            p.add_argument(flag, action="store_true", help=h)
        elif f.name == "batch_norm":
            p.add_argument(flag, action=argparse.BooleanOptionalAction, default=None,
                           help="batch norm after the hidden convs (default: the architecture's)")
        elif f.name == "residual":
            p.add_argument(flag, action=argparse.BooleanOptionalAction, default=None,
                           help="cyclegan: generators output clamp(input + net(input)), starting at the identity")
        elif f.name == "progress":
            p.add_argument("--no-progress", dest="progress", action="store_false", help="no progress bar")
        elif f.name == "milestones":
            p.add_argument(flag, type=int, nargs="*", default=[], help="multistep: steps where lr is multiplied by gamma")
        elif f.name in ("arch",):
            p.add_argument(flag, default=default, choices=list(archs.ARCHS), help=h)
        elif f.name in ("task",):
            p.add_argument(flag, default=default, choices=list(TASKS), help=h)
        else:
            kind = {"int": int, "float": float, "int | None": int, "str | None": str,
                    "float | None": float}.get(str(f.type), str)
            p.add_argument(flag, type=kind, default=default, required=f.name == "train_dir", help=h)


def options_from_args(args: argparse.Namespace) -> TrainOptions:
    names = {f.name for f in dataclasses.fields(TrainOptions)}
    return TrainOptions(**{k: v for k, v in vars(args).items() if k in names})


def load_config(path: str | os.PathLike) -> dict:
    """TrainOptions fields from a TOML file (keys as field names, '-' or '_'); unknown keys raise."""
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        import tomli as tomllib  # type: ignore[no-redef]
    with open(path, "rb") as f:
        table = tomllib.load(f)
    names = {f.name for f in dataclasses.fields(TrainOptions)}
    values = {k.replace("-", "_"): v for k, v in table.items()}
    unknown = set(values) - names
    if unknown:
        raise ValueError(f"{path}: unknown option(s) {', '.join(sorted(unknown))}; options: {', '.join(sorted(names))}")
    return values


def parse_options(argv: list[str] | None, prog: str) -> TrainOptions:
    """TrainOptions from command-line flags; ``--config FILE.toml`` supplies defaults that flags override."""
    pre = argparse.ArgumentParser(add_help=False)
    pre.add_argument("--config")
    known, _ = pre.parse_known_args(argv)
    p = argparse.ArgumentParser(prog=prog, description=__doc__.splitlines()[0])
    p.add_argument("--config", help="a TOML file of options (flags given as well override it)")
    add_arguments(p)
    if known.config:
        config = load_config(known.config)
        p.set_defaults(**config)
        for action in p._actions:
            if action.dest in config:
                action.required = False
    return options_from_args(p.parse_args(argv))


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="imgen_train: %(message)s")
    result = train(parse_options(argv, "python -m imgen_train.train"))
    print(json.dumps(result))
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
