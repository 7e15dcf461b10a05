"""tools/gpu-check (#32 item 7): its --dry-run runs the whole flow on CPU (the CPU provider standing in
for CUDA and TensorRT, toy sizes, a few training steps) and writes the markdown and JSON report; a step
past its time budget is cut and says so."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
TOOL = REPO / "tools" / "gpu-check"
MODELS = sorted(p.stem for p in (REPO / "python" / "imgen" / "models").glob("*.onnx"))


def run_tool(*args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(TOOL), *args], capture_output=True, text=True, timeout=timeout)


@pytest.mark.slow
def test_dry_run_writes_every_section(tmp_path):
    pytest.importorskip("torch")  # the training step runs imgen train
    p = run_tool("--dry-run", "--out", str(tmp_path))
    assert p.returncode == 0, p.stderr[-3000:]
    report = json.loads((tmp_path / "gpu-check.json").read_text())
    assert report["dry_run"] and report["passed"]
    assert [s["name"] for s in report["steps"]] == ["env", "parity", "fp16", "throughput", "train"]
    assert all(s["status"] == "ok" and s["seconds"] <= s["budget_s"] for s in report["steps"])
    assert report["seconds"] <= report["budget_s"]

    parity = report["parity"] + report["fp16"]
    # an int8 (QDQ) file has no fp16 variant: its fp32 rows are its check, and the report says so
    assert {(r["model"], r["provider"], r["precision"]) for r in parity} == {
        (m, prov, prec) for m in MODELS for prov in ("CUDA", "TensorRT") for prec in ("fp32", "fp16")
        if not (prec == "fp16" and m.endswith("-int8"))}
    fp16_notes = " ".join(next(s for s in report["steps"] if s["name"] == "fp16")["notes"])
    assert all(f"{m}: an int8 (QDQ) file, no fp16 variant" in fp16_notes for m in MODELS if m.endswith("-int8"))
    assert all(r["status"] == "ok" and r["passed"] for r in parity)
    # fp16 really runs a converted model: not bit-identical to the fp32 reference
    assert any(not r["identical"] for r in report["fp16"] if r["provider"] == "CUDA")

    tp = [t for t in report["throughput"] if t["provider"] == "CUDA"]
    assert all(t["status"] == "ok" and t["images_per_s"] > 0 for t in report["throughput"])
    assert {(t["size"], t["batch"], t["precision"]) for t in tp if t["model"] == "denoise-gray"} == {
        (s, b, p) for s in ("512x512", "1920x1080") for b in (1, 2) for p in ("fp32", "fp16")}

    train = {t["name"]: t for t in report["train"]}
    assert set(train) == {"denoise-color", "denoise-gray"}
    assert all(t["status"] == "ok" and t["steps"] == 3 and t["steps_per_s"] > 0 for t in train.values())
    assert "--config" in train["denoise-color"]["command"] and "--device cpu" in train["denoise-gray"]["command"]

    md = (tmp_path / "gpu-check.md").read_text()
    for heading in ("## Parity against CPU", "## Throughput", "## Training at device speed", "dry run"):
        assert heading in md
    assert md.count("| denoise-gray |") >= 4


def test_a_step_past_its_budget_is_cut_and_says_so(tmp_path):
    p = run_tool("--dry-run", "--out", str(tmp_path), "--steps", "throughput", "--budget", "1.2")
    assert p.returncode == 1
    report = json.loads((tmp_path / "gpu-check.json").read_text())
    (step,) = report["steps"]
    assert step["status"] in ("incomplete", "timeout"), step
    said = " ".join([step.get("message", "")] + step["notes"])
    assert "time budget of 1.2 s" in said, said
    assert not report["passed"] and "NOT passed" in (tmp_path / "gpu-check.md").read_text()


def test_the_real_run_without_cuda_fails_and_says_why(tmp_path):
    ort = pytest.importorskip("onnxruntime")
    if "CUDAExecutionProvider" in ort.get_available_providers():
        pytest.skip("this machine has CUDA")
    p = run_tool("--out", str(tmp_path), "--steps", "parity", "--models", "sr-x2", "--budget", "60")
    assert p.returncode == 1
    report = json.loads((tmp_path / "gpu-check.json").read_text())
    rows = {r["provider"]: r for r in report["parity"]}
    assert rows["CUDA"]["status"] == "unavailable" and "does not offer it" in rows["CUDA"]["message"]
    assert rows["TensorRT"]["status"] == "unavailable"
    assert report["steps"][0]["status"] == "failed" and not report["passed"]
