"""Quality numbers of the generative example models (docs/models.md), from data made in-process
by imgen_train.examples (scikit-image's lfw_subset and bundled photos; nothing is downloaded).

    PYTHONPATH=python:export python benchmarks/quality/eval_generative.py \
        --gan faces-dcgan --vae faces-vae --cyclegan sepia-cyclegan-a2b [--json out.json]

Fréchet distance (FD): features are the 32-d global-average-pooled last conv layer of a small CNN
trained here (seed 0, 400 Adam steps of 32) on the 160 training faces only, to tell face from non-face
and which of 4 rotations was applied (8 classes).  FD(X, Y) = |mu_x - mu_y|^2 + tr(Cx + Cy -
2 (Cx Cy)^1/2) between feature sets.  Reference rows: the training set's two halves against each
other, and the 40 held-out images against the 160 training images; model rows: 40 samples
against the 160 training images (mean and standard deviation over 10 seeds, seeds 0-9), so every
row but the first compares 40 images with the same 160; a blurred copy of the held-out images shows
how far a visibly worse set moves.  Memorisation check: the PSNR of each of 400 samples (seed 0) to
its nearest training image (or its mirror image), against the same for the held-out images.
VAE: on the 40 held-out images (and the 160 training images for comparison): PSNR of decode(mean)
against the image (uint8); ELBO in nats per image = E_q[log p(x|z)] - KL(q(z|x) || N(0, I)) with
the Bernoulli likelihood the model was trained with (pixels in [0, 1]), the expectation averaged
over 16 draws of z (seed 0).
CycleGAN: held-out photos (coffee, grace_hopper) x, target T(x) = examples.sepia_tone(x); PSNR of
G_AB(x) (imgen.load(...)(x), tiled by the engine where larger than a tile) against T(x), next to
the identity map and two global colour-matching baselines fitted on the unpaired training folders:
per-channel histogram matching of x to all of domain B, and the affine colour transfer that maps
the mean and covariance of domain A's pixels to domain B's (Monge-Kantorovich linear map).
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

FD_SAMPLES = 40
FD_SEEDS = range(10)


# -- Fréchet distance ---------------------------------------------------------------------------

def train_feature_net(images: np.ndarray, labels: np.ndarray, steps: int = 400, seed: int = 0):
    """A small CNN (3 conv blocks, 32-d pooled features) on (face?, rotation) -> 8 classes."""
    import torch
    from torch import nn

    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    net = nn.Sequential(
        nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(32, 32, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten())
    head = nn.Linear(32, 8)
    opt = torch.optim.Adam(list(net.parameters()) + list(head.parameters()), lr=2e-3)
    x_all = torch.from_numpy(images.astype(np.float32)[:, None] / 255)
    for _ in range(steps):
        idx = rng.integers(0, len(images), 32)
        rot = rng.integers(0, 4, 32)
        flip = rng.integers(0, 2, 32)
        xb = torch.stack([torch.rot90(torch.flip(x_all[i], [2]) if f else x_all[i], int(r), [1, 2])
                          for i, r, f in zip(idx, rot, flip)])
        target = torch.from_numpy(labels[idx] * 4 + rot)
        loss = nn.functional.cross_entropy(head(net(xb)), target)
        opt.zero_grad()
        loss.backward()
        opt.step()
    net.eval()

    def features(imgs: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            return net(torch.from_numpy(imgs.reshape(len(imgs), 1, 32, 32).astype(np.float32) / 255)).double().numpy()

    return features


def frechet(a: np.ndarray, b: np.ndarray) -> float:
    from scipy import linalg

    mu_a, mu_b = a.mean(0), b.mean(0)
    ca, cb = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    root = linalg.sqrtm(ca @ cb)
    return float(np.sum((mu_a - mu_b) ** 2) + np.trace(ca + cb - 2 * np.real(root)))


def fd_table(gan: str | None, vae_decoder: str | None) -> dict:
    train, test = examples.face_images()
    labels, _ = examples.face_labels()
    features = train_feature_net(train, labels)
    f_train = features(train)
    halves = np.random.default_rng(0).permutation(len(train))
    blurred = np.stack([cv2.GaussianBlur(x, (0, 0), 1.0) for x in test])
    out = {"train half vs train half (80 vs 80)": frechet(f_train[halves[:80]], f_train[halves[80:]]),
           "held-out vs train (40 vs 160)": frechet(features(test), f_train),
           "held-out blurred (Gaussian sigma 1) vs train (40 vs 160)": frechet(features(blurred), f_train)}
    memo = {"held-out": nearest_train_psnr(test, train)}
    for name, model in (("DCGAN samples", gan), ("VAE samples", vae_decoder)):
        if model:
            m = imgen.load(model, providers=["cpu"])
            scores = [frechet(features(imgen.generate(m, FD_SAMPLES, seed=s)[..., 0]), f_train) for s in FD_SEEDS]
            out[f"{name} vs train (40 vs 160, 10 seeds)"] = (float(np.mean(scores)), float(np.std(scores)))
            memo[name] = nearest_train_psnr(imgen.generate(m, 400, seed=0)[..., 0], train)
    return {"fd": out, "nearest_training_image_psnr_db": memo}


def nearest_train_psnr(images: np.ndarray, train: np.ndarray) -> dict:
    """Memorisation check: PSNR of each image against its closest training image (and that image
    flipped left-right); the median and the share above 30 dB (near-copies)."""
    t = np.concatenate([train, train[:, :, ::-1]]).reshape(2 * len(train), -1).astype(np.float64)
    x = images.reshape(len(images), -1).astype(np.float64)
    mse = ((x[:, None, :] - t[None]) ** 2).mean(axis=2).min(axis=1)
    psnr = 10 * np.log10(255.0**2 / np.maximum(mse, 1e-12))
    return {"median": float(np.median(psnr)), "share_above_30db": float(np.mean(psnr > 30))}


# -- VAE -----------------------------------------------------------------------------------------

def vae_numbers(encoder: str, decoder: str, draws: int = 16) -> dict:
    enc, dec = imgen.load(encoder, providers=["cpu"]), imgen.load(decoder, providers=["cpu"])
    train, test = examples.face_images()
    out = {}
    for split, imgs in (("held-out (40)", test), ("train (160)", train)):
        rec = imgen.reconstruct(enc, dec, list(imgs))[..., 0]
        psnr = float(np.mean([imgen.metrics.psnr(r, x) for r, x in zip(rec, imgs)]))
        mean, logvar = imgen.encode(enc, list(imgs))
        x = imgs.reshape(len(imgs), -1).astype(np.float64) / 255
        rng = np.random.default_rng(0)
        log_lik = np.zeros(len(imgs))
        for _ in range(draws):
            z = mean + np.exp(0.5 * logvar) * rng.standard_normal(mean.shape).astype(np.float32)
            p = np.clip(dec.run({dec.inputs[0].name: z.astype(np.float32)})[0].reshape(len(imgs), -1), 1e-7, 1 - 1e-7)
            log_lik += np.sum(x * np.log(p) + (1 - x) * np.log1p(-p), axis=1) / draws
        kl = -0.5 * np.sum(1 + logvar - mean.astype(np.float64) ** 2 - np.exp(logvar), axis=1)
        out[split] = {"psnr_db": psnr, "elbo_nats": float(np.mean(log_lik - kl)),
                      "reconstruction_nats": float(-np.mean(log_lik)), "kl_nats": float(np.mean(kl))}
    return out


# -- CycleGAN ------------------------------------------------------------------------------------

def _pixels(folder: str) -> np.ndarray:
    import cv2

    return np.concatenate([cv2.cvtColor(cv2.imread(str(p)), cv2.COLOR_BGR2RGB).reshape(-1, 3)
                           for p in sorted(Path(folder).glob("*.png"))]).astype(np.float64)


def _affine_transfer(a: np.ndarray, b: np.ndarray):
    """The linear map sending N(mu_a, Ca) to N(mu_b, Cb) (Monge-Kantorovich)."""
    from scipy import linalg

    mu_a, mu_b = a.mean(0), b.mean(0)
    ca, cb = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    ra = np.real(linalg.sqrtm(ca))
    ra_inv = np.linalg.inv(ra)
    m = ra_inv @ np.real(linalg.sqrtm(ra @ cb @ ra)) @ ra_inv
    return lambda img: np.clip(np.rint((img.reshape(-1, 3) - mu_a) @ m.T + mu_b), 0, 255).astype(np.uint8).reshape(img.shape)


def cyclegan_numbers(model: str, data: Path) -> dict:
    from skimage.exposure import match_histograms

    g = imgen.load(model, providers=["cpu"])
    pix_a, pix_b = _pixels(data / "trainA"), _pixels(data / "trainB")
    transfer = _affine_transfer(pix_a, pix_b)
    ref_b = pix_b.reshape(-1, 1, 3).astype(np.uint8)
    out = {}
    for name in examples.TEST_PHOTOS:
        x = examples.photo(name)
        target = examples.sepia_tone(x)
        hist = np.clip(np.rint(match_histograms(x, ref_b, channel_axis=-1)), 0, 255).astype(np.uint8)
        out[name] = {"size": f"{x.shape[1]}x{x.shape[0]}",
                     "G_AB": imgen.metrics.psnr(g(x), target),
                     "identity": imgen.metrics.psnr(x, target),
                     "histogram matching": imgen.metrics.psnr(hist, target),
                     "affine colour transfer": imgen.metrics.psnr(transfer(x), target)}
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--gan", help="DCGAN generator (.onnx or shipped name)")
    p.add_argument("--vae", help="VAE: NAME (or NAME.onnx) for NAME-encoder and NAME-decoder")
    p.add_argument("--cyclegan", help="CycleGAN A->B generator")
    p.add_argument("--data", default="gen-data/sepia", help="tools/generative-trainsets OUT/sepia (CycleGAN baselines)")
    p.add_argument("--json", help="also write the numbers here")
    args = p.parse_args(argv)
    if args.vae:  # NAME or NAME.onnx -> NAME-encoder[.onnx], NAME-decoder[.onnx]
        stem, suffix = (args.vae[:-5], ".onnx") if args.vae.endswith(".onnx") else (args.vae, "")
        args.vae_parts = (f"{stem}-encoder{suffix}", f"{stem}-decoder{suffix}")
    results: dict = {}
    if args.gan or args.vae:
        results["faces"] = fd_table(args.gan, args.vae and args.vae_parts[1])
    if args.vae:
        results["vae"] = vae_numbers(*args.vae_parts)
    if args.cyclegan:
        results["cyclegan_psnr_db"] = cyclegan_numbers(args.cyclegan, Path(args.data))
    text = json.dumps(results, indent=2)
    print(text)
    if args.json:
        Path(args.json).write_text(text + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
