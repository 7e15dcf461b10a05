"""``imgen export CHECKPOINT -o model.onnx``: a trained checkpoint to an imgen ONNX model (needs PyTorch)."""
from __future__ import annotations

import argparse

from ._torch import add_checkpoint_arguments, import_train_module, run_reporting, show_progress


def add_parser(sub) -> None:
    p = sub.add_parser("export", help="export a checkpoint to ONNX (needs imgen[train])",
                       description="Export a checkpoint to an ONNX model with imgen metadata; onnxruntime is "
                                   "checked against torch at odd sizes and the file is not kept if they differ.")
    add_checkpoint_arguments(p, "an imgen-train checkpoint (or a state dict `imgen import` recognises)")
    p.add_argument("--description", help="imgen.description metadata")
    p.add_argument("--fp16", action="store_true", help="also write NAME.fp16.onnx (checked against fp32)")
    p.add_argument("--int8", action="store_true",
                   help="also write NAME.int8.onnx: static int8 (QDQ, per-channel weights, first and last conv "
                        "float), calibrated on natural images (gray or colour as the model); refused if it strays from the float model")
    p.add_argument("--calibration", metavar="DIR",
                   help="images to calibrate --int8 on (default $IMGEN_SHARED/data/train400; bsds400_color for "
                        "colour models)")
    p.add_argument("--int8-search-float", type=int, default=0, metavar="N",
                   help="with --int8: leave N more convs float, chosen greedily by how close each makes the int8 "
                        "output to the float one on held-out patches (one quantisation per candidate, ~20 s each "
                        "for a 12-layer denoiser); the shipped denoise-gray-int8 used 3")
    p.add_argument("--measure", action="store_true", help="time each variant on a 256x256 image (CPU)")
    p.set_defaults(func=main)


def main(args: argparse.Namespace) -> int:
    convert = import_train_module("convert", "export")
    show_progress()
    report = run_reporting(convert.export_checkpoint, args.checkpoint, args.output, name=args.name,
                           description=args.description, atol=args.atol, fp16=args.fp16, int8=args.int8,
                           measure=args.measure, skip_parity=args.skip_parity, calibration=args.calibration,
                           int8_search_float=args.int8_search_float)
    print(report.to_json())
    return 0
