"""``imgen train ...``: train a model with imgen_train (needs PyTorch; options: ``imgen train --help``)."""
from __future__ import annotations

import argparse
import json

from ._torch import import_train_module, run_reporting


def add_parser(sub) -> None:
    p = sub.add_parser("train", help="train a model (needs imgen[train])", add_help=False,
                       description="Train a model; every option is listed by `imgen train --help` (needs PyTorch).")
    # The options are defined by imgen_train.train.TrainOptions (torch is imported only when the
    # command runs), so everything after `train` is passed through to that parser.
    p.set_defaults(func=main, passthrough=True, options=[])


def main(args: argparse.Namespace) -> int:
    train = import_train_module("train", "train")
    opts = run_reporting(train.parse_options, args.options, "imgen train")
    result = run_reporting(train.train, opts)
    print(json.dumps(result))
    return 0
