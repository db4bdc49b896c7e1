"""benchmarks/gpu_check.sh on the CPU (`--skip-cuda`, a 2-layer shape, 2 steps): every number it prints and
writes exists and is positive; its helpers (peak table, MFU, GPU-hours, sentence-passes of a grid) compute what
they say."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
TINY_SHAPE = ["--layers", "2", "--hidden-size", "64", "--heads", "2", "--intermediate-size", "128"]
CPU_ARGS = ["--skip-cuda", *TINY_SHAPE, "--steps", "2", "--warmup-steps", "1", "--batch-size", "4",
            "--bc2gm-sentences", "64"]


@pytest.fixture(scope="module")
def gpu_check():
    spec = importlib.util.spec_from_file_location("gpu_check", ROOT / "benchmarks" / "gpu_check.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    yield module
    del sys.modules[spec.name]


def test_cpu_run_prints_and_writes_every_number(mirror_data: Path, tmp_path: Path) -> None:
    out = tmp_path / "gpu_check.json"
    # no 8-minute limit here: the test machine's 2 cores are shared, so wall time says little
    env = {**os.environ, "PYTHON": sys.executable, "OMP_NUM_THREADS": "1", "GPU_CHECK_TIMEOUT": "0"}
    env.pop("OUT", None)
    process = subprocess.run(
        ["bash", str(ROOT / "benchmarks" / "gpu_check.sh"), *CPU_ARGS, "--ncbi-sentences", "24",
         "--ncbi-encoder", "tiny", "--peak-flops", "1e12", "--mirror", str(mirror_data),
         "--data-root", str(tmp_path / "no-prepared-data"), "--out", str(out)],
        env=env, capture_output=True, text=True, timeout=1800)
    assert process.returncode == 0, process.stderr[-3000:]
    for text in ("sentences/s", "tokens/s", "MFU", "test NER F1", "GPU-hours", "--peak-flops"):
        assert text in process.stdout, text

    result = json.loads(out.read_text())
    assert result["device"] == "cpu" and result["gpu"] is None and result["peak_flops"] == 1e12
    assert result["shape"]["layers"] == 2 and result["parameters"] > result["embedding_parameters"] > 0
    assert set(result["train"]) == {"fp32"}, "bf16 autocast is CUDA-only: skipped on the CPU"
    fp32 = result["train"]["fp32"]
    assert fp32["steps"] == 2 and fp32["peak_memory_gib"] is None
    for key in ("seconds", "sentences", "tokens", "sentences_per_second", "tokens_per_second", "mfu", "final_loss"):
        assert fp32[key] > 0, key
    assert fp32["mfu"] == pytest.approx(6 * result["parameters"] * fp32["tokens"] / fp32["seconds"] / 1e12)

    ncbi = result["ncbi"]
    assert ncbi["train_sentences"] == ncbi["test_sentences"] == 24
    assert ncbi["train_seconds"] >= 0 and ncbi["train_sentences_per_second"] > 0 and 0 <= ncbi["test_ner_f1"] <= 1

    estimate = result["paper_estimate"]
    assert estimate["sentence_counts"] == {"BC2GM": 15093, "BC5CDR-chem": 9141, "NCBI-disease": 6347}
    assert estimate["train_sentence_passes"] > 0 and estimate["precision"] == "fp32"
    assert estimate["gpu_hours"] == pytest.approx(
        estimate["train_sentence_passes"] / fp32["sentences_per_second"] / 3600)


def test_the_passes_hook_replaces_the_computed_count(gpu_check, mirror_data: Path, tmp_path: Path) -> None:
    result = gpu_check.main([*CPU_ARGS, "--skip-ncbi", "--train-sentence-passes", "7200", "--mirror",
                             str(mirror_data), "--data-root", str(tmp_path)])
    estimate = result["paper_estimate"]
    assert estimate["train_sentence_passes"] == 7200 and estimate["source"] == "--train-sentence-passes"
    assert estimate["gpu_hours"] == pytest.approx(2.0 / result["train"]["fp32"]["sentences_per_second"])
    assert "ncbi" not in result


def test_peak_table_mfu_and_gpu_hours(gpu_check) -> None:
    assert gpu_check.peak_flops_for("NVIDIA H100 80GB HBM3") == (989e12, "H100")
    assert gpu_check.peak_flops_for("NVIDIA H100 PCIe")[0] == 756e12
    assert gpu_check.peak_flops_for("NVIDIA H200")[0] == 989e12
    assert gpu_check.peak_flops_for("NVIDIA A100-SXM4-80GB")[0] == 312e12
    assert gpu_check.peak_flops_for("NVIDIA A10")[0] == 125e12
    assert gpu_check.peak_flops_for("NVIDIA L40S")[0] == 362e12
    assert gpu_check.peak_flops_for("Some Future GPU") is None
    assert gpu_check.model_flops_utilisation(100, 1000, 2.0, 1e6) == pytest.approx(0.3)
    assert gpu_check.gpu_hours(180_000, 50.0) == pytest.approx(1.0)
