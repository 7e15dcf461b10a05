"""The example data sets of the shipped generative models, made from images that ship with
scikit-image and matplotlib (nothing is downloaded).

faces: scikit-image's ``lfw_subset`` (200 gray 25x25 crops: 100 faces, then 100 non-faces),
resized to 32x32 (cubic); the last 20 of each kind are held out (test/), the other 160 train.
sepia: colour photos cut into 96x96 tiles on a grid; tiles alternate between domain A (as they
are) and domain B (``sepia_tone`` applied), so A and B never hold the same tile (unpaired).
Held-out photos (coffee, grace_hopper) make testA/ and, for evaluation only, testB = T(testA).
smooth: the sepia layout (alternating 128x128 tiles of the same photos, each photo rendered whole
before it is cut, so a tile of B has no border effects) with T = ``smooth``, OpenCV's
edge-preserving smoothing (the domain-transform recursive filter that ``stylization`` starts with).
stylize-tiles: the same layout with T = ``stylize``.
stylize: whole photos, split by photo: domain A holds STYLIZE_A as they are, domain B the OpenCV
``stylization`` of the OTHER photos STYLIZE_B (unpaired: no photo is in both); held out as for
sepia (testA = the photos, testB = their renderings, for evaluation only).  The sampler crops
and flips at random.
"""
from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from imgen.imageio import write_image

# The transform T of the CycleGAN example: a strong sepia tint (rows of the classic sepia matrix
# scaled to sum to 1, so nothing clips) mixed 85/15 with the original, then a tone curve (gamma
# 0.7 and an S-curve).  The matrix stays invertible (condition number 8), so B -> A is learnable.
# (A 60/40 mix with a gentler curve was tried first: its domains differed too little for the
# discriminators to tell them apart in a short run; docs/models.md.)
_SEPIA = np.array([[0.393, 0.769, 0.189], [0.349, 0.686, 0.168], [0.272, 0.534, 0.131]])
_SEPIA = _SEPIA / _SEPIA.sum(axis=1, keepdims=True)
SEPIA_MATRIX = 0.85 * _SEPIA + 0.15 * np.eye(3)
SEPIA_GAMMA = 0.7
SEPIA_S_CURVE = 0.3
TRAIN_PHOTOS = ("astronaut", "chelsea", "rocket", "immunohistochemistry", "hubble_deep_field", "retina",
                "motorcycle_left")
TEST_PHOTOS = ("coffee", "grace_hopper")
# stylize: OpenCV's watercolour-like rendering (edge-preserving smoothing, edges darkened by the
# gradient magnitude); sigma_s 20 px instead of OpenCV's 60 keeps the mapping local (inside a
# small generator's receptive field).  Photos split so both domains hold a person, an object and
# a scientific image; hubble_deep_field is halved like retina (mostly black sky at full size).
STYLIZE_SIGMA_S = 20.0
STYLIZE_SIGMA_R = 0.45
# smooth: cv2.edgePreservingFilter(RECURS_FILTER); sigma_s in pixels, sigma_r in [0, 1] units of
# colour distance (0.45: textures up to about a third of the range are flattened, outlines stay).
SMOOTH_SIGMA_S = 20.0
SMOOTH_SIGMA_R = 0.45
SMOOTH_TILE = 128
STYLIZE_A = ("astronaut", "motorcycle_left", "hubble_deep_field")
STYLIZE_B = ("chelsea", "rocket", "immunohistochemistry", "retina")


def sepia_tone(rgb: np.ndarray) -> np.ndarray:
    """T(x): (H, W, 3) RGB uint8 or float in [0, 1] -> the same dtype."""
    x = rgb.astype(np.float64) / (255.0 if rgb.dtype == np.uint8 else 1.0)
    y = np.clip(x @ SEPIA_MATRIX.T, 0, 1) ** SEPIA_GAMMA
    y = y + SEPIA_S_CURVE * 4 * y * (1 - y) * (2 * y - 1)  # S-curve: darker shadows, brighter highlights
    y = np.clip(y, 0, 1)
    if rgb.dtype == np.uint8:
        return np.rint(y * 255).astype(np.uint8)
    return y.astype(rgb.dtype)


def stylize(rgb: np.ndarray) -> np.ndarray:
    """The stylize example's T: (H, W, 3) RGB uint8 -> cv2.stylization of it, RGB uint8."""
    if rgb.dtype != np.uint8 or rgb.ndim != 3 or rgb.shape[2] != 3:
        raise ValueError(f"stylize needs an (H, W, 3) uint8 RGB image, got {rgb.shape} {rgb.dtype}")
    bgr = cv2.cvtColor(np.ascontiguousarray(rgb), cv2.COLOR_RGB2BGR)
    out = cv2.stylization(bgr, sigma_s=STYLIZE_SIGMA_S, sigma_r=STYLIZE_SIGMA_R)
    return cv2.cvtColor(out, cv2.COLOR_BGR2RGB)


def smooth(rgb: np.ndarray) -> np.ndarray:
    """The smooth example's T: (H, W, 3) RGB uint8 -> its edge-preserving smoothing, RGB uint8."""
    if rgb.dtype != np.uint8 or rgb.ndim != 3 or rgb.shape[2] != 3:
        raise ValueError(f"smooth needs an (H, W, 3) uint8 RGB image, got {rgb.shape} {rgb.dtype}")
    bgr = cv2.cvtColor(np.ascontiguousarray(rgb), cv2.COLOR_RGB2BGR)
    out = cv2.edgePreservingFilter(bgr, flags=cv2.RECURS_FILTER, sigma_s=SMOOTH_SIGMA_S, sigma_r=SMOOTH_SIGMA_R)
    return cv2.cvtColor(out, cv2.COLOR_BGR2RGB)


def photo(name: str) -> np.ndarray:
    """A bundled colour photo as (H, W, 3) RGB uint8 (retina halved: 1411 px is mostly border)."""
    import skimage.data

    if name == "grace_hopper":
        from matplotlib import cbook

        img = cv2.cvtColor(cv2.imread(cbook.get_sample_data("grace_hopper.jpg", asfileobj=False)), cv2.COLOR_BGR2RGB)
    elif name == "motorcycle_left":
        img = skimage.data.stereo_motorcycle()[0]
    else:
        img = getattr(skimage.data, name)()
    if name == "retina":
        img = cv2.resize(img, (img.shape[1] // 2, img.shape[0] // 2), interpolation=cv2.INTER_AREA)
    return np.ascontiguousarray(img[..., :3])


FACE_TEST = np.r_[80:100, 180:200]          # indices into lfw_subset held out
FACE_TRAIN = np.setdiff1d(np.arange(200), FACE_TEST)


def face_images() -> tuple[np.ndarray, np.ndarray]:
    """(160 train, 40 test) gray 32x32 uint8 images (N, 32, 32), in the order of the files."""
    import skimage.data

    faces = skimage.data.lfw_subset()
    imgs = np.stack([cv2.resize(f.astype(np.float32), (32, 32), interpolation=cv2.INTER_CUBIC) for f in faces])
    imgs = np.clip(np.rint(imgs * 255), 0, 255).astype(np.uint8)
    return imgs[FACE_TRAIN], imgs[FACE_TEST]


def face_labels() -> tuple[np.ndarray, np.ndarray]:
    """(train, test) labels of face_images(): 1 face, 0 non-face (lfw_subset: 100 of each)."""
    return (FACE_TRAIN < 100).astype(np.int64), (FACE_TEST < 100).astype(np.int64)


def faces_only() -> np.ndarray:
    """The 100 faces of lfw_subset (indices 0-99, no non-face crops) as gray 32x32 uint8 (100, 32, 32):
    the training set of faces-dcgan (its quality check compares with the same faces)."""
    import skimage.data

    faces = skimage.data.lfw_subset()[:100]
    imgs = np.stack([cv2.resize(f.astype(np.float32), (32, 32), interpolation=cv2.INTER_CUBIC) for f in faces])
    return np.clip(np.rint(imgs * 255), 0, 255).astype(np.uint8)


def write_faces_only(out: Path) -> dict[str, int]:
    (out / "train").mkdir(parents=True, exist_ok=True)
    imgs = faces_only()
    for k, img in enumerate(imgs):
        write_image(out / "train" / f"{k:03d}.png", img)
    return {"train": len(imgs)}


def tiles(img: np.ndarray, size: int) -> list[np.ndarray]:
    """Non-overlapping size x size tiles on a grid, row by row."""
    h, w = img.shape[:2]
    return [img[y:y + size, x:x + size] for y in range(0, h - size + 1, size) for x in range(0, w - size + 1, size)]


def write_faces(out: Path) -> dict[str, int]:
    train, test = face_images()
    for split, imgs in (("train", train), ("test", test)):
        (out / split).mkdir(parents=True, exist_ok=True)
        for k, img in enumerate(imgs):
            write_image(out / split / f"{k:03d}.png", img)
    return {"train": len(train), "test": len(test)}


def write_tiled_pair(out: Path, transform, tile: int) -> dict[str, int]:
    """OUT/{trainA, trainB, testA, testB}: TRAIN_PHOTOS' tiles alternating between A (as they are)
    and B (cut from ``transform`` of the whole photo); testA the TEST_PHOTOS, testB their transforms."""
    counts = {"trainA": 0, "trainB": 0, "testA": 0, "testB": 0}
    for d in counts:
        (out / d).mkdir(parents=True, exist_ok=True)
    for name in TRAIN_PHOTOS:
        img = photo(name)
        rendered = transform(img)
        for k, (t, r) in enumerate(zip(tiles(img, tile), tiles(rendered, tile))):
            domain = "trainA" if k % 2 == 0 else "trainB"
            write_image(out / domain / f"{name}_{k:03d}.png", cv2.cvtColor(t if domain == "trainA" else r,
                                                                           cv2.COLOR_RGB2BGR))
            counts[domain] += 1
    for name in TEST_PHOTOS:
        img = photo(name)
        write_image(out / "testA" / f"{name}.png", cv2.cvtColor(img, cv2.COLOR_RGB2BGR))
        write_image(out / "testB" / f"{name}.png", cv2.cvtColor(transform(img), cv2.COLOR_RGB2BGR))
        counts["testA"] += 1
        counts["testB"] += 1
    return counts


def write_sepia(out: Path, tile: int = 96) -> dict[str, int]:
    return write_tiled_pair(out, sepia_tone, tile)


def write_smooth(out: Path) -> dict[str, int]:
    return write_tiled_pair(out, smooth, SMOOTH_TILE)


def write_stylize_tiles(out: Path) -> dict[str, int]:
    """The stylize transform on the sepia/smooth layout (the same photos in both domains)."""
    return write_tiled_pair(out, stylize, SMOOTH_TILE)


def stylize_photo(name: str) -> np.ndarray:
    """photo(name), with hubble_deep_field halved (INTER_AREA) for the stylize example."""
    img = photo(name)
    if name == "hubble_deep_field":
        img = cv2.resize(img, (img.shape[1] // 2, img.shape[0] // 2), interpolation=cv2.INTER_AREA)
    return img


def write_stylize(out: Path) -> dict[str, int]:
    """OUT/{trainA, trainB, testA, testB}: see the module docstring."""
    counts = {"trainA": 0, "trainB": 0, "testA": 0, "testB": 0}
    for d in counts:
        (out / d).mkdir(parents=True, exist_ok=True)
    sets = [("trainA", STYLIZE_A, False), ("trainB", STYLIZE_B, True), ("testA", TEST_PHOTOS, False),
            ("testB", TEST_PHOTOS, True)]
    for domain, names, render in sets:
        for name in names:
            img = stylize_photo(name)
            img = stylize(img) if render else img
            write_image(out / domain / f"{name}.png", cv2.cvtColor(img, cv2.COLOR_RGB2BGR))
            counts[domain] += 1
    return counts
