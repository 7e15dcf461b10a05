"""Tiled vs whole for a SwinIR imported by spandrel, with tile starts on its window grid (the import's
imgen.size_multiple) and anywhere (the same network imported with size_multiple 1): docs/import.md.

    PYTHONPATH=python:export:tests python benchmarks/studies/import_window_tiles.py

Random-init SwinIR of tests/spandrel_models.SMALL (window 4, a plain and a shifted-window block);
150x200 float32 image, tiles of 32 + 2 x overlap; prints max and mean |tiled - whole| (0-1 range).
"""
from __future__ import annotations

import tempfile
import warnings
from pathlib import Path

import numpy as np

import spandrel_models as sm

sm.use_stubs()


def main() -> None:
    import imgen
    from imgen_train.import_spandrel import export_spandrel, load_descriptor

    img = np.random.default_rng(0).random((150, 200, 3), dtype=np.float32)
    with tempfile.TemporaryDirectory() as tmp, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for label, meta in (("window grid", None), ("anywhere", {"size_multiple": "1"})):
            path = Path(tmp) / "swinir.onnx"
            export_spandrel(load_descriptor(sm.state_dict("SwinIR")), path, metadata=meta)
            m = imgen.load(str(path), providers=["cpu"])
            whole = m(img)
            for overlap in (12, 16, 24, 32, 44):
                d = np.abs(m(img, tile=32 + 2 * overlap, overlap=overlap) - whole)
                print(f"{label:12s} size_multiple={m.info.size_multiple} overlap={overlap:2d}: "
                      f"max {d.max():.3g} mean {d.mean():.3g}", flush=True)


if __name__ == "__main__":
    main()
