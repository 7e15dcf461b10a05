"""Can the CycleGAN's discriminator see a translation at all?  Trains the PatchGAN alone as a
classifier of domain-A against domain-B crops (least-squares targets 0 / 1, Adam beta1 0.5 as in
training) and prints, every 50 steps, the loss and the share of crops it puts on the right side of
0.5 (mean patch score), over those 50 steps' crops:

    PYTHONPATH=python:export python benchmarks/studies/cyclegan_disc_probe.py --data gen-data/smooth \
        [--lr 2e-4] [--diffaugment color,translation] [--steps 400] [--patch 64] [--width 32]

A transform the discriminator cannot pick out of single crops gives the generators nothing to learn
from (docs/experiments.md: on the smooth tiles 0.75 by step 400, 0.63 with colour and translation
augmented; on the stylize tiles 0.82).
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(REPO / "python"), str(REPO / "export")]


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", required=True, help="a folder with trainA/ and trainB/")
    p.add_argument("--lr", type=float, default=2e-4)
    p.add_argument("--diffaugment", default="", help="e.g. color,translation (imgen_train.diffaugment)")
    p.add_argument("--steps", type=int, default=400)
    p.add_argument("--patch", type=int, default=64)
    p.add_argument("--batch", type=int, default=4)
    p.add_argument("--width", type=int, default=32, help="the discriminator's first-layer channels")
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)
    data = Path(args.data)
    if not (data / "trainA").is_dir() or not (data / "trainB").is_dir():
        p.error(f"--data {data} needs trainA/ and trainB/ (tools/generative-trainsets OUT writes them)")

    import torch

    from imgen_train.archs.cyclegan import PatchDiscriminator
    from imgen_train.data import ImageSampler, list_images, load_images
    from imgen_train.diffaugment import diff_augment, parse_policy

    torch.set_num_threads(1)
    torch.manual_seed(args.seed)
    policy = parse_policy(args.diffaugment)
    gen = torch.Generator().manual_seed(args.seed)
    seen = (lambda x: diff_augment(x, policy, gen)) if policy else (lambda x: x)  # noqa: E731
    sample = [ImageSampler(load_images(list_images(data / d), 3), batch=args.batch, seed=args.seed + k,
                           patch=args.patch) for k, d in enumerate(("trainA", "trainB"))]
    d = PatchDiscriminator(3, args.width)
    opt = torch.optim.Adam(d.parameters(), args.lr, betas=(0.5, 0.999))
    right: list[float] = []
    for step in range(1, args.steps + 1):
        a, b = (s.batch(step) * 2 - 1 for s in sample)
        score_a, score_b = d(seen(a)), d(seen(b))
        loss = 0.5 * ((score_b - 1).pow(2).mean() + score_a.pow(2).mean())
        opt.zero_grad()
        loss.backward()
        opt.step()
        right += (score_a.mean((1, 2, 3)) < 0.5).tolist() + (score_b.mean((1, 2, 3)) > 0.5).tolist()
        if step % 50 == 0:
            print(f"step {step}: loss {loss.item():.3f}, crops classified right {np.mean(right[-100 * args.batch:]):.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
