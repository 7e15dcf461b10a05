"""bench/report.py: the PNG chart (legend, labels inside the axes) and the crop sheet (names on rows,
labels that fit, no empty tiles), written atomically."""
from __future__ import annotations

import json

import numpy as np
import pytest

from imgen.bench import Sample, report, run
from imgen.imageio import read_image

pytest.importorskip("matplotlib")


@pytest.fixture(scope="module")
def result():
    from skimage import data

    cam = data.camera()[200:264, 200:264].astype(np.float32) / 255
    ast = data.astronaut()[100:164, 200:264].astype(np.float32) / 255
    samples = [Sample("camera", cam), Sample("astronaut", ast)]
    # denoise-gray runs on colour images too (Y, Cb, Cr planes): the colour rows show a tile for it.
    return run(images=samples, methods=["wavelet", "skimage-wavelet", "opencv-nlm"], models=["denoise-gray"],
               sigmas=[15, 50], repeats=1, keep_outputs=True, progress=False)


def test_chart_has_a_family_legend_and_labels_inside_the_axes(result):
    import matplotlib.pyplot as plt

    fig = report.chart_figure(result)
    try:
        fig.canvas.draw()
        renderer = fig.canvas.get_renderer()
        labels = [t.get_text() for legend in fig.legends for t in legend.get_texts()]
        assert labels == ["imgen (classical)", "learned model", "peer library"]
        panels = [ax for ax in fig.axes if ax.get_title()]
        assert len(panels) == 4  # gray and colour at two sigmas
        for ax in panels:
            box = ax.get_window_extent(renderer)
            texts = ax.texts
            assert texts, ax.get_title()
            for t in texts:
                tb = t.get_window_extent(renderer)
                assert box.x0 <= tb.x0 and tb.x1 <= box.x1 and box.y0 <= tb.y0 and tb.y1 <= box.y1, \
                    (ax.get_title(), t.get_text(), tb, box)
        gray15 = next(ax for ax in panels if ax.get_title() == "gray, sigma = 15")
        assert {t.get_text() for t in gray15.texts} == {"wavelet", "skimage-wavelet", "opencv-nlm", "denoise-gray"}
    finally:
        plt.close(fig)


def test_chart_file(result, tmp_path):
    assert report.write_chart(result, tmp_path / "c.png") is None
    img = read_image(tmp_path / "c.png")
    assert img.shape[0] > 400 and img.std() > 10
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temporary file left


@pytest.mark.parametrize("name", ["skimage-wavelet", "denoise-gray", "wavelet-ti"])
def test_method_names_fit_their_column_whole(name):
    import cv2

    width = max(96, cv2.getTextSize(name, cv2.FONT_HERSHEY_PLAIN, 0.6, 1)[0][0] + 6)
    assert report.fit_label(name, width)[0] == name
    assert report.fit_label(name, 96)[0] == name  # the font shrinks before anything is cut


def test_a_name_too_long_for_any_font_is_marked_cut():
    text, scale = report.fit_label("a-model-with-a-very-long-name-indeed.onnx", 96)
    assert text.endswith("~") and len(text) < 40 and scale < 0.5


def test_crop_sheet_rows_are_named_and_have_no_empty_tiles(result, tmp_path):
    report.write_crops(result, tmp_path / "sheet.png", size=48)
    sheet = read_image(tmp_path / "sheet.png")[..., ::-1]  # RGB
    row_h = 48 + 14 + 2
    assert sheet.shape[0] == 4 * row_h  # 2 sigmas x 2 images
    cells = {"camera": 2 + 2 + 4, "astronaut": 2 + 2 + 4}  # name, clean, noisy, methods (denoise-gray: #33 item 14)
    col_w = sheet.shape[1] // cells["camera"]
    order = [(s, n) for s in (15, 50) for n in ("camera", "astronaut")]
    # rows in the order the samples were given: camera, astronaut at each sigma
    for i, (_sigma, name) in enumerate(order):
        row = sheet[i * row_h:(i + 1) * row_h]
        n = cells[name]
        label_strip = row[1:15, 1:col_w - 1]
        assert (label_strip[..., 2] < 80).any() and (label_strip[..., 0] > 200).any(), name  # yellow text: named
        for c in range(1, n):
            tile = row[15:15 + 48, c * col_w + 1:c * col_w + 49]
            assert tile.std() > 3, (name, c)  # a picture, not an empty black tile
        if n < cells["camera"]:
            rest = row[:, n * col_w:]
            assert (rest == 255).all()  # padding, not a labelled empty tile


def test_json_and_csv_are_written_atomically_and_agree(result, tmp_path):
    report.write_json(result, tmp_path / "b.json")
    report.write_csv(result, tmp_path / "b.csv")
    doc = json.loads((tmp_path / "b.json").read_text())
    assert doc == json.loads(json.dumps(report.document(result)))
    assert set(doc) == {"config", "summary", "records", "skipped", "failures", "best_per_second"}
    assert (tmp_path / "b.csv").read_text().count("\n") == len(result.records) + 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["b.csv", "b.json"]


def test_machine_metadata_names_the_cpu_flags(result):
    machine = result.config["machine"]
    assert isinstance(machine["cpu_flags"], list) and machine["processor"]
    try:
        with open("/proc/cpuinfo") as f:
            text = f.read()
    except OSError:
        pytest.skip("no /proc/cpuinfo here")
    if " sse2" in text:
        assert "sse2" in machine["cpu_flags"]


def test_table_and_json_say_the_best_per_cpu_second(result):
    text = report.format_table(result)
    assert report.VALUE_DEFINITION in text and "best per CPU second: " in text and "Pareto front" in text
    verdicts = report.document(result)["best_per_second"]
    assert verdicts and all(v["best"] in v["pareto"] or v["db_per_cpu_s"] > 0 for v in verdicts)


def test_load_average_before_and_after_is_recorded_and_busy_runs_warned(result):
    """#33 item 15: CPU time beside wall time, the load around the run, a warning on a busy machine."""
    load = result.config["load"]
    assert len(load["before"]) == 3 and len(load["after"]) == 3
    text = report.format_table(result)
    assert "CPU s/MP" in text and "load average before " in text
    cores = result.config["machine"]["cores"]
    busy = {**result.config, "load": {"before": [cores + 1.5, 1.0, 1.0], "after": [0.5, 0.5, 0.5]}}
    assert f"load average {cores + 1.5:.2f} > {cores} cores" in report.busy_warning(busy)
    idle = {**result.config, "load": {"before": [0.0, 0.0, 0.0], "after": [cores * 1.0, 0.0, 0.0]}}
    assert report.busy_warning(idle) is None
    assert report.busy_warning({"machine": {"cores": 2}}) is None  # older bench.json: nothing recorded


def test_verdict_per_task_and_the_crop_beside_the_timings(result):
    """#33 item 17: "on this machine, for gray sigma 15: X is best; Y is the best per CPU second"."""
    lines = report.verdicts(result.summary())
    assert {line.split(":")[0] for line in lines} == {f"on this machine, for {k} sigma {s}"
                                                      for k in ("gray", "color") for s in ("15", "50")}
    for line, v in zip(lines, report.best_per_second(result.summary())):
        assert f": {v.top} is best (" in line and (f"; {v.best} is the best per CPU second" in line
                                                  or v.best == v.top)
    assert "times measured on whole images (64x64)" in report.format_table(result)
    assert report.timing_scope({"crop": 256}, []) == "256x256 centre crops"
