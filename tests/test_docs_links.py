"""The docs stay navigable (#31 item 6): every relative link in the Markdown files reaches a file and,
with an anchor, a heading in it; every `benchmarks/....py` path named anywhere in the repository
exists (the scripts live in benchmarks/speed, quality and studies); benchmarks/README.md has a row for
every script and no row for a missing one."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
DOCS = sorted([*REPO.glob("*.md"), *(REPO / "docs").rglob("*.md"), REPO / "benchmarks" / "README.md"])
LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)\)")
SCRIPT = re.compile(r"benchmarks/[A-Za-z0-9_/]+\.py")


def _slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = heading.strip().lower().replace("`", "")
    text = "".join(c for c in text if c.isalnum() or c in " -_")
    return text.replace(" ", "-")


def _anchors(path: Path) -> set[str]:
    seen: dict[str, int] = {}
    anchors = set()
    in_code = False
    for line in path.read_text().splitlines():
        if line.startswith("```"):
            in_code = not in_code
        if in_code or not line.startswith("#"):
            continue
        slug = _slug(line.lstrip("#"))
        n = seen.get(slug, 0)
        seen[slug] = n + 1
        anchors.add(slug if n == 0 else f"{slug}-{n}")
    return anchors


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: str(p.relative_to(REPO)))
def test_relative_links_reach_a_file_and_heading(doc):
    broken = []
    for target in LINK.findall(doc.read_text()):
        if re.match(r"[a-z]+:", target):
            continue
        path, _, anchor = target.partition("#")
        dest = (doc.parent / path).resolve() if path else doc
        if not dest.exists():
            broken.append(f"{target}: no such file")
        elif anchor and dest.suffix == ".md" and anchor not in _anchors(dest):
            broken.append(f"{target}: no heading with that anchor")
    assert not broken, broken


def _text_files():
    for pattern in ("*.md", "pyproject.toml", "docs/**/*.md", "benchmarks/**/*", "python/**/*.py",
                    "export/**/*.py", "tests/*.py", "tools/*", ".ci/*", "csrc/**/*.hpp"):
        for path in REPO.glob(pattern):
            if path.is_file() and path.suffix not in (".png", ".onnx", ".so", ".csv", ".pyc"):
                yield path


def test_every_named_benchmark_script_exists():
    missing = sorted({(str(p.relative_to(REPO)), m) for p in _text_files()
                      for m in SCRIPT.findall(p.read_text(errors="replace")) if not (REPO / m).exists()})
    assert not missing, missing


def test_benchmarks_readme_lists_every_script():
    readme = (REPO / "benchmarks" / "README.md").read_text()
    listed = set()
    for kind in ("speed", "quality", "studies"):
        section = readme.split(f"## {kind}/", 1)[1].split("\n## ", 1)[0]
        listed |= {f"{kind}/{name}" for name in re.findall(r"^\| `([a-z0-9_]+\.py)`", section, flags=re.M)}
    present = {str(p.relative_to(REPO / "benchmarks")) for p in (REPO / "benchmarks").glob("*/*.py")}
    assert not list((REPO / "benchmarks").glob("*.py")), "scripts belong in speed/, quality/ or studies/"
    assert listed == present, (sorted(present - listed), sorted(listed - present))
