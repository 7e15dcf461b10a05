"""The benchmark as one self-contained HTML page (``bench-out/index.html``).

Everything is inlined -- styles, script, SVG chart, lossless WebP crops -- so the file opens
offline from a file URL.  Sections: the verdicts per task and level and a busy-machine warning
(report.verdicts, report.busy_warning) at the top, a sortable results table (best per task and
level marked, published figures beside ours where known), the PSNR-vs-time chart (svgchart.py), per image a
before/after slider with zoom and a difference map, and the run's metadata.  Built from the
document ``report.document(result)`` returns (what bench.json holds) and the crops of gallery.py.
"""
from __future__ import annotations

import json
import math
import os
from html import escape
from importlib import resources
from pathlib import Path

from ..atomic import atomic_write
from . import gallery, svgchart
from .published import published_psnr

CROPS_FILE = "report-crops.npz"  # beside bench.json: the crops, for --report DIR
TASK_NAMES = {"gray": "denoise gray", "color": "denoise colour"}
SUMMARY_KEYS = {"kind": str, "sigma": (int, float), "method": str, "family": str, "psnr": (int, float),
                "ssim": (int, float), "wall_s_per_mpix": (int, float), "cpu_s_per_mpix": (int, float),
                "threads": int, "images": int}
RECORD_KEYS = {"image": str, "sigma": (int, float), "method": str, "psnr": (int, float),
               "ssim": (int, float), "psnr_noisy": (int, float)}


def load_document(path: str | os.PathLike) -> dict:
    """Read and check a bench.json.  ValueError naming the file and what was expected."""
    path = Path(path)
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ValueError(f"{path} does not exist (run imgen bench --out {path.parent} first)") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise ValueError(f"{path} is not a readable JSON file ({e})") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("config"), dict):
        raise ValueError(f"{path}: expected a JSON object with 'config', 'summary' and 'records' as imgen bench writes")
    for key, fields in (("summary", SUMMARY_KEYS), ("records", RECORD_KEYS)):
        rows = doc.get(key)
        if not isinstance(rows, list):
            raise ValueError(f"{path}: '{key}' must be a list")
        for i, row in enumerate(rows):
            bad = [k for k, t in fields.items() if not isinstance(row, dict) or not isinstance(row.get(k), t)
                   or isinstance(row.get(k), bool)]
            if bad:
                raise ValueError(f"{path}: {key}[{i}] lacks or mistypes {', '.join(bad)} "
                                 f"(expected {', '.join(fields)})")
    for key in ("skipped",):
        if not isinstance(doc.get(key, {}), dict):
            raise ValueError(f"{path}: '{key}' must be an object")
    if not isinstance(doc.get("failures", []), list):
        raise ValueError(f"{path}: 'failures' must be a list")
    return doc


def _num(v, digits: int) -> str:
    if not isinstance(v, (int, float)) or math.isnan(v):
        return "–"
    if math.isinf(v):
        return "∞" if v > 0 else "−∞"
    return f"{v:.{digits}f}"


def _sort_value(v) -> str:
    if not isinstance(v, (int, float)) or math.isnan(v):
        return ""
    return "1e308" if v == math.inf else "-1e308" if v == -math.inf else repr(float(v))


def _task_name(task: str, kind: str) -> str:
    name = TASK_NAMES.get(kind, kind)
    return name if task == "denoise" else name.replace("denoise", task)


def _level(r: dict) -> float:
    """A row's grid position as a number: ``level_value`` (older bench.json files: the sigma)."""
    v = r.get("level_value", r["sigma"])
    return v if isinstance(v, (int, float)) else r["sigma"]


def _level_label(r: dict) -> str:
    """The level as the table shows it (older bench.json files: the sigma)."""
    return str(r["level"]) if "level" in r else f"{r['sigma']:g}"


def _best(rows: list[dict]) -> dict[tuple, dict[str, float]]:
    """Per (kind, sigma): the best PSNR, SSIM (highest) and times (lowest)."""
    best: dict[tuple, dict[str, float]] = {}
    for r in rows:
        b = best.setdefault((r["kind"], _level(r)), {})
        for key, better in (("psnr", max), ("ssim", max), ("wall_s_per_mpix", min), ("cpu_s_per_mpix", min)):
            v = r[key]
            if isinstance(v, (int, float)) and not math.isnan(v):
                b[key] = better(b.get(key, v), v)
    return best


def table(doc: dict) -> str:
    rows = doc["summary"]
    best = _best(rows)
    head = [("method", "text"), ("family", "text"), ("task", "text"), ("σ", "num"), ("PSNR (dB)", "num"),
            ("SSIM", "num"), ("s / MP", "num"), ("CPU s / MP", "num"), ("threads", "num"), ("images", "num"),
            ("published PSNR", "num")]
    out = ['<table id="results"><thead><tr>']
    for i, (name, kind) in enumerate(head):
        out.append(f'<th data-col="{i}" data-type="{kind}" tabindex="0" aria-sort="none">{name}'
                   f'<span class="arrow"></span></th>')
    out.append("</tr></thead><tbody>")
    for r in rows:
        b = best[(r["kind"], _level(r))]
        pub = published_psnr(doc["config"], r["method"], r["kind"], r["sigma"])
        own = (doc["config"].get("method_published") or {}).get(r["method"])

        def cell(key: str, digits: int) -> str:
            v = r[key]
            mark = ' class="best" title="best at this task and level"' if b.get(key) == v else ""
            return f'<td data-v="{_sort_value(v)}"{mark}>{_num(v, digits)}</td>'

        out.append(f'<tr data-method="{escape(r["method"])}">'
                   f'<td>{escape(r["method"])}</td><td>{escape(r["family"])}</td>'
                   f'<td>{escape(_task_name(r.get("task", "denoise"), r["kind"]))}</td>'
                   f'<td data-v="{_sort_value(_level(r))}">{escape(_level_label(r))}</td>'
                   + cell("psnr", 2) + cell("ssim", 4) + cell("wall_s_per_mpix", 3) + cell("cpu_s_per_mpix", 3)
                   + f'<td data-v="{r["threads"]}">{r["threads"]}</td><td data-v="{r["images"]}">{r["images"]}</td>'
                   + (f'<td class="published" data-v="{pub[0]}" title="{escape(pub[1])}">{pub[0]:.2f} '
                      f'<small>{escape(pub[1])}</small></td>'
                      if pub else f'<td class="published" data-v="" title="the model\'s imgen.published">'
                      f'<small>{escape(own)}</small></td>'
                      if own else '<td class="published" data-v="">–</td>')
                   + "</tr>")
    out.append("</tbody></table>")
    return "".join(out)


def _methods(doc: dict) -> list[tuple[str, str]]:
    seen: dict[str, str] = {}
    for name in doc["config"].get("methods", []):
        if isinstance(name, str):
            seen.setdefault(name, "")
    for r in doc["summary"]:
        seen[r["method"]] = r["family"]
    return [(m, f) for m, f in seen.items() if f]


def chart(doc: dict, colors: dict[str, str]) -> str:
    rows = doc["summary"]
    panels = sorted({(r["kind"], _level(r)) for r in rows}, key=lambda k: (k[0] != "gray", k[1]))
    name = doc["config"].get("level_name", "sigma")
    labels = {(r["kind"], _level(r)): _level_label(r) for r in rows}
    svgs = [svgchart.panel(f"{_task_name(doc['config'].get('task', 'denoise'), k)}, {'σ' if name == 'sigma' else name} = {labels[(k, s)]}",
                           [r for r in rows if (r["kind"], _level(r)) == (k, s)], colors) for k, s in panels]
    return (svgchart.legend(_methods(doc), colors) + '<div class="panels">' + "".join(svgs) + "</div>"
            + '<div id="tip" class="tip" hidden></div>')


def gallery_data(doc: dict, crops: list[gallery.Crop]) -> list[dict]:
    """Per image: its clean crop and, per level, the degraded crop and each method's, with scores.
    Each level carries its ``label`` as the tables show it (``25`` for a sigma, ``gauss1.6`` for a
    deblurring kernel, not its place in the grid) and the level's ``name`` ("σ", "kernel", ...)."""
    scores = {(r["image"], float(_level(r)), r["method"]): r for r in doc["records"]}
    labels = {float(_level(r)): _level_label(r) for r in doc["records"]}
    name = doc["config"].get("level_name", "sigma")
    name = "σ" if name == "sigma" else str(name)
    images: dict[str, dict] = {}
    for c in crops:
        img = images.setdefault(c.image, {"name": c.image, "clean": None, "levels": {},
                                          "w": int(c.pixels.shape[1]), "h": int(c.pixels.shape[0])})
        if c.sigma is None:
            img["clean"] = gallery.data_uri(c.pixels)
            continue
        level = img["levels"].setdefault(c.sigma, {"sigma": c.sigma, "name": name,
                                                   "label": labels.get(float(c.sigma), f"{c.sigma:g}"),
                                                   "noisy": None, "noisy_psnr": None, "methods": []})
        if c.source == gallery.NOISY:
            level["noisy"] = gallery.data_uri(c.pixels)
            continue
        rec = scores.get((c.image, c.sigma, c.source), {})
        level["methods"].append({"name": c.source, "uri": gallery.data_uri(c.pixels),
                                 "psnr": _finite_or_none(rec.get("psnr")), "ssim": _finite_or_none(rec.get("ssim"))})
        if rec:
            level["noisy_psnr"] = _finite_or_none(rec.get("psnr_noisy"))
    out = []
    for img in images.values():
        levels = [lv for lv in img["levels"].values() if lv["noisy"] and lv["methods"]]
        if img["clean"] and levels:
            out.append({"name": img["name"], "w": img["w"], "h": img["h"], "clean": img["clean"],
                        "levels": sorted(levels, key=lambda lv: lv["sigma"])})
    return out


def _finite_or_none(v):
    return v if isinstance(v, (int, float)) and math.isfinite(v) else None


def value_html(doc: dict) -> str:
    """The best method per CPU second and the Pareto front of each task, kind and level (cost.py)."""
    from ..cost import best_per_second
    from .report import VALUE_DEFINITION

    values = best_per_second(doc["summary"])
    if not values:
        return ""
    level_name = doc["config"].get("level_name", "sigma")
    items = "".join(
        f"<li>{escape(_task_name(v.task, v.kind))}, {escape(level_name)} {escape(v.level)}: "
        f"<strong>{escape(v.best)}</strong> (+{v.gain_db:.2f} dB for {v.cpu_s_per_mpix:.3g} CPU s/MP); "
        f"Pareto front: {escape(' < '.join(v.pareto))}; highest PSNR: {escape(v.top)}</li>" for v in values)
    return f'<div id="best-per-second"><h3>Best per CPU second</h3><p class="hint">{escape(VALUE_DEFINITION)}</p><ul>{items}</ul></div>'


def verdicts_html(doc: dict) -> str:
    """The one-line verdicts per task, kind and level (report.verdicts), and a warning when the
    machine was busy during the run (report.busy_warning)."""
    from .report import busy_warning, verdicts

    level_name = doc["config"].get("level_name", "sigma")
    lines = verdicts(doc["summary"], "σ" if level_name == "sigma" else level_name)
    warning = busy_warning(doc["config"])
    out = ""
    if warning:
        out += f'<p id="busy" class="note" role="alert"><strong>Warning:</strong> {escape(warning)}.</p>'
    if lines:
        out += '<ul id="verdicts">' + "".join(f"<li>{escape(line[0].upper() + line[1:])}.</li>" for line in lines) + "</ul>"
    return out


def published_hint(doc: dict) -> str:
    """Why the published column is empty where it is: figures exist for Set12 whole images only."""
    from .published import ARCH_PAPER, METHOD_PAPER, is_set12

    cfg = doc["config"]
    if is_set12(cfg) or cfg.get("method_published"):
        return ""
    papers = sorted(set(METHOD_PAPER.values()) | set(ARCH_PAPER.values()))
    return (" Published PSNR: the papers' Set12 figures (" + ", ".join(papers)
            + ") appear beside the methods that run their algorithm, or learned models of their architecture, "
            "on Set12 whole images "
            "(<code>imgen bench --images set12/</code>), and a model's own <code>imgen.published</code> "
            "figure beside it; this run's images have none.")


def metadata(doc: dict) -> str:
    from .report import load_text, timing_scope

    cfg = doc["config"]
    proto = cfg.get("protocol") or {}
    machine = cfg.get("machine") or {}
    items = [
        ("date", cfg.get("date")), ("command", cfg.get("command")),
        ("images", f"{cfg.get('image_source', '?')}: {', '.join(map(str, cfg.get('images', [])))}"),
        ("crop", cfg.get("crop") or "none (whole images)"),
        ("noise" if cfg.get("level_name", "sigma") == "sigma" else "levels", _levels_text(cfg) +
                  f", seed {proto.get('seed')}, quantize {proto.get('quantize')}, "
                  f"shave {proto.get('shave')}, Y channel {proto.get('y_channel')}"),
        ("timing", f"median of up to {cfg.get('repeats')} runs per image, {cfg.get('threads')} thread(s), on "
                   f"{timing_scope(cfg, doc['records'])}; wall and CPU time"),
        ("load average", load_text(cfg)),
        ("machine", f"{machine.get('processor', '?')}, {machine.get('cores', '?')} cores, {machine.get('platform', '?')}"),
        ("CPU flags", " ".join(map(str, machine.get("cpu_flags", []))) or "not recorded"),
        ("versions", ", ".join(f"{k} {v}" for k, v in (cfg.get("versions") or {}).items())),
    ]
    items += [(f"{m}", note) for m, note in (cfg.get("method_notes") or {}).items()]
    items += [(f"skipped {m}", why) for m, why in (doc.get("skipped") or {}).items()]
    items += [("failed", f"{f.get('method')} on {f.get('image')} at σ {f.get('sigma')}: {f.get('error')}")
              for f in doc.get("failures", []) if isinstance(f, dict)]
    return "<dl>" + "".join(f"<dt>{escape(str(k))}</dt><dd>{escape(str(v))}</dd>" for k, v in items
                            if v is not None) + "</dl>"


def _levels_text(cfg: dict) -> str:
    """The grid as the tables label it: sigmas on the 0-255 scale, else the level name and values."""
    name = cfg.get("level_name", "sigma")
    if name == "sigma":
        return f"σ {', '.join(f'{s:g}' for s in cfg.get('sigmas', []) if isinstance(s, (int, float)))} (0-255 scale)"
    return f"{name} {', '.join(str(v) for v in cfg.get('levels', []))}"


def _asset(name: str) -> str:
    return resources.files("imgen.bench").joinpath("assets", name).read_text(encoding="utf-8")


def _json_for_script(data) -> str:
    """JSON safe inside <script>: no '<' (so no '</script>'), no NaN/Infinity."""
    return json.dumps(data, allow_nan=False, separators=(",", ":")).replace("<", "\\u003c")


def render(doc: dict, crops: list[gallery.Crop] | None) -> str:
    """The whole page as a string; crops None or [] leaves the image section out with a note."""
    from .report import timing_scope

    colors = svgchart.method_colors([m for m, _ in _methods(doc)])
    images = gallery_data(doc, crops or [])
    data = {"colors": colors, "images": images}
    cfg = doc["config"]
    subtitle = (f"{len(cfg.get('images', []))} image(s) from {cfg.get('image_source', '?')}, "
                f"{len(doc['summary'])} result rows, {cfg.get('date', '')}")
    total = len(cfg.get("images", []))
    img_note = ("" if len(images) >= total else
                f'<p class="note">Pictures for {len(images)} of the {total} images.</p>' if images else
                '<p class="note">No crops were saved with this run (report-crops.npz), '
                "so there are no pictures to compare.</p>")
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>imgen bench report</title><style>{_asset("report.css")}</style></head>
<body>
<header><h1>imgen bench: classical vs learned denoising</h1><p>{escape(subtitle)}</p>
<nav><a href="#table">results</a> <a href="#chart">PSNR vs time</a> <a href="#images">images</a>
<a href="#meta">run</a></nav>{verdicts_html(doc)}</header>
<section id="table"><h2>Results</h2><p class="hint">Means over the images; s / MP is wall time per megapixel,
CPU s / MP the CPU time (all threads), both on {escape(timing_scope(cfg, doc["records"]))}.
Click a heading to sort; <span class="best">bold</span> marks the best at each task and level.{published_hint(doc)}</p>{table(doc)}
{value_html(doc)}</section>
<section id="chart"><h2>PSNR against time</h2><p class="hint">Up and left is better. Hover a point for its
figures; click a legend entry to hide or show that method. Markers: ● imgen, ■ learned, ▲ peer.</p>
{chart(doc, colors)}</section>
<section id="images"><h2>Images</h2><p class="hint">Centre crops at 1:1 pixels. Drag across the picture (or the
slider) to compare the left and right choices; the difference map shows |left − right|.</p>{img_note}
<div id="viewers"></div></section>
<section id="meta"><h2>Run</h2>{metadata(doc)}</section>
<script type="application/json" id="bench-data">{_json_for_script(data)}</script>
<script>{_asset("report.js")}</script>
</body></html>
"""


def write(path: str | os.PathLike, doc: dict, crops: list[gallery.Crop] | None) -> None:
    """Write the page atomically (UTF-8)."""
    page = render(doc, crops)
    with atomic_write(path, mode="w") as f:
        f.write(page)


def write_from_folder(folder: str | os.PathLike) -> tuple[Path, str | None]:
    """Rebuild FOLDER/index.html from FOLDER/bench.json and report-crops.npz (if there).
    Returns the page's path and a note when there were no crops.  ValueError for bad files."""
    folder = Path(folder)
    if not folder.is_dir():
        raise ValueError(f"{folder} is not a folder (expected an imgen bench output folder holding bench.json)")
    doc = load_document(folder / "bench.json")
    crops_path = folder / CROPS_FILE
    crops = gallery.load(crops_path) if crops_path.is_file() else None
    target = folder / "index.html"
    write(target, doc, crops)
    return target, None if crops else f"{crops_path} not found: the report has no pictures"

