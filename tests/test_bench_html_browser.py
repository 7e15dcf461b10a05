"""The bench report (bench/html.py) in a real browser: headless Chromium (Debian's chromium and
chromium-driver) driven by Selenium opens index.html from a file URL, sorts the table, toggles a
legend entry, hovers a point, drags a comparison slider, and checks screenshots.

Skips, saying why, where chromium, chromedriver or selenium is missing; with IMGEN_REQUIRE_BROWSER=1
(set by .ci/run, which installs them) it fails instead.  IMGEN_SCREENSHOTS=DIR keeps the screenshots.
"""
from __future__ import annotations

import os
import shutil
from pathlib import Path

import numpy as np
import pytest

from imgen.bench import Sample, gallery, html, report, run


def _missing() -> str | None:
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "selenium is not installed (pip install '.[dev]')"
    for exe, package in (("chromium", "chromium"), ("chromedriver", "chromium-driver")):
        if shutil.which(exe) is None:
            return f"{exe} is not on PATH (apt-get install {package}; .ci/run installs it)"
    return None


@pytest.fixture(scope="module")
def driver():
    why = _missing()
    if why:
        if os.environ.get("IMGEN_REQUIRE_BROWSER"):
            pytest.fail(f"IMGEN_REQUIRE_BROWSER is set but {why}")
        pytest.skip(why)
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    opts = webdriver.ChromeOptions()
    opts.binary_location = shutil.which("chromium")
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--window-size=1300,1000", "--force-device-scale-factor=1", "--hide-scrollbars"):
        opts.add_argument(arg)
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    d = webdriver.Chrome(service=Service(shutil.which("chromedriver")), options=opts)
    d.set_page_load_timeout(60)
    yield d
    d.quit()


@pytest.fixture(scope="module")
def bench(tmp_path_factory):
    """A small real run (gray and colour, three methods, two levels) and its report."""
    from skimage import data

    cam = data.camera()[180:276, 180:276].astype(np.float32) / 255
    ast = data.astronaut()[90:186, 190:286].astype(np.float32) / 255
    result = run(images=[Sample("camera", cam), Sample("astronaut", ast)], methods=["wavelet", "skimage-wavelet"],
                 models=["denoise-gray"], sigmas=[25, 50], repeats=1, keep_outputs=True, progress=False)
    out = tmp_path_factory.mktemp("report")
    html.write(out / "index.html", report.document(result), gallery.crops_from_result(result))
    return result, out / "index.html"


@pytest.fixture
def page(driver, bench):
    from selenium.webdriver.support.ui import WebDriverWait

    driver.get((bench[1]).as_uri())
    WebDriverWait(driver, 30).until(
        lambda d: d.execute_script("return document.querySelectorAll('.viewer[data-ready]').length") == 2)
    return driver


def _shot(element, name: str, tmp_path: Path) -> np.ndarray:
    """Screenshot of an element as an RGB array; also kept under $IMGEN_SCREENSHOTS."""
    import cv2

    png = element.screenshot_as_png
    (tmp_path / name).write_bytes(png)
    keep = os.environ.get("IMGEN_SCREENSHOTS")
    if keep:
        Path(keep).mkdir(parents=True, exist_ok=True)
        (Path(keep) / name).write_bytes(png)
    img = cv2.imdecode(np.frombuffer(png, np.uint8), cv2.IMREAD_COLOR)[..., ::-1]
    assert img.shape[0] > 20 and img.shape[1] > 20 and img.std() > 5, f"{name} is blank"
    return img


def _markers(img: np.ndarray, colors: dict[str, str]) -> dict[str, int]:
    """How many separate marker-sized blobs of each method's colour the picture shows."""
    import cv2

    found = {}
    for method, hexcolor in colors.items():
        rgb = np.array([int(hexcolor[i:i + 2], 16) for i in (1, 3, 5)])
        mask = (np.abs(img.astype(int) - rgb).max(axis=2) <= 10).astype(np.uint8)
        n, _, stats, _ = cv2.connectedComponentsWithStats(mask)
        found[method] = int(sum(1 for i in range(1, n) if stats[i, cv2.CC_STAT_AREA] >= 12))
    return found


def _colors(driver) -> dict[str, str]:
    return driver.execute_script("return JSON.parse(document.getElementById('bench-data').textContent).colors")


def test_opens_offline_without_script_errors(page, bench):
    from selenium.webdriver.common.by import By

    errors = [e for e in page.get_log("browser") if e["level"] == "SEVERE"]
    assert not errors, errors
    assert page.current_url.startswith("file://")
    rows = page.find_elements(By.CSS_SELECTOR, "#results tbody tr")
    assert len(rows) == len(bench[0].summary()) == 12  # denoise-gray on colour too (#33 item 14)
    learned_colour = page.find_elements(By.XPATH, "//tr[@data-method='denoise-gray'][td[3]='denoise colour']")
    assert len(learned_colour) == 2


def test_table_sorts_by_a_clicked_column(page, tmp_path):
    from selenium.webdriver.common.by import By

    head = page.find_element(By.XPATH, "//th[starts-with(normalize-space(.), 'PSNR')]")

    def psnrs():
        return [float(td.get_attribute("data-v")) for td in page.find_elements(By.CSS_SELECTOR, "#results tbody td:nth-child(5)")]

    before = psnrs()
    assert before != sorted(before)  # the page starts grouped by task and level, not by PSNR
    head.click()
    assert psnrs() == sorted(before) and head.get_attribute("aria-sort") == "ascending"
    head.click()
    assert psnrs() == sorted(before, reverse=True) and head.get_attribute("aria-sort") == "descending"
    method = page.find_element(By.XPATH, "//th[starts-with(normalize-space(.), 'method')]")
    method.click()
    names = [td.text for td in page.find_elements(By.CSS_SELECTOR, "#results tbody td:first-child")]
    assert names == sorted(names) and head.get_attribute("aria-sort") == "none"
    shot = _shot(page.find_element(By.ID, "results"), "table.png", tmp_path)
    assert shot.shape[0] >= 11 * 15  # a header and ten rows


def test_chart_points_and_legend_toggle(page, bench, tmp_path):
    from selenium.webdriver.common.by import By

    colors = _colors(page)
    assert set(colors) == {"wavelet", "skimage-wavelet", "denoise-gray"}
    summary = bench[0].summary()
    panels = page.find_elements(By.CSS_SELECTOR, "svg.panel")
    titles = [p.find_element(By.CSS_SELECTOR, "text.title").text for p in panels]
    assert titles == ["denoise gray, σ = 25", "denoise gray, σ = 50", "denoise colour, σ = 25", "denoise colour, σ = 50"]
    expect = [{r["method"] for r in summary if (r["kind"], r["sigma"]) == (k, s)}
              for k in ("gray", "color") for s in (25.0, 50.0)]
    page.execute_script("window.scrollTo(0, 0)")
    for i, (panel, methods) in enumerate(zip(panels, expect)):
        found = _markers(_shot(panel, f"chart-{i}.png", tmp_path), colors)
        assert found == {m: int(m in methods) for m in colors}, (titles[i], found)
    # Hide wavelet: its point goes from every panel, the others stay.
    button = page.find_element(By.CSS_SELECTOR, '.legend-item[data-method="wavelet"]')
    button.click()
    assert button.get_attribute("aria-pressed") == "false"
    visible = [p for p in page.find_elements(By.CSS_SELECTOR, ".panel .pt") if p.is_displayed()]
    assert len(visible) == len(summary) - 4
    for i, (panel, methods) in enumerate(zip(panels, expect)):
        found = _markers(_shot(panel, f"chart-{i}-no-wavelet.png", tmp_path), colors)
        assert found == {m: int(m in methods and m != "wavelet") for m in colors}, (titles[i], found)
    _shot(page.find_element(By.ID, "chart"), "chart-no-wavelet.png", tmp_path)
    button.click()
    assert len([p for p in page.find_elements(By.CSS_SELECTOR, ".panel .pt") if p.is_displayed()]) == len(summary)


def test_hover_names_the_point(page):
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By

    point = page.find_element(By.CSS_SELECTOR, '.panel .pt[data-method="denoise-gray"]')
    page.execute_script("arguments[0].scrollIntoView({block: 'center'})", point)
    ActionChains(page).move_to_element(point).perform()
    tip = page.find_element(By.ID, "tip")
    assert tip.is_displayed() and tip.text.startswith("denoise-gray (learned): PSNR ") and "s/MP" in tip.text


def _sharpness(img: np.ndarray) -> float:
    g = img.astype(np.float32).mean(axis=2)
    return float(np.abs(np.diff(g, axis=1)).mean())


def test_slider_compares_two_choices_and_the_difference_map(page, tmp_path):
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    viewer = page.find_element(By.CSS_SELECTOR, '.viewer[data-image="camera"]')
    page.execute_script("arguments[0].scrollIntoView()", viewer)
    stage = viewer.find_element(By.CSS_SELECTOR, ".compare")
    assert Select(viewer.find_element(By.CSS_SELECTOR, "select.left")).first_selected_option.text == "noisy σ 25"
    Select(viewer.find_element(By.CSS_SELECTOR, "select.zoom")).select_by_value("3")
    assert stage.size["width"] == 3 * 96 and stage.size["height"] == 3 * 96  # 1:1 crop, zoomed 3x
    # Drag the divider from the middle to a quarter of the way across.
    width = stage.size["width"]
    ActionChains(page).move_to_element(stage).click_and_hold().move_by_offset(-width // 4, 0).release().perform()
    pos = float(stage.get_attribute("data-pos"))
    assert 22 <= pos <= 28, pos
    assert viewer.find_element(By.CSS_SELECTOR, "input.slider").get_attribute("value") == f"{pos:g}"
    shot = _shot(stage, "compare.png", tmp_path)
    cut = int(shot.shape[1] * pos / 100)
    left, right = shot[:, 4:cut - 4], shot[:, cut + 4:]
    assert _sharpness(left) > 1.5 * _sharpness(right)  # noisy on the left, denoised on the right

    def diff_total():
        return page.execute_script(
            "var c = arguments[0].querySelector('canvas.diff'), d = c.getContext('2d')"
            ".getImageData(0, 0, c.width, c.height).data, s = 0;"
            "for (var i = 0; i < d.length; i += 4) s += d[i]; return s;", viewer)

    assert diff_total() > 0
    _shot(viewer, "viewer.png", tmp_path)
    Select(viewer.find_element(By.CSS_SELECTOR, "select.left")).select_by_value("clean")
    Select(viewer.find_element(By.CSS_SELECTOR, "select.right")).select_by_value("clean")
    page.execute_script("return new Promise(r => setTimeout(r, 200))")
    assert diff_total() == 0  # the same picture on both sides
    Select(viewer.find_element(By.CSS_SELECTOR, "select.sigma")).select_by_index(1)
    assert Select(viewer.find_element(By.CSS_SELECTOR, "select.right")).first_selected_option.text == "clean"


def test_run_metadata_is_shown(page, tmp_path):
    from selenium.webdriver.common.by import By

    meta = page.find_element(By.ID, "meta")
    for word in ("versions", "onnxruntime", "CPU flags", "seed 0", "machine", "load average", "whole images (96x96)"):
        assert word in meta.text
    _shot(meta, "meta.png", tmp_path)


def test_verdicts_are_shown_at_the_top(page, tmp_path):
    """#33 items 15 and 17: the verdicts in the header, CPU time in the table's heading row."""
    from selenium.webdriver.common.by import By

    verdicts = page.find_element(By.ID, "verdicts")
    assert verdicts.is_displayed() and verdicts.location["y"] < page.find_element(By.ID, "results").location["y"]
    lines = verdicts.find_elements(By.TAG_NAME, "li")
    assert len(lines) == 4 and lines[0].text.startswith("On this machine, for gray σ 25: ")
    assert "CPU s / MP" in page.find_element(By.CSS_SELECTOR, "#results thead").text
    _shot(page.find_element(By.TAG_NAME, "header"), "verdicts.png", tmp_path)
