"""PSNR against time per megapixel as inline SVG: one panel per (task, sigma), log time axis.

Generated here rather than by a charting library so that the page stays small, needs no
network and no JavaScript to draw; the page's script only adds hover and legend toggling.
Each point is an element with class "pt" and data-method / data-family / figures attributes.
"""
from __future__ import annotations

import math
from html import escape

# tab10: distinct colours, one per method in the run's order.
PALETTE = ("#1f77b4", "#2ca02c", "#ff7f0e", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
           "#bcbd22", "#17becf")
# The family decides the marker: imgen circles, learned squares, peers triangles.
SHAPES = {"imgen": "circle", "learned": "square", "peer": "triangle"}
W, H = 380, 270
LEFT, RIGHT, TOP, BOTTOM = 52, 14, 26, 40


def method_colors(methods: list[str]) -> dict[str, str]:
    return {m: PALETTE[i % len(PALETTE)] for i, m in enumerate(methods)}


def marker(shape: str, x: float, y: float, r: float = 5.5) -> str:
    """SVG element (without closing attributes) for a marker centred at x, y."""
    if shape == "square":
        return f'<rect x="{x - r:.1f}" y="{y - r:.1f}" width="{2 * r:.1f}" height="{2 * r:.1f}"'
    if shape == "triangle":
        return (f'<path d="M{x:.1f},{y - r * 1.2:.1f} L{x + r * 1.1:.1f},{y + r * 0.8:.1f} '
                f'L{x - r * 1.1:.1f},{y + r * 0.8:.1f} Z"')
    return f'<circle cx="{x:.1f}" cy="{y:.1f}" r="{r:.1f}"'


def _y_ticks(lo: float, hi: float) -> list[float]:
    span = hi - lo
    step = next(s for s in (0.5, 1, 2, 5, 10, 20) if span / s <= 6)
    first = math.ceil(lo / step) * step
    return [first + i * step for i in range(int((hi - first) / step + 1e-9) + 1)]


def _fmt_seconds(v: float) -> str:
    return f"{v:g}" if v >= 1e-4 else f"{v:.0e}"


def panel(title: str, rows: list[dict], colors: dict[str, str]) -> str:
    """One panel's <svg>: rows are summary rows (method, family, psnr, ssim, wall_s_per_mpix, threads)."""
    pts = [r for r in rows if _finite(r["psnr"]) and _finite(r["wall_s_per_mpix"]) and r["wall_s_per_mpix"] > 0]
    pw, ph = W - LEFT - RIGHT, H - TOP - BOTTOM
    out = [f'<svg class="panel" viewBox="0 0 {W} {H}" width="{W}" height="{H}" role="img" '
           f'aria-label="{escape(title)}">',
           f'<text class="title" x="{LEFT + pw / 2}" y="16" text-anchor="middle">{escape(title)}</text>',
           f'<rect class="frame" x="{LEFT}" y="{TOP}" width="{pw}" height="{ph}"/>']
    if not pts:
        out.append(f'<text x="{LEFT + pw / 2}" y="{TOP + ph / 2}" text-anchor="middle">no finite result</text></svg>')
        return "".join(out)
    lx = [math.log10(r["wall_s_per_mpix"]) for r in pts]
    x0, x1 = math.floor(min(lx)), math.ceil(max(lx))
    if x1 - x0 < 1:
        x1 = x0 + 1
    ys = [r["psnr"] for r in pts]
    y0, y1 = min(ys) - 0.4, max(ys) + 0.4
    sx = lambda v: LEFT + (math.log10(v) - x0) / (x1 - x0) * pw  # noqa: E731
    sy = lambda v: TOP + (y1 - v) / (y1 - y0) * ph  # noqa: E731
    for d in range(x0, x1 + 1):  # decades labelled, 2x and 5x as minor grid lines
        for k in (1, 2, 5):
            v = k * 10.0 ** d
            if d == x1 and k > 1:
                break
            x = sx(v)
            out.append(f'<line class="{"grid" if k == 1 else "grid minor"}" x1="{x:.1f}" x2="{x:.1f}" '
                       f'y1="{TOP}" y2="{TOP + ph}"/>')
            if k == 1:
                out.append(f'<text class="tick" x="{x:.1f}" y="{TOP + ph + 14}" text-anchor="middle">'
                           f'{_fmt_seconds(v)}</text>')
    for v in _y_ticks(y0, y1):
        y = sy(v)
        out.append(f'<line class="grid" x1="{LEFT}" x2="{LEFT + pw}" y1="{y:.1f}" y2="{y:.1f}"/>')
        out.append(f'<text class="tick" x="{LEFT - 5}" y="{y + 4:.1f}" text-anchor="end">{v:g}</text>')
    out.append(f'<text class="axis" x="{LEFT + pw / 2}" y="{H - 6}" text-anchor="middle">'
               f'seconds per megapixel (log scale)</text>')
    out.append(f'<text class="axis" transform="translate(13 {TOP + ph / 2}) rotate(-90)" '
               f'text-anchor="middle">PSNR (dB)</text>')
    for r in pts:
        tip = (f'{r["method"]} ({r["family"]}): PSNR {r["psnr"]:.2f} dB, SSIM {r["ssim"]:.4f}, '
               f'{r["wall_s_per_mpix"]:.3g} s/MP, {r["threads"]} thread(s)')
        attrs = (f' class="pt" fill="{colors.get(r["method"], "#000")}" data-method="{escape(r["method"])}" '
                 f'data-family="{escape(r["family"])}" data-tip="{escape(tip)}"')
        out.append(marker(SHAPES.get(r["family"], "circle"), sx(r["wall_s_per_mpix"]), sy(r["psnr"])) + attrs
                   + f"><title>{escape(tip)}</title></" + _tag(SHAPES.get(r["family"], "circle")) + ">")
    out.append("</svg>")
    return "".join(out)


def _tag(shape: str) -> str:
    return {"square": "rect", "triangle": "path"}.get(shape, "circle")


def _finite(v) -> bool:
    return isinstance(v, (int, float)) and math.isfinite(v)


def legend(methods: list[tuple[str, str]], colors: dict[str, str]) -> str:
    """Legend buttons, one per (method, family): clicking one hides or shows its points."""
    items = []
    for m, family in methods:
        shape = SHAPES.get(family, "circle")
        swatch = (f'<svg width="14" height="14" viewBox="0 0 14 14">{marker(shape, 7, 7, 5)} '
                  f'fill="{colors.get(m, "#000")}"></{_tag(shape)}></svg>')
        items.append(f'<button type="button" class="legend-item" data-method="{escape(m)}" aria-pressed="true">'
                     f'{swatch} {escape(m)} <span class="fam">{escape(family)}</span></button>')
    return '<div class="legend">' + "".join(items) + "</div>"
