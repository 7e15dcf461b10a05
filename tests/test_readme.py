"""The README's set-up commands stay true: CI reads both from the README and runs them."""
from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
CI = REPO / ".ci"


def _parser():
    spec = importlib.util.spec_from_file_location("setup_commands", CI / "setup_commands.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(autouse=True)
def _needs_ci_folder():
    if not (CI / "run").exists():
        pytest.skip("no .ci/ in this checkout")


def test_readme_has_exactly_two_setup_commands():
    commands = _parser().setup_commands((REPO / "README.md").read_text())
    assert len(commands) == 2
    main_cmd, test_cmd = commands
    assert "imgen bench" in main_cmd and "pytest" in test_cmd
    for cmd in commands:  # each makes its own fresh environment
        assert cmd.startswith("python3 -m venv .venv && . .venv/bin/activate")


def test_parser_refuses_a_readme_without_two_commands(tmp_path, capsys):
    parser = _parser()
    readme = tmp_path / "README.md"
    readme.write_text("# x\n\n## Set up\n\n```bash\necho one\n```\n\n## Next\n\n```bash\necho no\n```\n")
    assert parser.main(["main", str(readme)]) == 2
    assert "found 1" in capsys.readouterr().err
    readme.write_text("# x\n\n## Set up\n\n```bash\necho one\n```\n\n```sh\necho two\n```\n")
    assert parser.main(["tests", str(readme)]) == 0
    assert capsys.readouterr().out.strip() == "echo two"


def test_ci_runs_both_readme_commands_from_the_readme():
    """.ci/run takes both commands from the README (not copies) and checks the main job's outputs."""
    ci = (CI / "run").read_text()
    assert "setup_commands.py\" main" in ci and "setup_commands.py\" tests" in ci
    assert "check_bench_outputs.py" in ci
    readme = (REPO / "README.md").read_text()
    assert 'python -m pip install "imgen[video]"' in readme and 'python -m pip install "imgen[video]"' in ci, (
        "CI checks the README's way of adding an extra without a rebuild")
    for cmd in _parser().setup_commands((REPO / "README.md").read_text()):
        assert cmd not in ci, "the README command is copied into .ci/run; read it from the README"


def test_bench_output_check_catches_missing_files(tmp_path):
    spec = importlib.util.spec_from_file_location("check_bench_outputs", CI / "check_bench_outputs.py")
    check = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(check)
    found = check.problems(tmp_path)
    assert len(found) == 5 and all("missing" in p for p in found)


def test_bench_output_check_wants_a_self_contained_report(tmp_path):
    import json

    spec = importlib.util.spec_from_file_location("check_bench_outputs", CI / "check_bench_outputs.py")
    check = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(check)
    records = [{"family": f, "method": f, "kind": "gray"} for f in ("imgen", "learned", "peer")]
    load = {"before": [0.1, 0.1, 0.1], "after": [0.2, 0.1, 0.1]}
    (tmp_path / "bench.json").write_text(json.dumps({"records": records, "summary": records, "config": {"load": load},
                                                      "best_per_second": [{"best": "imgen"}]}))
    (tmp_path / "bench.csv").write_text("family,method\n" + "".join(f"{f},{f}\n" for f in ("imgen", "learned", "peer")))
    for name in ("psnr_vs_time.png", "crops.png"):
        (tmp_path / name).write_bytes(check.PNG_SIGNATURE + b"x")
    table = '<tr data-method="a"></tr>' * 3
    section = '<ul id="verdicts"></ul><div id="best-per-second"></div>'
    rows = table + section
    (tmp_path / "index.html").write_text(f'<script id="bench-data"></script>{rows}')
    assert check.problems(tmp_path) == []
    (tmp_path / "index.html").write_text(f'<script src="https://cdn.example/x.js"></script><script id="bench-data">{rows}')
    assert check.problems(tmp_path) == ["index.html loads something from the network; it must be self-contained"]
    (tmp_path / "index.html").write_text(f'<script id="bench-data"></script>{section}')
    assert check.problems(tmp_path) == ["index.html does not hold one table row per summary row"]
    (tmp_path / "index.html").write_text(f'<script id="bench-data"></script>{table}')
    assert check.problems(tmp_path) == ["index.html has no best-per-CPU-second section"]


def test_bench_output_check_wants_verdicts_load_and_learned_colour_rows(tmp_path):
    """#33 items 14, 15, 17: the main job's report has a learned result per kind, the load, the verdicts."""
    import json

    spec = importlib.util.spec_from_file_location("check_bench_outputs", CI / "check_bench_outputs.py")
    check = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(check)
    records = [{"family": f, "method": f, "kind": k} for f in ("imgen", "learned", "peer") for k in ("gray", "color")]
    records = [r for r in records if (r["family"], r["kind"]) != ("learned", "color")]
    (tmp_path / "bench.json").write_text(json.dumps({"records": records, "summary": records, "config": {},
                                                      "best_per_second": [{"best": "imgen"}]}))
    (tmp_path / "bench.csv").write_text("family,method,kind\n" + "".join(f"{r['family']},x,y\n" for r in records))
    for name in ("psnr_vs_time.png", "crops.png"):
        (tmp_path / name).write_bytes(check.PNG_SIGNATURE + b"x")
    rows = '<tr data-method="a"></tr>' * len(records)
    (tmp_path / "index.html").write_text(f'<script id="bench-data"></script>{rows}<div id="best-per-second"></div>')
    assert check.problems(tmp_path) == [
        'index.html states no verdict per task at the top (id="verdicts")',
        "bench.json records no load average before and after the run (config.load)",
        "no learned method produced a color result"]


def test_main_command_time_says_what_it_is_made_of():
    """#33 item 13: the set-up time is the install and C++ build plus the benchmark, each said."""
    readme = (REPO / "README.md").read_text()
    setup = readme.split("## Set up", 1)[1].split("```bash", 1)[0]
    assert "about 2 minutes" not in setup
    assert re.search(r"took \d+ min \d+ s here on 2 cores", setup), "the measured time, on how many cores"
    assert "C++" in setup and "of `pip install`" in setup and "of `imgen bench`" in setup
    assert "load average" in setup
