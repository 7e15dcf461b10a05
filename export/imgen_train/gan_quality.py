"""Sample-quality checks for the face generator that look at what the samples are, not only where
their features sit: flat blobs (edge energy) and non-faces (a face / non-face classifier).

- ``edge_energy``: mean squared Sobel gradient magnitude of each image in [0, 1] units; a sample
  below the 5th percentile of the real faces' values is "flat" (``flat_count``).  The check the old
  faces-dcgan failed: about 26 of 64 samples flat (docs/models.md).
- ``FaceClassifier``: a small CNN trained on lfw_subset's training split (faces 0-79 against
  non-face crops 100-179, flips as augmentation), checked on the held-out 20 + 20; ``face_rate`` is
  the share of images it calls faces (probability > 0.5).
- ``two_sample_accuracy``: a classifier two-sample test on the classifier's 32-d features: logistic
  regression trained to tell real faces from samples, accuracy by 2-fold cross-validation (0.5 =
  indistinguishable by these features; 1.0 = always told apart).

Images: (N, H, W) uint8 gray, 32x32 for the classifier.  Everything is seeded.
"""
from __future__ import annotations

import cv2
import numpy as np
import torch
from torch import nn
from torch.nn import functional as F


def edge_energy(images: np.ndarray) -> np.ndarray:
    """(N, H, W) uint8 -> (N,) float64: mean of (gx^2 + gy^2) of the 3x3 Sobel gradients of the image
    in [0, 1] (reflected borders)."""
    out = np.empty(len(images))
    for k, img in enumerate(images):
        f = img.astype(np.float32) / 255.0
        gx = cv2.Sobel(f, cv2.CV_32F, 1, 0, ksize=3)
        gy = cv2.Sobel(f, cv2.CV_32F, 0, 1, ksize=3)
        out[k] = float(np.mean(gx.astype(np.float64) ** 2 + gy.astype(np.float64) ** 2))
    return out


def flat_count(samples: np.ndarray, reals: np.ndarray, percentile: float = 5.0) -> tuple[int, float]:
    """(samples whose edge energy is below the reals' ``percentile``, that threshold)."""
    threshold = float(np.percentile(edge_energy(reals), percentile))
    return int(np.sum(edge_energy(samples) < threshold)), threshold


def _tensor(images: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(images.astype(np.float32)[:, None] / 255.0)


class FaceClassifier:
    """Face (1) / non-face (0) on (N, 32, 32) uint8 gray images."""

    def __init__(self, images: np.ndarray, labels: np.ndarray, *, steps: int = 600, seed: int = 0):
        torch.manual_seed(seed)
        rng = np.random.default_rng(seed)
        self.features = nn.Sequential(
            nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(32, 32, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten())
        self.head = nn.Linear(32, 1)
        params = list(self.features.parameters()) + list(self.head.parameters())
        opt = torch.optim.Adam(params, lr=2e-3, weight_decay=1e-4)
        x, y = _tensor(images), torch.from_numpy(labels.astype(np.float32))
        for _ in range(steps):
            idx = rng.integers(0, len(x), 32)
            batch = x[idx]
            flip = torch.from_numpy(rng.random(32) < 0.5)
            batch = torch.where(flip[:, None, None, None], batch.flip(3), batch)
            loss = F.binary_cross_entropy_with_logits(self.head(self.features(batch)).flatten(), y[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
        self.features.eval()

    @torch.no_grad()
    def embed(self, images: np.ndarray) -> np.ndarray:
        """(N, 32) float32 features."""
        return self.features(_tensor(images)).numpy()

    @torch.no_grad()
    def face_probability(self, images: np.ndarray) -> np.ndarray:
        return torch.sigmoid(self.head(self.features(_tensor(images)))).flatten().numpy()

    def face_rate(self, images: np.ndarray) -> float:
        return float(np.mean(self.face_probability(images) > 0.5))


def _logistic(x: np.ndarray, y: np.ndarray, steps: int = 500) -> tuple[torch.Tensor, torch.Tensor]:
    xt, yt = torch.from_numpy(x), torch.from_numpy(y.astype(np.float32))
    w = torch.zeros(x.shape[1], requires_grad=True)
    b = torch.zeros(1, requires_grad=True)
    opt = torch.optim.LBFGS([w, b], max_iter=steps, line_search_fn="strong_wolfe")

    def closure():
        opt.zero_grad()
        loss = F.binary_cross_entropy_with_logits(xt @ w + b, yt) + 1e-3 * (w * w).sum()
        loss.backward()
        return loss

    opt.step(closure)
    return w.detach(), b.detach()


def two_sample_accuracy(real: np.ndarray, fake: np.ndarray, *, seed: int = 0) -> float:
    """Classifier two-sample test on feature vectors (N, D): 2-fold cross-validated accuracy of an
    L2-regularised logistic regression telling ``real`` from ``fake`` (features standardised on the
    training fold).  Equal-sized classes are drawn (the smaller set's size)."""
    rng = np.random.default_rng(seed)
    n = min(len(real), len(fake))
    real, fake = real[rng.permutation(len(real))[:n]], fake[rng.permutation(len(fake))[:n]]
    x = np.concatenate([real, fake]).astype(np.float32)
    y = np.r_[np.ones(n), np.zeros(n)]
    order = rng.permutation(2 * n)
    folds = np.array_split(order, 2)
    correct = 0
    for k in range(2):
        test, train = folds[k], folds[1 - k]
        mu, sd = x[train].mean(0), x[train].std(0) + 1e-6
        w, b = _logistic((x[train] - mu) / sd, y[train])
        pred = (torch.from_numpy((x[test] - mu) / sd) @ w + b).numpy() > 0
        correct += int(np.sum(pred == (y[test] > 0.5)))
    return correct / (2 * n)
