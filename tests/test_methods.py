"""imgen.methods: the registry of classical methods, and every reader generated from it."""
from __future__ import annotations

import dataclasses
import inspect
import pickle
from dataclasses import dataclass

import numpy as np
import pytest

import imgen
from imgen import methods
from imgen.methods import REGISTRY, MethodRegistry
from imgen.model_info import IMAGE_TASKS


def _toy(registry: MethodRegistry, name="toy", task="denoise", **fields):
    """Register a method whose Params has ``fields`` (name -> dataclasses.field) in ``registry``."""
    params = dataclasses.make_dataclass("Params", [(k, "float | None", f) for k, f in fields.items()],
                                        bases=(methods.Params,), frozen=True, kw_only=True)

    @registry.register(name, task=task, help="a toy")
    class Toy:
        Params = params

        def __call__(self, image, p):
            return image

    return Toy


def test_a_second_method_of_one_task_and_name_is_refused():
    registry = MethodRegistry()
    _toy(registry)
    _toy(registry, task="sr")  # the same name for another task is another method
    with pytest.raises(ValueError, match="method 'toy' of task 'denoise' is registered twice"):
        _toy(registry)
    assert registry.by_task() == {"denoise": ("toy",), "sr": ("toy",)}


def test_the_shipped_registry_refuses_a_duplicate_too():
    with pytest.raises(ValueError, match="registered twice"):
        _toy(REGISTRY, name="bm3d")
    assert len([m for m in REGISTRY if (m.task, m.name) == ("denoise", "bm3d")]) == 1


def test_a_method_for_a_task_the_model_format_lacks_is_refused():
    with pytest.raises(ValueError, match="task 'dehaze' is not an image task of the model format"):
        _toy(MethodRegistry(), task="dehaze")
    with pytest.raises(ValueError, match="not an image task"):
        _toy(MethodRegistry(), task="generate")   # a model task, but not image to image


def test_one_field_name_means_one_option():
    registry = MethodRegistry()
    _toy(registry, "a", sigma=methods.sigma_param())
    _toy(registry, "b", sigma=methods.sigma_param())  # made by one function: the same field
    with pytest.raises(ValueError, match="field 'sigma' differs from method a's"):
        _toy(registry, "c", sigma=methods.param(0.1, help="another default"))


def test_params_must_be_a_frozen_dataclass():
    registry = MethodRegistry()

    class Loose:
        @dataclass
        class Params:
            x: int = 1

    with pytest.raises(TypeError, match="frozen dataclass"):
        registry.register("loose", task="denoise", help="")(Loose)


def test_every_task_is_a_model_task_and_a_bench_task_and_every_method_has_help_for_each_field():
    from imgen.bench.tasks import TASKS as BENCH_TASKS

    assert set(REGISTRY.tasks()) <= set(IMAGE_TASKS) and set(REGISTRY.tasks()) <= set(BENCH_TASKS)
    for task in REGISTRY.tasks():   # bench knows every registered method of the task (its input row aside)
        bench = BENCH_TASKS[task]
        assert set(REGISTRY.names(task)) - {bench.input_row} <= set(bench.known_methods()), task
    assert {"bm3d", "wavelet"} <= set(REGISTRY.names("denoise"))
    for m in REGISTRY:
        assert m.help and m.layout in ("rgb", "any")
        for f in m.fields():
            assert f.metadata["help"], (m.name, f.name)


@pytest.mark.parametrize("method, task, values, match", [
    ("wavelet", "denoise", {"shifts": 0}, "shifts must be an integer >= 1, got 0"),
    ("wavelet", "denoise", {"wavelet": "db99"}, "wavelet must be one of haar"),
    ("bm3d", "denoise", {"stage": "wiener"}, "stage must be one of both, hard"),
    ("bm3d", "denoise", {"sigma": 2.0}, r"sigma must be a number in \[0.0, 1.0\]"),
    ("bm3d", "denoise", {"shifts": 2}, "method bm3d \\(denoise\\) takes sigma, stage; not shifts"),
    ("wiener", "deblur", {}, "needs the blur kernel"),
    ("wiener", "deblur", {"kernel": "gauss3", "balance": 0}, r"balance must be a number in \(0.0, 1000.0\]"),
    ("richardson_lucy", "deblur", {"kernel": "gauss3", "iterations": 1001}, "iterations must be an integer from 1 to 1000"),
    ("bicubic", "sr", {}, "needs a scale"),
    ("bicubic", "sr", {"scale": True}, "scale must be an integer from 1 to 16"),
])
def test_params_are_checked_from_their_field_metadata(method, task, values, match):
    with pytest.raises(imgen.ImgenError, match=match):
        methods.params(method, task, **values)


def test_params_are_hashable_picklable_and_keep_a_kernel_as_rows():
    p = methods.params("wiener", "deblur", kernel=np.eye(3))
    assert p.kernel == ((1 / 3, 0.0, 0.0), (0.0, 1 / 3, 0.0), (0.0, 0.0, 1 / 3))
    assert pickle.loads(pickle.dumps(p)) == p and hash(p) == hash(dataclasses.replace(p))


def test_defaults_are_stated_once():
    """The functions' keyword defaults are the registered Params' (deblur's come from one constant)."""
    from imgen.restoration import deblur

    wiener, rl = REGISTRY.get("wiener", "deblur"), REGISTRY.get("richardson_lucy", "deblur")
    assert wiener.params(kernel="gauss3").balance == inspect.signature(deblur.wiener).parameters["balance"].default
    assert rl.params(kernel="gauss3").iterations == inspect.signature(deblur.richardson_lucy).parameters[
        "iterations"].default
    wavelet = REGISTRY.get("wavelet").params()
    sig = inspect.signature(imgen.denoise.wavelet).parameters
    assert (wavelet.wavelet, wavelet.levels, wavelet.threshold, wavelet.mode, wavelet.shifts) == tuple(
        sig[k].default for k in ("wavelet", "levels", "method", "mode", "shifts"))


def test_a_method_call_is_its_function(rng):
    img = rng.integers(0, 256, (20, 18, 3), dtype=np.uint8)
    m = REGISTRY.get("wavelet")
    np.testing.assert_array_equal(m(img, m.params(sigma=0.05, shifts=4)),
                                  imgen.denoise.wavelet(img, sigma=0.05, shifts=4))
    with pytest.raises(TypeError, match="takes its own Params"):
        m(img, methods.params("bm3d"))
    with pytest.raises(imgen.ImgenError, match="method must be one of bm3d, wavelet"):
        REGISTRY.get("nope")
    with pytest.raises(imgen.ImgenError, match="task must be one of"):
        REGISTRY.get("bm3d", "inpaint")


@pytest.fixture
def registered_toy(monkeypatch):
    """A toy denoiser (adds ``offset`` / 255) registered in the shipped registry for one test."""
    monkeypatch.setattr(REGISTRY, "_methods", dict(REGISTRY._methods))
    monkeypatch.setattr(REGISTRY, "_fields", dict(REGISTRY._fields))

    @REGISTRY.register("toy", task="denoise", help="adds an offset")
    class Toy:
        @dataclass(frozen=True, kw_only=True)
        class Params(methods.Params):
            sigma: float | None = methods.sigma_param()
            offset: int = methods.param(0, help="gray levels added", min=0, max=9)

        def __call__(self, image, p):
            return np.clip(image.astype(np.int32) + p.offset, 0, 255).astype(image.dtype)

    return Toy


def test_a_registered_method_reaches_the_cli_bench_and_serve_with_no_other_edit(registered_toy, tmp_path, capsys):
    import cv2

    from imgen.bench.methods import classical
    from imgen.cli import main
    from imgen.serve.models import serve_models

    assert "toy" in classical()
    assert "toy" in serve_models([])
    with pytest.raises(SystemExit):
        main(["denoise", "--help"])
    out = capsys.readouterr().out
    assert "toy" in out and "--offset" in out and "gray levels added (default 0)" in out
    src = tmp_path / "in.png"
    cv2.imwrite(str(src), np.full((8, 8), 100, np.uint8))
    assert main(["denoise", str(src), "-o", str(tmp_path / "o.png"), "--method", "toy", "--offset", "3", "-q"]) == 0
    assert cv2.imread(str(tmp_path / "o.png"), cv2.IMREAD_UNCHANGED).max() == 103
    with pytest.raises(SystemExit):   # its bounds are an argument error
        main(["denoise", str(src), "-o", str(tmp_path / "p.png"), "--method", "toy", "--offset", "10"])
    assert "argument --offset: must be an integer from 0 to 9" in capsys.readouterr().err
    assert main(["denoise", str(src), "-o", str(tmp_path / "q.png"), "--method", "wavelet", "--offset", "1"]) == 1
    assert "--offset is an option of toy (denoise), not of --method wavelet" in capsys.readouterr().err
