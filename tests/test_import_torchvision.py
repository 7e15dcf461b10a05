"""imgen import with a torchvision built for another torch (#33 item 10): spandrel imports
torchvision at start-up, and a mismatched one failed with "operator torchvision::nms does not
exist"; imgen names both versions and the matching pair instead.  The mismatched torchvision is
simulated: a package that fails on import as the real one does, with its own dist-info."""
from __future__ import annotations

import importlib.util
import sys

import pytest

torch = pytest.importorskip("torch")
if importlib.util.find_spec("spandrel") is None:
    pytest.skip("spandrel is not installed", allow_module_level=True)

from imgen_train import import_spandrel  # noqa: E402


def test_matching_torchvision_versions():
    assert import_spandrel.matching_torchvision("2.13.0+cpu") == "0.28"
    assert import_spandrel.matching_torchvision("2.5.1") == "0.20"
    assert import_spandrel.matching_torchvision("1.13.1") is None


def test_a_mismatched_torchvision_is_named_with_both_versions(tmp_path, monkeypatch):
    pkg = tmp_path / "torchvision"
    pkg.mkdir()
    (pkg / "__init__.py").write_text('raise RuntimeError("operator torchvision::nms does not exist")\n')
    info = tmp_path / "torchvision-0.99.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: torchvision\nVersion: 0.99.1\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    for name in [m for m in sys.modules if m.split(".")[0] in ("spandrel", "torchvision")]:
        monkeypatch.delitem(sys.modules, name)
    with pytest.raises(import_spandrel.SpandrelUnavailable) as e:
        import_spandrel.spandrel_module()
    text = str(e.value)
    assert f"torchvision 0.99.1 does not match torch {torch.__version__}" in text
    assert "operator torchvision::nms does not exist" in text  # what failed, after the cause
    want = import_spandrel.matching_torchvision(torch.__version__)
    assert f"needs torchvision {want}.x: pip install 'torchvision=={want}.*'" in text


def test_other_errors_are_not_taken_for_a_mismatch():
    assert import_spandrel.torchvision_mismatch(RuntimeError("something else")) is None
