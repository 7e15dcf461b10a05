"""Recognise a checkpoint's architecture from its state dict (spandrel-style) and load it.

    imgen import dncnn_25.pth -o dncnn25.onnx     (imgen_train.convert; other architectures: import_spandrel)

Recognised: imgen-train checkpoints (they name their architecture and config), KAIR DnCNN with
batch norm merged (``model.0.weight``, ``model.2.weight``, ... ``model.N.weight``: 3x3 convs with
ReLUs between them, residual output) and KAIR FFDNet (the same layout on 4C+1 -> 4C channels,
direct output).  Anything else raises UnknownCheckpointError naming what was found and what each
detector expected.  Detectors are listed in one place (``DETECTORS``), in the order they are tried;
published families spandrel does not know are in ``families`` (tried by convert after spandrel).

``read_checkpoint`` names a file that is not a checkpoint from its leading bytes (file_kind) and reads
pickled modules only with ``trust_pickle``, through the restricted unpickler (safe_unpickle).
"""
from __future__ import annotations

import re
from pathlib import Path
from typing import Callable, Mapping

import torch
from torch import nn

from . import archs
from .import_errors import Mismatch
from .train import CHECKPOINT_FORMAT, load_model


class UnknownCheckpointError(ValueError):
    """No detector recognised the checkpoint, or one recognised it but the shapes do not fit."""


StateDict = Mapping[str, torch.Tensor]
_CONV_KEY = re.compile(r"^model\.(\d+)\.(weight|bias)$")


def _conv_chain(sd: StateDict) -> list[tuple[int, torch.Tensor, torch.Tensor | None]] | None:
    """[(index, weight, bias)] when every key is model.<i>.weight/bias, else None."""
    layers: dict[int, dict[str, torch.Tensor]] = {}
    for key, value in sd.items():
        m = _CONV_KEY.match(key)
        if not m:
            return None
        layers.setdefault(int(m.group(1)), {})[m.group(2)] = value
    if not layers:
        return None
    return [(i, layers[i].get("weight"), layers[i].get("bias")) for i in sorted(layers)]


def _check_chain(chain, family: str) -> tuple[int, int, int]:
    """(depth, width, in_channels, out_channels) of a plain 3x3 conv chain (indices 0, 2, 4, ...)."""
    indices = [i for i, _, _ in chain]
    expected = list(range(0, 2 * len(chain), 2))
    if indices != expected:
        raise Mismatch(f"{family}: conv indices {indices[:6]}{'...' if len(indices) > 6 else ''}; expected "
                       f"0, 2, 4, ... (conv, ReLU, conv, ...) with batch norm merged into the biases")
    for i, w, b in chain:
        if w is None or w.dim() != 4 or tuple(w.shape[2:]) != (3, 3):
            shape = None if w is None else tuple(w.shape)
            raise Mismatch(f"{family}: model.{i}.weight has shape {shape}; expected (out, in, 3, 3)")
        if b is None or tuple(b.shape) != (w.shape[0],):
            raise Mismatch(f"{family}: model.{i}.bias missing or not ({w.shape[0]},); batch norm must be merged")
    width = chain[0][1].shape[0]
    for (i, w, _), (j, prev, _) in zip(chain[1:], chain[:-1]):
        if w.shape[1] != prev.shape[0]:
            raise Mismatch(f"{family}: model.{i}.weight takes {w.shape[1]} channels but model.{j} gives {prev.shape[0]}")
    for i, w, _ in chain[1:-1]:
        if w.shape[0] != width:
            raise Mismatch(f"{family}: model.{i}.weight has {w.shape[0]} outputs; expected the width {width}")
    return len(chain), width, chain[0][1].shape[1], chain[-1][1].shape[0]


def detect_kair_dncnn(sd: StateDict) -> tuple[str, dict] | None:
    chain = _conv_chain(sd)
    if chain is None or chain[0][1] is None or chain[0][1].dim() != 4:
        return None
    if chain[0][1].shape[1] not in (1, 3):
        return None
    depth, width, cin, cout = _check_chain(chain, "KAIR DnCNN")
    if cout != cin:
        raise Mismatch(f"KAIR DnCNN: {cin} input channels but {cout} output channels; expected them equal")
    return "dncnn", {"in_channels": cin, "depth": depth, "width": width, "residual": True, "batch_norm": False}


def detect_kair_ffdnet(sd: StateDict) -> tuple[str, dict] | None:
    chain = _conv_chain(sd)
    if chain is None or chain[0][1] is None or chain[0][1].dim() != 4:
        return None
    if chain[0][1].shape[1] not in (5, 13):
        return None
    depth, width, cin, cout = _check_chain(chain, "KAIR FFDNet")
    c = (cin - 1) // 4
    if cout != 4 * c:
        raise Mismatch(f"KAIR FFDNet: first conv takes {cin} = 4*{c}+1 channels, last gives {cout}; expected {4 * c}")
    return "ffdnet", {"in_channels": c, "depth": depth, "width": width, "residual": False, "batch_norm": False}


Detector = Callable[[StateDict], "tuple[str, dict] | None"]
DETECTORS: dict[str, Detector] = {
    "KAIR DnCNN (model.0.weight ... model.N.weight, 1 or 3 channels in and out, BN merged)": detect_kair_dncnn,
    "KAIR FFDNet (model.0.weight ... model.N.weight, 4C+1 channels in, 4C out, BN merged)": detect_kair_ffdnet,
}
from . import import_generative  # noqa: E402  (CycleGAN/pix2pix and DCGAN generators)
DETECTORS.update(import_generative.LAYOUTS)


def _unwrap(obj) -> StateDict:
    """The state dict inside common containers ({"params_ema"}, {"params"}, {"state_dict"}, {"model"}, a
    module recovered by safe_unpickle beside an epoch counter, ...); a DataParallel ``module.`` prefix removed."""
    if isinstance(obj, nn.Module):
        return obj.state_dict()
    if isinstance(obj, Mapping) and not all(isinstance(v, torch.Tensor) for v in obj.values()):
        from .safe_unpickle import state_dict_of

        found = state_dict_of(obj)
        if found:
            obj = found
    if not isinstance(obj, Mapping):
        raise UnknownCheckpointError(f"expected a state dict (a mapping of tensors), found {type(obj).__name__}")
    for key in ("params_ema", "params", "state_dict", "model"):
        if key in obj and isinstance(obj[key], Mapping):
            return _unwrap(obj[key])
    sd = {k.removeprefix("module."): v for k, v in obj.items()}
    bad = [k for k, v in sd.items() if not isinstance(v, torch.Tensor)]
    if bad:
        raise UnknownCheckpointError(f"expected a state dict of tensors; {bad[0]!r} is a {type(sd[bad[0]]).__name__}")
    return sd


def _summary(sd: StateDict, limit: int = 6) -> str:
    items = [f"{k} {tuple(v.shape)}" for k, v in list(sd.items())[:limit]]
    more = f", ... ({len(sd)} tensors)" if len(sd) > limit else ""
    return ", ".join(items) + more


def detect(state_dict: StateDict) -> tuple[str, dict]:
    """(architecture name, config options) for a raw state dict; raises UnknownCheckpointError."""
    sd = _unwrap(state_dict)
    if not sd:
        raise UnknownCheckpointError("the checkpoint holds no tensors")
    for detector in DETECTORS.values():
        try:
            found = detector(sd)
        except Mismatch as e:
            raise UnknownCheckpointError(f"{e}. Found: {_summary(sd)}") from None
        if found is not None:
            return found
    expected = "; ".join(DETECTORS) + "; or an imgen-train checkpoint"
    raise UnknownCheckpointError(f"unrecognised checkpoint. Found: {_summary(sd)}. Expected one of: {expected}")


def model_from_state_dict(state_dict: StateDict) -> nn.Module:
    """Build the detected architecture and load the weights (eval mode)."""
    sd = _unwrap(state_dict)
    name, options = detect(sd)
    if name in import_generative.NAMES:
        try:
            return import_generative.load(name, options, sd)
        except Mismatch as e:
            raise UnknownCheckpointError(str(e)) from None
    model = archs.build(name, **options)
    missing, unexpected = model.load_state_dict(sd, strict=False)
    if missing or unexpected:
        raise UnknownCheckpointError(f"detected {name} {options} but the weights do not fit: "
                                     f"missing {missing[:4]}, unexpected {unexpected[:4]}")
    return model.eval()


def _describe(model: nn.Module, state: Mapping) -> str:
    """The metadata description of one of our checkpoints: what, trained on what, how long."""
    o = state.get("options", {})
    task = archs.task_of(state["arch"])
    data = Path(o.get("train_dir") or "?").name
    if o.get("train_dir_b"):
        data += f" and {Path(o['train_dir_b']).name}"
    noise = f"noise {o.get('noise')}, " if task == "denoise" else ""
    desc = (f"{model.name} {model.config.__dict__}, trained by imgen train ({task}) on {data} "
            f"({noise}seed {o.get('seed')}) for {state.get('step')} steps")
    if task == "denoise":
        desc += f"; validation PSNR {state.get('best') or 0:.2f} dB at sigma {o.get('val_sigma')}"
    return desc + "; docs/models.md"


PICKLE_HINT = ("imgen does not unpickle Python objects by default, because unpickling can run code named in the "
               "file. Pass --trust-pickle to read it with imgen's restricted unpickler: it rebuilds the tensors "
               "(of a whole module pickled from a training script, or of a {'epoch': ..., 'model': Net} dict) "
               "without the original classes and never calls anything the file names but torch's tensor "
               "rebuilders")


def _read_safetensors(path: Path):
    try:
        from safetensors.torch import load_file
    except ImportError:
        raise UnknownCheckpointError(f"{path}: safetensors files need safetensors: pip install "
                                     "'imgen[import]'") from None
    try:
        return load_file(str(path), device="cpu")
    except Exception as e:  # safetensors raises its own error types
        raise UnknownCheckpointError(f"cannot read {path} as safetensors ({e})") from e


def read_checkpoint(path, *, trust_pickle: bool = False):
    """The object a checkpoint file holds: tensors only (``weights_only``), safetensors through
    safetensors.  A pickled object (a whole nn.Module, a dict holding one) raises
    UnknownCheckpointError saying so, unless ``trust_pickle``: then imgen_train.safe_unpickle rebuilds
    its tensors with inert stand-ins for the classes it names (no code from the file runs) and the
    state dict is returned.  Files that are not checkpoints (Keras HDF5, a text re-encode, a web page)
    are named from their leading bytes (file_kind)."""
    from . import file_kind

    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"checkpoint not found: {path}")
    kind = file_kind.describe(path)
    if path.suffix.lower() == ".safetensors" or kind.kind == "safetensors":
        return _read_safetensors(path)
    if kind.kind not in ("zip", "pickle"):
        raise UnknownCheckpointError(f"cannot read {path} as a checkpoint: it is {kind.note}")
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:
        text = str(e)
        pickled = "Unsupported global" in text or "GLOBAL " in text  # a class named in the pickle
        if pickled and trust_pickle:
            return _read_restricted(path)
        if pickled:
            raise UnknownCheckpointError(f"{path} holds a pickled Python object, not only tensors (a whole "
                                         f"nn.Module, or a dict holding one?). " + PICKLE_HINT) from None
        detail = text.split("WeightsUnpickler error:", 1)[-1].strip() if "WeightsUnpickler" in text else text.strip()
        first = detail.split(". ")[0].splitlines()[0] if detail else type(e).__name__
        raise UnknownCheckpointError(f"cannot read {path} as a torch checkpoint of tensors ({first}; the file is "
                                     f"{kind.note})") from e


def _read_restricted(path: Path):
    from .safe_unpickle import load_restricted, state_dict_of

    try:
        obj = load_restricted(path)
    except Exception as e:  # noqa: BLE001 -- the unpickler raises many types
        raise UnknownCheckpointError(f"cannot read {path} even with the restricted unpickler "
                                     f"({str(e).splitlines()[0] if str(e) else type(e).__name__})") from e
    sd = state_dict_of(obj)
    if not sd:
        raise UnknownCheckpointError(f"{path}: the restricted unpickler found no module or state dict in it "
                                     f"(it holds a {type(obj).__name__})")
    return sd


def is_imgen_checkpoint(obj) -> bool:
    return isinstance(obj, Mapping) and obj.get("format") == CHECKPOINT_FORMAT


def load_any(path, *, trust_pickle: bool = False) -> tuple[nn.Module, str]:
    """(model in eval mode, a description for the metadata) from an imgen-train or KAIR checkpoint."""
    path = Path(path)
    obj = read_checkpoint(path, trust_pickle=trust_pickle)
    if is_imgen_checkpoint(obj):
        model, state = load_model(obj)
        return model, _describe(model, state)
    model = model_from_state_dict(obj)
    return model, f"{model.name} {model.config.__dict__}, imported from {path.name}"
