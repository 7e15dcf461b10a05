"""How much tiling changes an instance-norm generator's output: a random-init CycleGAN
ResnetGenerator (junyanz layout, 9 blocks, ngf 64, weights N(0, 0.02) as the reference's
``init_weights('normal')``), imported and exported by imgen, run on a photo whole and in tiles.

    PYTHONPATH=python:export python benchmarks/instance_norm_tiling.py [--size 512] [--work /tmp/x]

Image: scikit-image's astronaut resized to SIZE x SIZE (area).  Whole: imgen.load(model)(img)
(the default for whole_image models); tiled: tile 128 and 256 with overlap 32 and 64.  Reported:
PSNR of the tiled output against the whole-image output (uint8) and the largest pixel difference.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import cv2
import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO / "python"), str(REPO / "export")]

import imgen  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--size", type=int, default=512)
    p.add_argument("--work", help="folder for the checkpoint and ONNX file (default: a temporary one)")
    args = p.parse_args(argv)

    import skimage.data
    import torch

    from imgen_train.convert import export_checkpoint
    from imgen_train.import_generative import ResnetGenerator

    torch.manual_seed(0)
    net = ResnetGenerator(3, 3, 64, "instance", 9, False)
    for m in net.modules():
        if isinstance(m, (torch.nn.Conv2d, torch.nn.ConvTranspose2d)):
            torch.nn.init.normal_(m.weight, 0.0, 0.02)
            torch.nn.init.zeros_(m.bias)
    work = Path(args.work or tempfile.mkdtemp())
    work.mkdir(parents=True, exist_ok=True)
    torch.save(net.state_dict(), work / "latest_net_G_A.pth")
    export_checkpoint(work / "latest_net_G_A.pth", work / "resnet9.onnx")
    model = imgen.load(str(work / "resnet9.onnx"))
    img = cv2.resize(skimage.data.astronaut(), (args.size, args.size), interpolation=cv2.INTER_AREA)
    whole = model(img)
    print(f"model whole_image={model.info.whole_image}, tile={model.info.tile}; image {args.size}x{args.size}")
    for tile, overlap in ((128, 32), (256, 32), (256, 64)):
        tiled = model(img, tile=tile, overlap=overlap)
        diff = np.abs(tiled.astype(int) - whole.astype(int))
        mse = np.mean(diff.astype(np.float64) ** 2)
        print(f"tile {tile} overlap {overlap}: PSNR vs whole {10 * np.log10(255**2 / mse):.2f} dB, "
              f"max difference {diff.max()} gray levels, mean {diff.mean():.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
