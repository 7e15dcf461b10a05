"""imgen_train.near_miss: variants of architectures spandrel knows (SPAN re-parameterised to its
``eval_conv`` weights only, SAFMN with a leading LayerNorm) are named as near-misses by ``imgen import``."""
from __future__ import annotations

import pytest

torch = pytest.importorskip("torch", reason="imgen_train needs torch (pip install torch, then imgen[train])")
import spandrel_models as sm  # noqa: E402

sm.use_stubs()
pytest.importorskip("spandrel", reason="pip install 'imgen[import]' && pip install --no-deps spandrel")

from imgen.cli import main as cli_main  # noqa: E402
from imgen_train.near_miss import near_miss  # noqa: E402


def span_reparameterised():
    sd = sm.state_dict("SPAN")
    return {k: v for k, v in sd.items() if "eval_conv" in k or not any(p in k for p in (".sk.", ".conv."))}


def safmn_with_layernorm():
    return {"norm.weight": torch.ones(8), "norm.bias": torch.zeros(8), **sm.state_dict("SAFMN")}


@pytest.mark.parametrize("make, expected", [
    (span_reparameterised, r"looks like SPAN \(spandrel\) but has extra keys: none; missing: .*sk\.weight"),
    (safmn_with_layernorm, r"looks like SAFMN \(spandrel\) but has extra keys: norm\.bias, norm\.weight; missing: none"),
])
def test_cli_names_the_near_miss(tmp_path, capsys, make, expected):
    import re

    torch.save(make(), tmp_path / "m.pth")
    assert cli_main(["import", str(tmp_path / "m.pth"), "-o", str(tmp_path / "m.onnx")]) == 1
    err = capsys.readouterr().err
    assert re.search(expected, err), err
    assert not (tmp_path / "m.onnx").exists()


def test_unrelated_keys_are_no_near_miss():
    assert near_miss({"encoder.conv1.weight": torch.zeros(1), "head.fc.weight": torch.zeros(1)}) is None
