"""``imgen import FILE -o model.onnx``: a published checkpoint (needs PyTorch), a MatConvNet ``.mat``
(PyTorch and h5py) or a third-party ``.onnx`` file (onnx only) to an imgen ONNX file; docs/import.md."""
from __future__ import annotations

import argparse
import json
from pathlib import Path

from ._args import add_info_argument
from ._torch import add_checkpoint_arguments, import_train_module, run_reporting, show_progress


def add_parser(sub) -> None:
    p = sub.add_parser("import", help="convert a published checkpoint or adopt an ONNX file (docs/import.md)",
                       description="Turn a published model into a self-describing imgen ONNX file: .pth/.pt/.ckpt/"
                                   ".safetensors checkpoints (imgen-train, KAIR DnCNN/FFDNet, every architecture "
                                   "spandrel knows, the DnCNN/VDSR/SRCNN/FSRCNN/ESPCN/CARN/RLFN/IMDN/RFDN "
                                   "families; needs imgen[import]), Keras .h5 Conv/BN/ReLU stacks, MatConvNet "
                                   "DnCNN/FFDNet .mat files, or a third-party .onnx file (its graph read and "
                                   "probed, imgen metadata written).")
    add_checkpoint_arguments(p, "a .pth/.pt/.ckpt/.safetensors checkpoint, a Keras .h5, a MatConvNet .mat or an "
                                ".onnx file")
    p.add_argument("--trust-pickle", action="store_true",
                   help="read a checkpoint that holds a whole pickled nn.Module (or a dict holding one) with imgen's "
                        "restricted unpickler: it rebuilds the tensors with inert stand-ins for the classes the file "
                        "names and calls nothing else (a file crafted against the unpickler itself remains a risk: "
                        "UNSAFE for files you do not trust)")
    p.add_argument("--scale", type=int, choices=(2, 3, 4, 8), metavar="{2,3,4,8}",
                   help="the scale to export of a network that serves several (CARN: one ONNX file per scale) or "
                        "whose scale is not in its weights (VDSR, SRCNN, FSRCNN)")
    add_info_argument(p)
    p.set_defaults(func=main)


def _adopt(args: argparse.Namespace) -> int:
    from ..adopt import adopt

    result = adopt(args.checkpoint, args.output, metadata=dict(args.info))
    info = result.info if args.name is None else result.info.replace(name=args.name)
    if args.name is not None:
        from ..adopt import write_metadata

        write_metadata(args.output, args.output, info)
    print(json.dumps({"path": str(args.output), "metadata": info.to_metadata(), "inferred": list(info.inferred),
                      "how": result.notes}, indent=2))
    return 0


def main(args: argparse.Namespace) -> int:
    if Path(args.checkpoint).suffix.lower() == ".onnx":
        return _adopt(args)
    convert = import_train_module("convert", "import")
    show_progress()
    report = run_reporting(convert.export_checkpoint, args.checkpoint, args.output, name=args.name, atol=args.atol,
                           trust_pickle=args.trust_pickle, metadata=dict(args.info), scale=args.scale,
                           skip_parity=args.skip_parity)
    print(report.to_json())
    return 0
