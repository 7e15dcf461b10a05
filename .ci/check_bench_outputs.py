#!/usr/bin/env python3
"""Check what `imgen bench` wrote: CSV, JSON, PNG files and the HTML report present and sound.

    python3 .ci/check_bench_outputs.py bench-out
"""
from __future__ import annotations

import csv
import json
import re
import sys
from pathlib import Path

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def problems(out: Path) -> list[str]:
    found = []
    for name in ("bench.csv", "bench.json", "psnr_vs_time.png", "crops.png", "index.html"):
        path = out / name
        if not path.is_file() or path.stat().st_size == 0:
            found.append(f"{path} is missing or empty")
        elif name.endswith(".png") and path.read_bytes()[:8] != PNG_SIGNATURE:
            found.append(f"{path} is not a PNG file")
    if found:
        return found
    doc = json.loads((out / "bench.json").read_text())
    records = doc.get("records", [])
    with open(out / "bench.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    if not records:
        found.append("bench.json has no records")
    if len(rows) != len(records):
        found.append(f"bench.csv has {len(rows)} rows, bench.json {len(records)} records")
    for failure in doc.get("failures", []):
        found.append(f"method failed: {failure}")
    page = (out / "index.html").read_text(encoding="utf-8")
    if 'id="bench-data"' not in page or page.count('<tr data-method=') != len(doc.get("summary", [])):
        found.append("index.html does not hold one table row per summary row")
    if re.search(r"(src|href)=[\"']?(https?:|//)", page):
        found.append("index.html loads something from the network; it must be self-contained")
    if not doc.get("best_per_second"):
        found.append("bench.json names no best method per CPU second (best_per_second)")
    elif 'id="best-per-second"' not in page:
        found.append("index.html has no best-per-CPU-second section")
    elif 'id="verdicts"' not in page:
        found.append("index.html states no verdict per task at the top (id=\"verdicts\")")
    load = doc.get("config", {}).get("load") or {}
    if not (isinstance(load.get("before"), list) and isinstance(load.get("after"), list)):
        found.append("bench.json records no load average before and after the run (config.load)")
    families = {r["family"] for r in records}
    for family in ("imgen", "learned", "peer"):
        if family not in families:
            found.append(f"no {family} method produced a result")
    for kind in sorted({r.get("kind", "?") for r in records}):
        if not any(r["family"] == "learned" and r.get("kind", "?") == kind for r in records):
            found.append(f"no learned method produced a {kind} result")
    return found


def main(argv: list[str]) -> int:
    out = Path(argv[0] if argv else "bench-out")
    found = problems(out)
    for p in found:
        print(f"bench outputs: {p}", file=sys.stderr)
    if not found:
        print(f"bench outputs: {out} holds CSV, JSON, PNG files and index.html; all methods ran")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
