"""imgen_train.file_kind: a file that is not a checkpoint is named from its leading bytes, through
``imgen import`` (Keras HDF5, a text re-encode, a web page, a Git LFS pointer), and a safetensors file
without its suffix is still read."""
from __future__ import annotations

import pytest

torch = pytest.importorskip("torch", reason="imgen_train needs torch (pip install torch, then imgen[train])")

from imgen.cli import main as cli_main  # noqa: E402
from imgen_train.file_kind import HDF5_MAGIC, classify  # noqa: E402
from imgen_train.import_checkpoint import read_checkpoint  # noqa: E402


@pytest.mark.parametrize("data, kind", [
    (b"PK\x03\x04rest", "zip"),
    (b"\x80\x02\x8a\x0al\xfc", "pickle"),
    (HDF5_MAGIC + b"\x00" * 8, "hdf5"),
    (b"PK\x03\x04\xef\xbf\xbd\xef\xbf\xbd", "text-reencoded"),
    (b"\xef\xbf\xbd\x02\x8a\x0al", "text-reencoded"),
    (b"<!DOCTYPE html><html>", "html"),
    (b"version https://git-lfs.github.com/spec/v1\noid sha256:", "lfs-pointer"),
    (b"\x00\x01\x02\x03\xff\xfe", "unknown"),
])
def test_classify(data, kind):
    assert classify(data).kind == kind


@pytest.mark.parametrize("data, message", [
    (HDF5_MAGIC + b"\x00" * 64, "HDF5 file .*Keras.*tf2onnx.convert --keras"),
    (b"\xef\xbf\xbd\x02\x8a\x0al\xef\xbf\xbd\x9cF", r"starts with EF BF BD 02.*re-encoded as text"),
])
def test_cli_names_what_the_file_is(tmp_path, capsys, data, message):
    import re

    (tmp_path / "m.h5").write_bytes(data)
    assert cli_main(["import", str(tmp_path / "m.h5"), "-o", str(tmp_path / "m.onnx")]) == 1
    err = capsys.readouterr().err
    assert re.search(message, err), err
    assert "Unsupported operand" not in err and not (tmp_path / "m.onnx").exists()


def test_safetensors_without_its_suffix(tmp_path):
    safetensors = pytest.importorskip("safetensors.torch", reason="imgen[import] installs safetensors")
    safetensors.save_file({"w": torch.ones(2)}, str(tmp_path / "model.bin"))
    assert set(read_checkpoint(tmp_path / "model.bin")) == {"w"}
