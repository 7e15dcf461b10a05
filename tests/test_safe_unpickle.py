"""imgen_train.safe_unpickle and ``--trust-pickle``: whole modules pickled from a training script's
``__main__`` and ``{'epoch': ..., 'model': Module}`` dicts give their tensors without their classes;
a malicious ``__reduce__`` is refused without the flag and never called with it."""
from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

torch = pytest.importorskip("torch", reason="imgen_train needs torch (pip install torch, then imgen[train])")

from torch import nn  # noqa: E402

from imgen_train.import_checkpoint import UnknownCheckpointError, read_checkpoint  # noqa: E402
from imgen_train.safe_unpickle import StandIn, load_restricted, state_dict_of  # noqa: E402

SENTINEL = Path(os.environ.get("TMPDIR", "/tmp")) / f"imgen-safe-unpickle-{os.getpid()}"


def payload(path: str) -> None:
    """What a malicious pickle would call: leaves a file behind if it ever runs."""
    Path(path).write_text("called")


class Evil:
    def __reduce__(self):
        return payload, (str(SENTINEL),)


class EvilSystem:
    def __reduce__(self):
        return os.system, (f"touch {SENTINEL}.system",)


def _main_class_pickle(path: Path, wrap) -> dict:
    """torch.save of a module whose class lives in ``__main__`` (as a training script's), then the class
    removed, so that it cannot be imported when the file is read.  Returns the module's state dict."""

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.body = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(),
                                      nn.Conv2d(4, 1, 3, padding=1))
            self.register_buffer("scratch", torch.zeros(2), persistent=False)

    Net.__module__, Net.__qualname__ = "__main__", "ImgenTestNet"
    main = sys.modules["__main__"]
    main.ImgenTestNet = Net
    try:
        net = Net()
        with torch.no_grad():
            net.body[1].running_mean.uniform_()
        torch.save(wrap(net), path)
    finally:
        del main.ImgenTestNet
    return net.state_dict()


@pytest.mark.parametrize("wrap", [lambda m: m, lambda m: {"epoch": 50, "model": m},
                                  lambda m: {"epoch": 3, "optimizer": {"lr": 0.1}, "net": m}],
                         ids=["module", "epoch-model-dict", "net-dict"])
def test_main_module_tensors_recovered_without_the_class(tmp_path, wrap):
    expected = _main_class_pickle(tmp_path / "m.pth", wrap)
    with pytest.raises(UnknownCheckpointError, match="holds a pickled Python object.*--trust-pickle"):
        read_checkpoint(tmp_path / "m.pth")
    sd = read_checkpoint(tmp_path / "m.pth", trust_pickle=True)
    assert list(sd) == list(expected) and "scratch" not in sd
    for k in expected:
        torch.testing.assert_close(sd[k], expected[k])


def test_stand_ins_absorb_state(tmp_path):
    _main_class_pickle(tmp_path / "m.pth", lambda m: m)
    obj = load_restricted(tmp_path / "m.pth")
    assert isinstance(obj, StandIn) and "__main__.ImgenTestNet" in repr(obj)
    assert state_dict_of({"epoch": 1}) is None


@pytest.mark.parametrize("evil", [Evil, EvilSystem])
def test_malicious_reduce_is_never_called(tmp_path, evil):
    for p in (SENTINEL, Path(f"{SENTINEL}.system")):
        p.unlink(missing_ok=True)
    weights = {"w": torch.ones(2)}
    torch.save({"model": weights, "evil": evil()}, tmp_path / "evil.pth")
    torch.save(evil(), tmp_path / "only.pth")
    try:
        with pytest.raises(UnknownCheckpointError, match="pickled Python object"):
            read_checkpoint(tmp_path / "evil.pth")
        sd = read_checkpoint(tmp_path / "evil.pth", trust_pickle=True)  # the weights beside it still read
        torch.testing.assert_close(sd["w"], weights["w"])
        with pytest.raises(UnknownCheckpointError, match="found no module or state dict"):
            read_checkpoint(tmp_path / "only.pth", trust_pickle=True)
        assert not SENTINEL.exists() and not Path(f"{SENTINEL}.system").exists()
    finally:
        for p in (SENTINEL, Path(f"{SENTINEL}.system")):
            p.unlink(missing_ok=True)


def test_cli_import_of_a_main_pickled_dncnn(tmp_path, capsys):
    """SaoYan's layout pickled whole from __main__: refused without the flag, imported with it."""
    import imgen
    from imgen.cli import main as cli_main

    import spandrel_models as sm

    sm.use_stubs()

    class DnCNN(nn.Module):
        def __init__(self):
            super().__init__()
            self.dncnn = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1, bias=False), nn.ReLU(),
                                       nn.Conv2d(4, 4, 3, padding=1, bias=False), nn.BatchNorm2d(4), nn.ReLU(),
                                       nn.Conv2d(4, 1, 3, padding=1, bias=False))

    DnCNN.__module__, DnCNN.__qualname__ = "__main__", "ImgenTestDnCNN"
    main = sys.modules["__main__"]
    main.ImgenTestDnCNN = DnCNN
    try:
        torch.save({"epoch": 50, "model": DnCNN()}, tmp_path / "whole.pth")
    finally:
        del main.ImgenTestDnCNN
    out = tmp_path / "w.onnx"
    assert cli_main(["import", str(tmp_path / "whole.pth"), "-o", str(out), "--skip-parity"]) == 1
    err = capsys.readouterr().err
    assert "--trust-pickle" in err and "weights_only=False" not in err
    assert cli_main(["import", str(tmp_path / "whole.pth"), "-o", str(out), "--trust-pickle", "--skip-parity"]) == 0
    assert imgen.load(str(out), providers=["cpu"]).info.channels == 1
