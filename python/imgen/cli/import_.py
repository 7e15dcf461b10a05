"""``imgen import CHECKPOINT.pth -o model.onnx``: recognise a published checkpoint and export it (needs PyTorch)."""
from __future__ import annotations

import argparse

from ._torch import add_checkpoint_arguments, import_train_module, run_reporting


def add_parser(sub) -> None:
    p = sub.add_parser("import", help="convert a published checkpoint to ONNX (needs imgen[train])",
                       description="Detect a checkpoint's architecture from its weights (KAIR DnCNN/FFDNet, "
                                   "imgen-train) and export it with imgen metadata.")
    add_checkpoint_arguments(p, "a .pth/.pt file")
    p.set_defaults(func=main)


def main(args: argparse.Namespace) -> int:
    convert = import_train_module("convert", "import")
    report = run_reporting(convert.export_checkpoint, args.checkpoint, args.output, name=args.name, atol=args.atol)
    print(report.to_json())
    return 0
