"""imgen_train.gan_quality: the checks that tell flat blobs and non-faces from faces."""
from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("torch", reason="imgen_train needs torch (pip install torch, then imgen[train])")
cv2 = pytest.importorskip("cv2")

from imgen_train.gan_quality import FaceClassifier, edge_energy, flat_count, two_sample_accuracy  # noqa: E402


def textured(rng, n):
    return rng.integers(0, 256, (n, 32, 32), dtype=np.uint8)


def blobs(rng, n):
    """Smooth, nearly flat images (what the old faces-dcgan produced for ~40% of its samples)."""
    out = []
    for _ in range(n):
        img = rng.integers(0, 256, (4, 4)).astype(np.float32)
        out.append(np.clip(cv2.resize(img, (32, 32), interpolation=cv2.INTER_CUBIC), 0, 255).astype(np.uint8))
    return np.stack(out)


def test_edge_energy_is_zero_on_a_flat_image_and_grows_with_detail(rng):
    flat = np.full((1, 32, 32), 128, np.uint8)
    assert edge_energy(flat)[0] == 0
    e = edge_energy(np.concatenate([blobs(rng, 1), textured(rng, 1)]))
    assert 0 < e[0] < e[1]


def test_flat_count_flags_blobs_not_the_references(rng):
    reals = textured(rng, 100)
    assert flat_count(blobs(rng, 64), reals)[0] == 64
    assert flat_count(textured(rng, 64), reals)[0] <= 10


def test_two_sample_accuracy_separates_different_sets_only(rng):
    same = two_sample_accuracy(rng.normal(0, 1, (100, 8)), rng.normal(0, 1, (100, 8)))
    apart = two_sample_accuracy(rng.normal(0, 1, (100, 8)), rng.normal(3, 1, (100, 8)))
    assert same < 0.7 and apart > 0.95


def test_face_classifier_learns_a_two_class_task(rng):
    x = np.concatenate([textured(rng, 40), blobs(rng, 40)])
    y = np.r_[np.ones(40), np.zeros(40)].astype(np.int64)
    clf = FaceClassifier(x, y, steps=150)
    assert clf.face_rate(textured(rng, 20)) > 0.9 and clf.face_rate(blobs(rng, 20)) < 0.1
    assert clf.embed(x[:3]).shape == (3, 32)
