"""Denoisers the benchmark can run, each behind one signature.

A method takes a noisy float32 image in [0, 1] (gray (H, W) or RGB (H, W, 3), not clipped)
and the true noise sigma in the same units, and returns a float32 image of the same shape.
External peers run only when installed; their absence is a note, not an error.
"""
from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np

Denoise = Callable[[np.ndarray, float], np.ndarray]


@dataclass(frozen=True)
class Method:
    name: str
    family: str  # "imgen", "learned" or "peer"
    threads: int
    run: Denoise
    gray: bool = True
    color: bool = True
    note: str = ""
    levels: tuple | None = None  # the grid levels it runs at (a x4 upscaler: (4,)); None: all
    published: str = ""  # a model's own published figure (imgen.published), shown beside the measured one
    arch: str = ""  # a learned model's architecture (imgen.arch): its paper's figures are published.py's

    def supports(self, image: np.ndarray) -> bool:
        return self.color if image.ndim == 3 else self.gray

    def takes_level(self, level) -> bool:
        return self.levels is None or level in self.levels


#: Bench-only variants of registered denoisers: name -> (method, Params values besides sigma, note).
VARIANTS = {"wavelet-ti": ("wavelet", {"shifts": 16}, "16 cycle-spinning shifts")}
PEERS = ("opencv-nlm", "skimage-wavelet", "skimage-nlm", "bm3d-ref")
WAVELET_TI_SHIFTS = VARIANTS["wavelet-ti"][1]["shifts"]
NLM_H_FACTOR = 0.8  # OpenCV / scikit-image NLM filter strength h = 0.8 sigma (scikit-image's example)


def _to_u8(img: np.ndarray) -> np.ndarray:
    return np.clip(np.rint(img * 255.0), 0, 255).astype(np.uint8)


def classical() -> tuple[str, ...]:
    """imgen's own denoisers: the registry's (``imgen.methods.REGISTRY.names("denoise")``) and VARIANTS."""
    from ..methods import REGISTRY

    return REGISTRY.names("denoise") + tuple(VARIANTS)


def _imgen_methods(threads: int) -> dict[str, Method]:
    """Every registered denoiser at its defaults with the true sigma, then the variants."""
    from ..methods import REGISTRY

    def method(name: str, base: str, values: dict, note: str) -> Method:
        m = REGISTRY.get(base, "denoise")
        return Method(name, "imgen", threads, lambda x, s: m(x, m.params(sigma=s, **values)), note=note)

    out = {m.name: method(m.name, m.name, {}, "") for m in REGISTRY.methods("denoise")}
    for name, (base, values, note) in VARIANTS.items():
        out[name] = method(name, base, values, note)
    return out


def _peer_methods(threads: int) -> tuple[dict[str, Method], dict[str, str]]:
    methods: dict[str, Method] = {}
    missing: dict[str, str] = {}
    import cv2

    cv2.setNumThreads(threads)

    def opencv_nlm(x, s):
        h = NLM_H_FACTOR * s * 255.0
        u8 = _to_u8(x)
        if x.ndim == 3:
            out = cv2.fastNlMeansDenoisingColored(u8[..., ::-1].copy(), None, h, h, 7, 21)[..., ::-1]
        else:
            out = cv2.fastNlMeansDenoising(u8, None, h, 7, 21)
        return out.astype(np.float32) / 255.0

    methods["opencv-nlm"] = Method("opencv-nlm", "peer", threads, opencv_nlm,
                                   note="8-bit input (OpenCV NLM takes uint8), h = 0.8 sigma")
    if importlib.util.find_spec("skimage") is not None:
        from skimage.restoration import denoise_nl_means, denoise_wavelet

        def sk_wavelet(x, s):
            return denoise_wavelet(x, sigma=s, method="BayesShrink", mode="soft", rescale_sigma=True,
                                   channel_axis=-1 if x.ndim == 3 else None).astype(np.float32)

        def sk_nlm(x, s):
            return denoise_nl_means(x, h=NLM_H_FACTOR * s, sigma=s, fast_mode=True, patch_size=5,
                                    patch_distance=6, channel_axis=-1 if x.ndim == 3 else None).astype(np.float32)

        if importlib.util.find_spec("pywt") is not None:
            methods["skimage-wavelet"] = Method("skimage-wavelet", "peer", 1, sk_wavelet, note="BayesShrink, soft, db1")
        else:
            missing["skimage-wavelet"] = "PyWavelets is not installed (scikit-image's wavelet denoiser needs it)"
        methods["skimage-nlm"] = Method("skimage-nlm", "peer", 1, sk_nlm, note="fast mode, 5x5 patches, 13x13 search")
    else:
        missing["skimage-wavelet"] = missing["skimage-nlm"] = "scikit-image is not installed"
    if importlib.util.find_spec("bm3d") is not None:
        import bm3d as bm3d_ref

        def ref(x, s):
            if x.ndim == 3:
                return np.asarray(bm3d_ref.bm3d_rgb(x, s), np.float32)
            return np.asarray(bm3d_ref.bm3d(x, s), np.float32)

        methods["bm3d-ref"] = Method("bm3d-ref", "peer", threads, ref, note="PyPI bm3d (reference binaries)")
    else:
        missing["bm3d-ref"] = "the reference bm3d package is not installed (pip install bm3d; non-commercial licence)"
    return methods, missing


DENOISER_TASKS = ("denoise", "restore")
#: What a model does to an image whose channels differ from its own (ImageModel.__call__'s
#: ``color``): the default of every other door, so bench measures what the CLI runs.
COLOR_POLICY = "ycbcr"


def shipped_denoisers() -> list[str]:
    """The shipped models that take a noisy image (the generative ones are left out)."""
    return [model.name for model in _shipped_denoiser_models(threads=1)]


def _shipped_denoiser_models(threads: int) -> list:
    from ..engine import Model, shipped_models, shipped_path

    paths = [path for path in map(shipped_path, shipped_models()) if path is not None]
    loaded = (Model.open(path, threads=threads) for path in paths)  # float and int8
    return [model for model in loaded if model.info.task in DENOISER_TASKS]


def _learned_method(model, threads: int) -> Method:
    """A bench method around a model opened with imgen (ModelError, a ValueError, if it is not
    a denoiser).  A gray (1-channel) model runs on colour images too, as the CLI runs it: on their
    Y, Cb and Cr planes in turn (the model call's ``color=COLOR_POLICY``)."""
    from ..image_model import ImageModel

    model = ImageModel.adopt(model, "imgen bench", tasks=DENOISER_TASKS)
    noise = model.info.noise_input is not None
    gray = model.info.channels == 1

    def run(x, s):
        return model(x, sigma=s, color=COLOR_POLICY) if noise else model(x, color=COLOR_POLICY)

    note = ("noise level given" if noise else "fixed noise level") + f", {model.provider}"
    if gray:
        note += "; colour images: the 1-channel model on each of Y, Cb, Cr (BT.601)"
    return Method(model.name, "learned", threads, run, gray=gray, color=gray or model.info.channels == 3,
                  note=note, published=model.info.published or "", arch=str(model.info.extra.get("arch", "")))


def resolve(names: Sequence[str] | None, models: Sequence[str] | None, threads: int) -> tuple[list[Method], dict[str, str]]:
    """The methods to run, and notes on the ones that cannot run here.

    names: method names (classical() + PEERS) or None for all; models: learned models by name or
    path (None = the shipped denoisers).  Unknown names raise ValueError listing the known ones.
    """
    peers, missing = _peer_methods(threads)
    known = list(classical()) + list(PEERS)
    wanted = list(known) if names is None else list(names)
    unknown = [n for n in wanted if n not in known]
    if unknown:
        raise ValueError(f"unknown method(s) {', '.join(unknown)}; known: {', '.join(known)} "
                         f"(learned models go in models=, not methods=)")
    imgen_methods = _imgen_methods(threads)
    out = [imgen_methods[n] for n in wanted if n in imgen_methods]
    out += [peers[n] for n in wanted if n in peers]
    notes = {n: why for n, why in missing.items() if n in wanted}
    if models is None:
        loaded = _shipped_denoiser_models(threads)
    else:
        from ..engine import Model, exact_model_path

        loaded = [Model.open(exact_model_path(m), threads=threads) for m in models]  # sr-x2 is sr-x2, not -int8
    out += [_learned_method(model, threads) for model in loaded]
    return out, notes
