"""bench/html.py (with gallery.py, svgchart.py, published.py): the self-contained report page, its
checks on bench.json and the crop file, and ``imgen bench --report DIR``.  The page in a real
browser: tests/test_bench_html_browser.py."""
from __future__ import annotations

import json
import math
import re

import numpy as np
import pytest

from imgen.bench import Sample, gallery, html, published, report, run
from imgen.cli import main


@pytest.fixture(scope="module")
def result():
    from skimage import data

    cam = data.camera()[200:264, 200:264].astype(np.float32) / 255
    ast = data.astronaut()[100:164, 200:264].astype(np.float32) / 255
    return run(images=[Sample("camera", cam), Sample("astronaut", ast)], methods=["wavelet", "skimage-wavelet"],
               models=["denoise-gray"], sigmas=[25, 50], repeats=1, keep_outputs=True, progress=False)


def _data(page: str) -> dict:
    m = re.search(r'<script type="application/json" id="bench-data">(.*?)</script>', page, re.S)
    return json.loads(m.group(1))


def test_page_holds_every_row_point_and_picture(result):
    doc = report.document(result)
    crops = gallery.crops_from_result(result)
    page = html.render(doc, crops)
    rows = result.summary()
    assert page.count('<tr data-method=') == len(rows) == 2 * 3 + 2 * 3  # colour too: denoise-gray (#33 item 14)
    assert page.count('class="pt"') == len(rows)
    assert page.count('class="legend-item"') == 3
    assert page.count("<svg class=\"panel\"") == 4
    data = _data(page)
    assert [img["name"] for img in data["images"]] == ["camera", "astronaut"]
    cam = data["images"][0]
    assert [lv["sigma"] for lv in cam["levels"]] == [25.0, 50.0]
    assert sorted(m["name"] for m in cam["levels"][0]["methods"]) == ["denoise-gray", "skimage-wavelet", "wavelet"]
    assert {m["name"] for m in data["images"][1]["levels"][0]["methods"]} == {"wavelet", "skimage-wavelet",
                                                                              "denoise-gray"}
    rec = next(r for r in result.records if (r["image"], r["sigma"], r["method"]) == ("camera", 25.0, "wavelet"))
    shown = next(m for m in cam["levels"][0]["methods"] if m["name"] == "wavelet")
    assert shown["psnr"] == pytest.approx(rec["psnr"])
    for key in ("versions", "CPU flags", "seed 0", "machine"):
        assert key in page


def test_page_is_self_contained(result):
    page = html.render(report.document(result), gallery.crops_from_result(result))
    assert not re.search(r"(src|href)=[\"']?(https?:|//)", page)
    assert "<link" not in page and "@import" not in page and "url(http" not in page
    srcs = re.findall(r'"(data:[^"]{0,30})', page)
    assert srcs and all(s.startswith("data:image/webp;base64,") for s in srcs)


def test_crops_are_lossless_and_round_trip(result, tmp_path):
    import cv2

    crops = gallery.crops_from_result(result)
    assert len(crops) == 2 + 2 * (1 + 3) + 2 * (1 + 3)  # clean; per sigma noisy + methods
    gallery.save(tmp_path / "c.npz", crops)
    back = gallery.load(tmp_path / "c.npz")
    assert [(c.image, c.sigma, c.source) for c in back] == [(c.image, c.sigma, c.source) for c in crops]
    for a, b in zip(crops, back):
        assert np.array_equal(a.pixels, b.pixels)
    import base64

    c = crops[3]
    decoded = cv2.imdecode(np.frombuffer(base64.b64decode(gallery.data_uri(c.pixels).split(",", 1)[1]), np.uint8),
                           cv2.IMREAD_UNCHANGED)
    decoded = decoded if c.pixels.ndim == 3 else decoded[..., 0] if decoded.ndim == 3 else decoded
    if c.pixels.ndim == 3:
        decoded = decoded[..., ::-1]
    assert np.array_equal(decoded, c.pixels)


def test_best_per_task_and_level_is_marked(result):
    page = html.render(report.document(result), None)
    for kind in ("gray", "color"):
        for sigma in (25.0, 50.0):
            rows = [r for r in result.summary() if (r["kind"], r["sigma"]) == (kind, sigma)]
            best = max(rows, key=lambda r: r["psnr"])
            cell = f'<td data-v="{float(best["psnr"])!r}" class="best"'
            assert cell in page, (kind, sigma)
    assert "No crops were saved" in page


def _doc(name="camera", psnr=30.0, **config):
    cfg = {"images": [name], "image_source": "given", "methods": ["wavelet"], "protocol": {"seed": 0},
           "sigmas": [25.0], "versions": {"imgen": "x"}, "machine": {"cpu_flags": ["avx2"]}}
    cfg.update(config)
    row = {"kind": "gray", "sigma": 25.0, "method": "wavelet", "family": "imgen", "psnr": psnr, "ssim": 0.8,
           "wall_s_per_mpix": 0.1, "cpu_s_per_mpix": 0.2, "threads": 2, "images": 1, "psnr_noisy": 20.0}
    rec = {"image": name, "sigma": 25.0, "method": "wavelet", "psnr": psnr, "ssim": 0.8, "psnr_noisy": 20.0}
    return {"config": cfg, "summary": [row], "records": [rec], "skipped": {}, "failures": []}


def test_hostile_names_are_escaped():
    evil = '</script><img src=x onerror="alert(1)">&'
    doc = _doc(name=evil)
    doc["summary"][0]["method"] = doc["records"][0]["method"] = evil
    doc["config"]["methods"] = [evil]
    crops = [gallery.Crop(evil, None, "clean", np.zeros((8, 8), np.uint8)),
             gallery.Crop(evil, 25.0, "noisy", np.full((8, 8), 9, np.uint8)),
             gallery.Crop(evil, 25.0, evil, np.full((8, 8), 5, np.uint8))]
    page = html.render(doc, crops)
    assert evil not in page and "<img src=x" not in page
    assert page.count("</script>") == 2  # the data block's end and the script's end only
    assert _data(page)["images"][0]["name"] == evil


def test_infinite_psnr_is_shown_not_a_json_error():
    page = html.render(_doc(psnr=math.inf), None)
    assert "∞" in page and "Infinity" not in page
    json.loads(re.search(r'id="bench-data">(.*?)</script>', page, re.S).group(1))


def test_published_figures_only_for_set12_whole_images():
    names = [f"{i:02d}" for i in range(1, 13)]
    set12 = {"image_source": "/data/Set12", "images": names, "crop": None, "protocol": {"shave": 0}}
    assert published.published_psnr(set12, "bm3d", "gray", 25.0) == (29.97, "BM3D (Dabov et al. 2007)")
    assert published.published_psnr(set12, "bm3d-ref", "gray", 50) == (26.72, "BM3D (Dabov et al. 2007)")
    assert published.published_psnr(set12, "wavelet", "gray", 25.0) is None
    assert published.published_psnr(set12, "bm3d", "gray", 30.0) is None
    assert published.published_psnr({**set12, "crop": 256}, "bm3d", "gray", 25.0) is None
    assert published.published_psnr({**set12, "images": names[:11]}, "bm3d", "gray", 25.0) is None
    assert published.published_psnr({**set12, "image_source": "/data/other"}, "bm3d", "gray", 25.0) is None
    doc = _doc(**set12)
    doc["summary"][0]["method"] = "bm3d"
    assert "29.97 <small>BM3D (Dabov et al. 2007)</small>" in html.render(doc, None)


@pytest.mark.parametrize("content, match", [
    (None, "does not exist"),
    ("{not json", "not a readable JSON file"),
    ("[]", "expected a JSON object"),
    ('{"config": {}, "summary": {}, "records": []}', "'summary' must be a list"),
    ('{"config": {}, "summary": [{"kind": "gray"}], "records": []}', r"summary\[0\] lacks or mistypes sigma"),
    ('{"config": {}, "summary": [], "records": [{"image": 1}]}', r"records\[0\] lacks or mistypes image"),
    ('{"config": {}, "summary": [], "records": [], "failures": 3}', "'failures' must be a list"),
])
def test_bad_bench_json_is_a_clear_error(tmp_path, content, match):
    if content is not None:
        (tmp_path / "bench.json").write_text(content)
    with pytest.raises(ValueError, match=match):
        html.load_document(tmp_path / "bench.json")


@pytest.mark.parametrize("make, match", [
    (lambda f: f.write(b"not a zip"), "not a crop file"),
    (lambda f: np.savez(f, index=np.array('{"a": 1}')), "must be a list"),
    (lambda f: np.savez(f, index=np.array("[{oops")), "not a crop file"),
    (lambda f: np.savez(f, c0=np.zeros((4, 4), np.uint8)), "index"),
    (lambda p: np.savez(p, index=np.array('[{"image": "a", "sigma": null, "source": "clean"}]'),
                        c0=np.zeros((4, 4), np.float32)), "expected uint8"),
    (lambda p: np.savez(p, index=np.array('[{"image": "a", "sigma": null, "source": "clean"}]')), "c0"),
    (lambda p: np.savez(p, index=np.array('[{"image": 5, "sigma": "x", "source": "clean"}]'),
                        c0=np.zeros((4, 4), np.uint8)), "string image"),
])
def test_bad_crop_file_is_a_clear_error(tmp_path, make, match):
    path = tmp_path / "c.npz"
    with open(path, "wb") as f:
        make(f)
    with pytest.raises(ValueError, match=match):
        gallery.load(path)


def test_cli_writes_the_report_and_rebuilds_it(tmp_path, capsys):
    import cv2
    from skimage import data

    folder = tmp_path / "imgs"
    folder.mkdir()
    cv2.imwrite(str(folder / "cam.png"), data.camera()[:48, :48])
    out = tmp_path / "out"
    assert main(["bench", "--images", str(folder), "--methods", "wavelet", "--models", "--sigmas", "25",
                 "--repeats", "1", "--out", str(out), "-q"]) == 0
    assert {"index.html", html.CROPS_FILE} <= {p.name for p in out.iterdir()}
    page = (out / "index.html").read_text()
    doc = json.loads((out / "bench.json").read_text())
    cmd = doc["config"]["command"]
    assert cmd.startswith("imgen bench --images ") and "--methods wavelet --models --sigmas 25 " in cmd and "--seed 0" in cmd
    assert _data(page)["images"][0]["name"] == "cam"
    (out / "index.html").unlink()
    capsys.readouterr()
    assert main(["bench", "--report", str(out)]) == 0
    assert (out / "index.html").read_text() == page  # the same page from the files alone
    (out / html.CROPS_FILE).unlink()
    assert main(["bench", "--report", str(out)]) == 0
    assert "report-crops.npz not found" in capsys.readouterr().err
    assert _data((out / "index.html").read_text())["images"] == []
    assert not [p for p in out.iterdir() if p.name.startswith(".")]


def test_cli_report_of_a_folder_without_a_run(tmp_path, capsys):
    assert main(["bench", "--report", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert "bench.json does not exist" in err and "Traceback" not in err
    assert main(["bench", "--report", str(tmp_path / "nope")]) == 1
    assert "is not a folder" in capsys.readouterr().err


def test_pictures_for_at_most_max_images(result):
    crops = gallery.crops_from_result(result, max_images=1)
    assert {c.image for c in crops} == {"camera"}
    page = html.render(report.document(result), crops)
    assert "Pictures for 1 of the 2 images." in page and len(_data(page)["images"]) == 1


def test_deblur_gallery_and_metadata_name_the_kernels():
    """Named levels (deblurring kernels) are shown by name, not by their place in the grid."""
    from skimage import data

    cam = data.camera()[200:264, 200:264].astype(np.float32) / 255
    res = run(task="deblur", levels=["motion19", "gauss1.6"], images=[Sample("camera", cam)], methods=["wiener"],
              models=[], repeats=1, keep_outputs=True, progress=False)
    page = html.render(report.document(res), gallery.crops_from_result(res))
    levels = _data(page)["images"][0]["levels"]
    assert [(lv["name"], lv["label"]) for lv in levels] == [("kernel", "motion19"), ("kernel", "gauss1.6")]
    assert "kernel motion19, gauss1.6" in page
    assert "σ  (0-255 scale)" not in page


def test_denoise_gallery_levels_keep_sigma_labels(result):
    levels = _data(html.render(report.document(result), gallery.crops_from_result(result)))["images"][0]["levels"]
    assert [(lv["name"], lv["label"]) for lv in levels] == [("σ", "25"), ("σ", "50")]


def test_page_states_verdicts_load_crop_and_a_busy_machine(result):
    """#33 items 15 and 17: verdicts at the top, the load average, the timing crop, a busy warning."""
    doc = report.document(result)
    page = html.render(doc, None)
    header = page.split("</header>")[0]
    assert 'id="verdicts"' in header and "On this machine, for gray σ 25: " in header
    assert "is the best per CPU second" in header or "also the best per CPU second" in header
    assert "<dt>load average</dt><dd>before " in page
    assert "CPU s / MP the CPU time (all threads), both on whole images (64x64)" in page
    assert 'id="busy"' not in page or report.busy_warning(doc["config"])
    cores = doc["config"]["machine"]["cores"]
    doc["config"] = {**doc["config"], "load": {"before": [cores + 3.0, 1.0, 1.0], "after": [cores + 2.0, 1.0, 1.0]}}
    busy = html.render(doc, None).split("</header>")[0]
    assert 'id="busy"' in busy and f"load average {cores + 3.0:.2f} &gt; {cores} cores" in busy


def test_published_column_says_where_figures_come_from():
    """#33 item 16: off Set12 the column explains its dashes; on Set12 bm3d's figure is filled."""
    page = html.render(_doc(), None)
    assert "BM3D (Dabov et al. 2007)" in page and "imgen bench --images set12/" in page
    names = [f"{i:02d}" for i in range(1, 13)]
    doc = _doc(image_source="/data/set12", images=names, crop=None, protocol={"shave": 0})
    doc["summary"][0]["method"] = "bm3d"
    page = html.render(doc, None)
    assert "29.97 <small>BM3D (Dabov et al. 2007)</small>" in page and "imgen bench --images set12/" not in page
    arch = {**doc["config"], "method_arch": {"denoise-gray": "ffdnet", "mine": "dncnn", "other": "unet"}}
    assert published.published_psnr(arch, "denoise-gray", "gray", 25) == (
        30.43, "FFDNet (Zhang et al. 2018), the architecture's paper with its own weights")
    assert published.published_psnr(arch, "mine", "gray", 50)[0] == 27.18
    assert published.published_psnr(arch, "other", "gray", 25) is None
    assert published.published_psnr({**arch, "task": "jpeg"}, "denoise-gray", "gray", 25) is None
    doc["summary"][0]["method"] = "denoise-gray"
    doc["config"] = arch
    assert "30.43 <small>FFDNet (Zhang et al. 2018), the architecture" in html.render(doc, None)


def test_recorded_command_spells_out_the_defaults(tmp_path):
    """#33 item 17: the levels, threads and crop a run took by default are in its command."""
    import cv2
    from skimage import data

    folder = tmp_path / "imgs"
    folder.mkdir()
    cv2.imwrite(str(folder / "cam.png"), data.camera()[:48, :48])
    out = tmp_path / "out"
    assert main(["bench", "--images", str(folder), "--methods", "wavelet", "--models", "--repeats", "1",
                 "--crop", "32", "--out", str(out), "-q"]) == 0
    cmd = json.loads((out / "bench.json").read_text())["config"]["command"]
    import os

    assert "--sigmas 15 25 50 " in cmd and f"--threads {os.cpu_count()} " in cmd and "--crop 32" in cmd
