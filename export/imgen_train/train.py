"""One generic training loop; each task contributes a small ``step(model, batch) -> dict[str, Tensor]``.

    python -m imgen_train.train --arch ffdnet --train-dir DIR --noise 0,75 --out runs/x
    imgen train ...   (the same options)

Options live in ``TrainOptions`` (a dataclass: CLI flags are its fields).  A run directory holds
``last.pt`` (resumable: model, optimizer, scheduler, step), ``best.pt`` (highest validation PSNR),
``log.csv`` (step, loss, lr, val PSNR, seconds) and ``options.json``.  Batch k depends only on
(seed, k), so ``--resume`` continues exactly where an interrupted run stopped.
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
from typing import Callable

import torch
from torch import nn

from . import archs
from .data import NoiseSpec, PatchSampler, list_images, validation_set

log = logging.getLogger("imgen_train")

CHECKPOINT_FORMAT = "imgen-train"
CHECKPOINT_VERSION = 1


@dataclass
class TrainOptions:
    """Everything a run depends on (saved in options.json and in every checkpoint)."""

    train_dir: str = ""
    out: str = "runs/train"
    task: str = "denoise"
    arch: str = "ffdnet"
    channels: int = 1
    depth: int | None = None        # None = the architecture's default
    width: int | None = None
    batch_norm: bool | None = None  # None = the architecture's default
    noise: str = "0,75"             # sigma on the 0-255 scale: "25" or "LOW,HIGH"
    patch: int = 64
    batch: int = 32
    iters: int = 10000
    lr: float = 1e-3
    lr_min: float = 1e-5
    schedule: str = "cosine"        # cosine | multistep
    milestones: list[int] = field(default_factory=list)  # multistep: lr *= gamma at these steps
    gamma: float = 0.1
    loss: str = "mse"               # mse | l1
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
    resume: bool = False
    stop_at: int | None = None      # stop at this step (the schedule still spans iters); --resume continues
    progress: bool = True

    def arch_options(self) -> dict:
        opts = {"in_channels": self.channels}
        if self.depth is not None:
            opts["depth"] = self.depth
        if self.width is not None:
            opts["width"] = self.width
        if self.batch_norm is not None:
            opts["batch_norm"] = self.batch_norm
        return opts


# -- tasks ------------------------------------------------------------------------------------

def _denoise_output(model: nn.Module, noisy: torch.Tensor, sigma: torch.Tensor) -> torch.Tensor:
    return model(noisy, sigma) if getattr(model, "noise_input", False) else model(noisy)


def denoise_step(model: nn.Module, batch: dict[str, torch.Tensor], loss: str = "mse") -> dict[str, torch.Tensor]:
    """Noisy -> clean; returns {"loss"} (the tensor to minimise)."""
    out = _denoise_output(model, batch["noisy"], batch["sigma"]).float()
    diff = out - batch["clean"]
    value = diff.abs().mean() if loss == "l1" else diff.square().mean()
    return {"loss": value}


TASKS: dict[str, Callable[..., dict[str, torch.Tensor]]] = {"denoise": denoise_step}


# -- helpers ----------------------------------------------------------------------------------

def pick_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise RuntimeError("--device cuda was asked for but torch sees no CUDA device")
    return torch.device(name)


def psnr(a: torch.Tensor, b: torch.Tensor) -> float:
    """PSNR in dB of two [0, 1] tensors."""
    mse = torch.mean((a.double() - b.double()) ** 2).item()
    return float("inf") if mse == 0 else 10 * math.log10(1.0 / mse)


@torch.no_grad()
def evaluate(model: nn.Module, items: list[dict[str, torch.Tensor]], device: torch.device) -> float:
    """Mean PSNR (dB) of the clipped outputs; images reflect-padded to the model's size multiple."""
    model.eval()
    scores = []
    multiple = getattr(model, "size_multiple", 1)
    for item in items:
        noisy = item["noisy"].to(device)
        h, w = noisy.shape[-2:]
        ph, pw = (-h) % multiple, (-w) % multiple
        if ph or pw:
            noisy = nn.functional.pad(noisy, (0, pw, 0, ph), mode="reflect")
        out = _denoise_output(model, noisy, item["sigma"].to(device))[..., :h, :w]
        scores.append(psnr(out.clamp(0, 1).cpu(), item["clean"]))
    model.train()
    return sum(scores) / len(scores)


def lr_factor(step: int, o: TrainOptions) -> float:
    """Learning-rate multiplier at ``step``: a closed form of the options, so a resumed run may
    change ``--iters`` (the schedule is stretched from then on)."""
    if o.schedule == "cosine":
        t = min(step, o.iters) / max(o.iters, 1)
        floor = o.lr_min / o.lr
        return floor + (1 - floor) * 0.5 * (1 + math.cos(math.pi * t))
    if o.schedule == "multistep":
        milestones = o.milestones or [int(o.iters * 0.5), int(o.iters * 0.75)]
        return o.gamma ** sum(step >= m for m in milestones)
    raise ValueError(f"schedule must be 'cosine' or 'multistep', got {o.schedule!r}")


@torch.no_grad()
def recalibrate_batch_norm(model: nn.Module, sampler: PatchSampler, batches: int, first_step: int,
                           device: torch.device) -> bool:
    """Replace the running (exponential) BN statistics by exact averages over ``batches`` fresh
    training batches (steps first_step, first_step + 1, ...); False when the model has no BN."""
    bns = [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    if not bns or batches <= 0:
        return False
    momenta = [m.momentum for m in bns]
    for m in bns:
        m.reset_running_stats()
        m.momentum = None  # cumulative average
    model.train()
    for k in range(batches):
        batch = {k2: v.to(device) for k2, v in sampler.batch(first_step + k).items()}
        _denoise_output(model, batch["noisy"], batch["sigma"])
    for m, momentum in zip(bns, momenta):
        m.momentum = momentum
    return True


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
    tmp = path.with_name(path.name + ".tmp")
    torch.save(state, tmp)
    os.replace(tmp, path)


def load_model(checkpoint: str | os.PathLike | dict) -> tuple[nn.Module, dict]:
    """(model in eval mode, checkpoint dict) from one of our checkpoints."""
    state = checkpoint if isinstance(checkpoint, dict) else torch.load(checkpoint, map_location="cpu", weights_only=True)
    if state.get("format") != CHECKPOINT_FORMAT:
        raise ValueError(f"{checkpoint} is not an imgen-train checkpoint (use import_checkpoint for others)")
    model = archs.ARCHS[state["arch"]].cls(archs.config_for(state["arch"], **state["config"]))
    model.load_state_dict(state["state_dict"])
    return model.eval(), state


# -- the loop ---------------------------------------------------------------------------------

def train(o: TrainOptions) -> dict:
    """Run (or resume) a training run; returns {"step", "best_psnr", "last_psnr", "seconds"}."""
    if o.task not in TASKS:
        raise ValueError(f"unknown task {o.task!r}; known: {', '.join(TASKS)}")
    if o.threads:
        torch.set_num_threads(o.threads)
    device = pick_device(o.device)
    out = Path(o.out)
    out.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(o.seed)

    model = archs.build(o.arch, **o.arch_options())
    multiple = getattr(model, "size_multiple", 1)
    if o.patch % multiple:
        raise ValueError(f"--patch {o.patch} must be a multiple of {multiple} for {o.arch}")
    noise = NoiseSpec.parse(o.noise)
    if o.val_dir:
        val_files, exclude = list_images(o.val_dir), 0
    else:
        val_files, exclude = list_images(o.train_dir)[-o.val_count:], o.val_count
    sampler = PatchSampler.from_folder(o.train_dir, channels=o.channels, exclude=exclude,
                                       patch=o.patch, batch=o.batch, noise=noise, seed=o.seed)
    val = validation_set(val_files, channels=o.channels, sigma=o.val_sigma, seed=o.seed + 1)

    channels_last = device.type == "cpu"
    model = model.to(device)
    if channels_last:
        model = model.to(memory_format=torch.channels_last)
    opt = torch.optim.Adam(model.parameters(), lr=o.lr)
    sched = make_scheduler(opt, o)
    step, best, seconds = 0, -math.inf, 0.0

    last_path, best_path, csv_path = out / "last.pt", out / "best.pt", out / "log.csv"
    if o.resume:
        if not last_path.exists():
            raise FileNotFoundError(f"--resume: no checkpoint {last_path}")
        state = torch.load(last_path, map_location="cpu", weights_only=False)
        model.load_state_dict(state["state_dict"])
        opt.load_state_dict(state["optimizer"])
        sched.load_state_dict(state["scheduler"])
        step, best, seconds = state["step"], state.get("best_psnr", -math.inf), state.get("seconds", 0.0)
        log.info("resumed %s at step %d (best val PSNR %.3f dB)", last_path, step, best)
    else:
        with open(csv_path, "w", newline="") as f:
            csv.writer(f).writerow(["step", "loss", "lr", "val_psnr", "seconds"])
    (out / "options.json").write_text(json.dumps(dataclasses.asdict(o), indent=2))

    amp_dtype = {"none": None, "bf16": torch.bfloat16, "fp16": torch.float16}[o.amp]
    step_fn = TASKS[o.task]
    bar = None
    if o.progress:
        from tqdm import tqdm

        bar = tqdm(total=o.iters, initial=step, desc=f"{o.arch} {o.task}", unit="it", dynamic_ncols=True)
    running, count, last_val = 0.0, 0, None
    started = time.perf_counter() - seconds

    def checkpoint(path: Path) -> None:
        save_checkpoint(path, model, o, step, optimizer=opt.state_dict(), scheduler=sched.state_dict(),
                        best_psnr=best, last_psnr=last_val, seconds=time.perf_counter() - started)

    model.train()
    end = o.iters if o.stop_at is None else min(o.stop_at, o.iters)
    while step < end:
        batch = {k: v.to(device) for k, v in sampler.batch(step).items()}
        if channels_last:
            batch = {k: v.contiguous(memory_format=torch.channels_last) if v.dim() == 4 else v
                     for k, v in batch.items()}
        with torch.autocast(device.type, dtype=amp_dtype, enabled=amp_dtype is not None):
            losses = step_fn(model, batch, loss=o.loss)
        opt.zero_grad(set_to_none=True)
        losses["loss"].backward()
        opt.step()
        sched.step()
        step += 1
        running += losses["loss"].item()
        count += 1
        if bar is not None:
            bar.update(1)
        val_now = step % o.val_every == 0 or step == end
        if step % o.log_every == 0 or val_now:
            row_val = ""
            if val_now:
                last_val = evaluate(model, val, device)
                row_val = f"{last_val:.4f}"
                if last_val > best:
                    best = last_val
                    checkpoint(best_path)
            loss_mean = running / max(count, 1)
            with open(csv_path, "a", newline="") as f:
                csv.writer(f).writerow([step, f"{loss_mean:.6g}", f"{sched.get_last_lr()[0]:.6g}", row_val,
                                        f"{time.perf_counter() - started:.1f}"])
            if bar is not None:
                bar.set_postfix(loss=f"{loss_mean:.2e}", val=f"{last_val:.2f}" if last_val else "-", best=f"{best:.2f}")
            running, count = 0.0, 0
        if step % o.ckpt_every == 0 or step == end:
            checkpoint(last_path)
    if bar is not None:
        bar.close()
    result = {"step": step, "best_psnr": best, "last_psnr": last_val, "seconds": time.perf_counter() - started}
    if step >= o.iters and recalibrate_batch_norm(model, sampler, o.bn_recalibrate, o.iters, device):
        # The weights of the last step with exact BN statistics (the running ones follow the last
        # ~10 batches only): final.pt, and best.pt too when it validates better.
        final_val = evaluate(model, val, device)
        result["final_psnr"] = final_val
        save_checkpoint(out / "final.pt", model, o, step, best_psnr=final_val, last_psnr=final_val,
                        bn_recalibrated=o.bn_recalibrate)
        with open(csv_path, "a", newline="") as f:
            csv.writer(f).writerow([f"{step}+bn", "", "", f"{final_val:.4f}", f"{time.perf_counter() - started:.1f}"])
        if final_val > best:
            best = result["best_psnr"] = final_val
            save_checkpoint(best_path, model, o, step, best_psnr=best, last_psnr=final_val,
                            bn_recalibrated=o.bn_recalibrate)
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
        "stop_at": "stop at this step; the LR schedule still spans --iters (continue with --resume)",
        "bn_recalibrate": "batches to re-estimate batch-norm statistics after the last step (writes final.pt)",
        "depth": "conv layers (default: the architecture's)", "width": "hidden channels",
    }
    for f in dataclasses.fields(TrainOptions):
        flag = "--" + f.name.replace("_", "-")
        default = getattr(defaults, f.name)
        h = help_text.get(f.name, "") + (f" (default: {default})" if default not in (None, "") else "")
        if f.name == "resume":
            p.add_argument(flag, action="store_true", help=h)
        elif f.name == "batch_norm":
            p.add_argument(flag, action=argparse.BooleanOptionalAction, default=None,
                           help="batch norm after the hidden convs (default: the architecture's)")
        elif f.name == "progress":
            p.add_argument("--no-progress", dest="progress", action="store_false", help="no progress bar")
        elif f.name == "milestones":
            p.add_argument(flag, type=int, nargs="*", default=[], help="multistep: steps where lr is multiplied by gamma")
        elif f.name in ("arch",):
            p.add_argument(flag, default=default, choices=list(archs.ARCHS), help=h)
        elif f.name in ("task",):
            p.add_argument(flag, default=default, choices=list(TASKS), help=h)
        else:
            kind = {"int": int, "float": float, "int | None": int, "str | None": str}.get(str(f.type), str)
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
