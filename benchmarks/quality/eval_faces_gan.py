"""Do a face generator's samples look like faces?  The checks of imgen_train.gan_quality on
generators of 32x32 gray faces, next to real faces and non-face crops as references.

    PYTHONPATH=python:export python benchmarks/quality/eval_faces_gan.py MODEL.onnx [MODEL2.onnx ...] [--json out.json]

Real faces: the 100 faces of scikit-image's lfw_subset (0-99) at 32x32 (examples.faces_only).
Per model, seeds 0-4, 64 samples each (imgen.generate, the CLI's ``--seed``):
- flat: samples whose edge energy is below the 5th percentile of the 100 real faces (per seed;
  the target is <= 3 of 64);
- face rate: share of samples a face / non-face CNN calls faces (trained on lfw_subset 0-79 faces
  against 100-179 non-faces; its held-out accuracy on 80-99 / 180-199 is printed);
- C2ST: 2-fold cross-validated accuracy of a logistic regression on that CNN's 32-d features telling
  the 100 real faces from 100 of the 320 samples (0.5: indistinguishable).
Reference rows: the 20 held-out real faces, the 100 non-face crops, the real faces blurred.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import cv2
import numpy as np

REPO = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(REPO / "python"), str(REPO / "export")]

import imgen  # noqa: E402
from imgen_train import examples  # noqa: E402
from imgen_train.gan_quality import FaceClassifier, flat_count, two_sample_accuracy  # noqa: E402

SEEDS = range(5)


def all_lfw() -> np.ndarray:
    """All 200 lfw_subset crops at 32x32 uint8 (0-99 faces, 100-199 non-faces)."""
    import skimage.data

    imgs = np.stack([cv2.resize(f.astype(np.float32), (32, 32), interpolation=cv2.INTER_CUBIC)
                     for f in skimage.data.lfw_subset()])
    return np.clip(np.rint(imgs * 255), 0, 255).astype(np.uint8)


def row(name: str, sets: list[np.ndarray], reals: np.ndarray, clf: FaceClassifier) -> dict:
    flats = [flat_count(s, reals)[0] for s in sets]
    pooled = np.concatenate(sets)
    return {"set": name, "n": [len(s) for s in sets], "flat": flats,
            "flat_rate": float(np.sum(flats) / len(pooled)), "face_rate": clf.face_rate(pooled),
            "c2st": two_sample_accuracy(clf.embed(reals), clf.embed(pooled))}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("models", nargs="+", help="generate models (.onnx or shipped names) of 32x32 gray images")
    p.add_argument("--json", help="write the rows here as JSON")
    args = p.parse_args(argv)

    lfw = all_lfw()
    reals = examples.faces_only()
    assert np.array_equal(reals, lfw[:100])
    clf = FaceClassifier(lfw[examples.FACE_TRAIN], (examples.FACE_TRAIN < 100).astype(np.int64))
    held_acc = float(np.mean((clf.face_probability(lfw[examples.FACE_TEST]) > 0.5) == (examples.FACE_TEST < 100)))
    print(f"face classifier: held-out accuracy {held_acc:.3f} (20 faces + 20 non-faces)")
    blurred = np.stack([cv2.GaussianBlur(im, (0, 0), 1.0) for im in reals])
    rows = [row("real faces (held-out 80-99)", [lfw[80:100]], reals, clf),
            row("non-face crops (100-199)", [lfw[100:200]], reals, clf),
            row("real faces blurred (sigma 1)", [blurred], reals, clf)]
    for model in args.models:
        sets = [imgen.generate(model, 64, seed=s)[..., 0] for s in SEEDS]
        rows.append(row(Path(model).name, sets, reals, clf))
    print(f"{'set':38s} {'flat per 64 (seeds 0-4)':>26s} {'face rate':>10s} {'C2ST acc':>9s}")
    for r in rows:
        flat = " ".join(str(f) for f in r["flat"]) if len(r["flat"]) > 1 else f"{r['flat'][0]}/{r['n'][0]}"
        print(f"{r['set']:38s} {flat:>26s} {r['face_rate']:>10.3f} {r['c2st']:>9.3f}")
    if args.json:
        Path(args.json).write_text(json.dumps({"classifier_heldout_accuracy": held_acc, "rows": rows}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
