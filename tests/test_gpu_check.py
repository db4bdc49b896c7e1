"""The GPU check on the CPU (--skip-cuda, a tiny shape and step count): every phase must end "ok", the rates and
utilisation must be what they say, a failing phase or the time limit keeps what the others measured, and the
helpers (the sync-free losses and the padding lever change no loss, the parameters MFU counts, the peak table)
are right. That the check runs from the device bundle alone is the device call's rehearsal (test_gpu_run.py)."""

from __future__ import annotations

import copy
import importlib.util
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from mtbioner.model.tokenization import collate
from mtbioner.params import load_params
from mtbioner.plan.cost import dataset_sizes

ROOT = Path(__file__).resolve().parents[1]
TINY_SHAPE = ["--layers", "2", "--hidden-size", "64", "--heads", "2", "--intermediate-size", "128"]
CPU_ARGS = ["--skip-cuda", *TINY_SHAPE, "--steps", "2", "--windows", "2", "--lever-windows", "1",
            "--warmup-steps", "1", "--bc2gm-sentences", "64", "--matmul-size", "128", "--eval-sentences", "32",
            "--peak-bf16", "1e12", "--peak-fp32", "1e11", "--budget", "0"]


@pytest.fixture(scope="module")
def gpu_check():
    spec = importlib.util.spec_from_file_location("gpu_check", ROOT / "benchmarks" / "gpu_check.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    yield module
    del sys.modules[spec.name]


@pytest.fixture(scope="module")
def checked(mirror_data: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[dict, str]:
    """Every phase of gpu_check.py on the CPU: (report, stdout)."""
    base = tmp_path_factory.mktemp("gpu-check")
    env = {key: value for key, value in os.environ.items() if key not in ("PYTHONPATH", "OUT")}
    process = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "gpu_check.py"), *CPU_ARGS, "--ncbi-sentences", "24",
         "--ncbi-encoder", "tiny", "--pack", "1,2", "--pack-seconds", "1", "--startup-repeats", "1",
         "--checkpoint-repeats", "2", "--mirror", str(mirror_data), "--data-root", str(base / "no-prepared-data"),
         "--out", str(base / "gpu_check.json")],
        env={**env, "OMP_NUM_THREADS": "1"}, cwd=base, capture_output=True, text=True, timeout=1800)
    assert process.returncode == 0, process.stdout[-3000:] + process.stderr[-3000:]
    return json.loads((base / "gpu_check.json").read_text()), process.stdout


def test_every_phase_succeeds(checked, mirror_data: Path, tmp_path: Path) -> None:
    report, stdout = checked
    assert {name: entry["status"] for name, entry in report["phases"].items()} == dict.fromkeys(
        ("environment", "data", "matmul", "step", "startup", "checkpoint", "eval", "levers", "ncbi", "packing",
         "estimate"), "ok")
    environment = report["phases"]["environment"]["result"]
    assert environment["device"] == "cpu" and environment["gpu"] is None
    # the paper preset's cost counted from the corpus files alone: train ∪ devel and test of every dataset
    estimate = report["phases"]["estimate"]["result"]
    config = load_params(ROOT)
    config["data"]["source"] = str(mirror_data)
    assert estimate["sizes"] == {dataset: list(dataset_sizes(config, dataset, tmp_path / "no-prepared-data"))
                                 for dataset in config["data"]["datasets"]}
    assert estimate["runs"] == 270 and estimate["eval_measured"]
    assert estimate["gpu_hours"] > estimate["train_gpu_hours"] > 0
    # a job's start-up (fresh interpreter: torch + the trainer) and a checkpoint's write, both timed
    startup = report["phases"]["startup"]["result"]
    assert startup["wall_seconds"] >= startup["import_seconds"] > 0 and len(startup["runs"]) == 1
    checkpoint = report["phases"]["checkpoint"]["result"]
    assert len(checkpoint["writes"]) == 2 and checkpoint["seconds"] > 0 and checkpoint["gb"] > 0
    for text in ("[step] fp32", "MFU", "[levers] no_forward_sync", "test NER F1", "[packing] K=2", "GPU-hours",
                 "[startup]", "[checkpoint]"):
        assert text in stdout, text


def test_step_rates_and_utilisation_are_what_they_say(checked) -> None:
    report = checked[0]
    step = report["phases"]["step"]["result"]
    assert set(step["precisions"]) == {"fp32"}, "bf16 autocast is timed on CUDA only"
    fp32, parameters = step["precisions"]["fp32"], step["parameters"]
    assert len(fp32["windows"]) == 2 and all(window["steps"] == 2 for window in fp32["windows"])
    assert fp32["peak_memory_gib"] is None and fp32["sentences_per_second"] > 0
    assert 0 < parameters["per_token_matmul"] < parameters["total"] - parameters["input_embeddings"]
    tokens = fp32["tokens_per_second"]
    assert fp32["mfu"] == pytest.approx(6 * parameters["per_token_matmul"] * tokens / 1e11)  # the fp32 peak
    ceilings = report["phases"]["matmul"]["result"]["fp32"]
    assert fp32["of_matmul_ceiling"]["step"] == pytest.approx(
        6 * parameters["per_token_matmul"] * tokens / ceilings["step"])
    levers = report["phases"]["levers"]["result"]["variants"]
    assert set(levers) == {"trainer", "fused_adamw", "pad_to_8", "no_forward_sync", "all"}
    assert levers["trainer"]["speedup"] == 1.0 and all(rates["sentences_per_second"] > 0 for rates in levers.values())
    rounds = report["phases"]["packing"]["result"]["rounds"]
    assert set(rounds) == {"1", "2"} and len(rounds["2"]["runs"]) == 2
    assert rounds["2"]["aggregate_sentences_per_second"] == pytest.approx(
        sum(run["sentences"] for run in rounds["2"]["runs"]) / max(run["seconds"] for run in rounds["2"]["runs"]))


def test_a_failing_phase_keeps_the_others(gpu_check, mirror_data: Path, tmp_path: Path) -> None:
    # the bug this check had: the bundle carried only NCBI-disease's test.tsv, so the cost failed at the end and
    # took every measurement with it
    partial = tmp_path / "mirror"
    for dataset in ("BC2GM", "BC5CDR-chem", "NCBI-disease"):
        (partial / f"{dataset}-IOB").mkdir(parents=True)
        for split in ("train", "devel", "test"):
            if not (split == "test" and dataset == "BC5CDR-chem"):
                shutil.copy(mirror_data / f"{dataset}-IOB" / f"{split}.tsv", partial / f"{dataset}-IOB")
    out = tmp_path / "report.json"
    report = gpu_check.main([*CPU_ARGS, "--phases", "environment,data,step,estimate", "--mirror", str(partial),
                             "--data-root", str(tmp_path / "no-prepared-data"), "--out", str(out)])
    phases = report["phases"]
    assert phases["step"]["status"] == "ok" and phases["step"]["result"]["precisions"]["fp32"]["sentences_per_second"] > 0
    assert phases["estimate"]["status"] == "error"
    assert "cannot count the sentences of BC5CDR-chem" in phases["estimate"]["error"]
    assert phases["packing"] == {"status": "skipped", "reason": "not selected (--phases)"}
    assert json.loads(out.read_text()) == json.loads(json.dumps(report))  # on disk, as returned


def test_the_time_limit_keeps_what_was_measured(mirror_data: Path, tmp_path: Path) -> None:
    # gpu_check.sh's `timeout` sends SIGTERM: the running phase is recorded as terminated, the finished ones stay
    out = tmp_path / "report.json"
    process = subprocess.Popen(
        [sys.executable, str(ROOT / "benchmarks" / "gpu_check.py"), *CPU_ARGS, "--phases", "environment,data,packing",
         "--pack", "1", "--pack-seconds", "600", "--mirror", str(mirror_data), "--data-root", str(tmp_path / "none"),
         "--out", str(out)], stdout=subprocess.PIPE, text=True, env={**os.environ, "OMP_NUM_THREADS": "1"})
    try:
        for line in process.stdout:
            if line.startswith("[data]"):
                break
        time.sleep(1)
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=120) == 1
    finally:
        process.kill()
        process.stdout.close()
    report = json.loads(out.read_text())
    assert report["terminated"] is True and report["phases"]["data"]["status"] == "ok"
    assert report["phases"]["data"]["result"]["sentences"] == 64
    assert report["phases"]["packing"]["status"] == "error" and "terminated" in report["phases"]["packing"]["error"]


def test_sync_free_losses_and_padding_change_no_loss(gpu_check) -> None:
    from mtbioner.model.encoders import build_wordpiece_tokenizer
    from mtbioner.model.tokenization import Features

    sentences = [["BRCA1", "binds", "p53", "."], ["No", "entity", "here"], ["IL-2", "receptor"]]
    tokenizer = build_wordpiece_tokenizer(sentences, 200)
    features = []
    for words in sentences:
        ids = tokenizer(words, is_split_into_words=True)["input_ids"]
        features.append(Features(ids, list(range(len(words))), len(features), 0, {
            "ner": [-100] + [1, 0][:1] * (len(ids) - 2) + [-100], "mt": [-100] + [0] * (len(ids) - 2) + [-100],
            "bcls": -100, "mcls": len(features) % 4}))  # no sentence of the batch has a bCLS label
    data = gpu_check.StepData(features, ["O", "B-X", "I-X"], tokenizer.pad_token_id, len(tokenizer))
    shape = {"layers": 1, "hidden_size": 32, "heads": 2, "intermediate_size": 64, "vocab_size": 200,
             "max_positions": 64}
    model = gpu_check.build_model(shape, data, 13, torch.device("cpu")).eval()
    batch = collate(features, tokenizer.pad_token_id)
    expected = model.compute_losses(batch)
    assert expected["bcls"].item() == 0.0
    sync_free = copy.deepcopy(model)
    sync_free.__class__ = gpu_check.SyncFreeModel
    got = sync_free.compute_losses(batch)
    assert set(got) == set(expected)
    for task in expected:
        assert torch.allclose(got[task], expected[task], rtol=0, atol=1e-6), task
    sum(expected.values()).backward()
    sum(got.values()).backward()
    for (name, a), b in zip(model.named_parameters(), sync_free.parameters()):
        assert (a.grad is None) == (b.grad is None), name
        if a.grad is not None:
            assert torch.allclose(a.grad, b.grad, atol=1e-6), name
    padded = gpu_check.pad_to_multiple(batch, 8, tokenizer.pad_token_id)
    assert padded["input_ids"].shape[1] % 8 == 0 and padded["input_ids"].shape[1] > batch["input_ids"].shape[1]
    with torch.no_grad():
        for task, loss in model.compute_losses(padded).items():
            assert torch.allclose(loss, expected[task], atol=1e-5), task


def test_matrix_parameters_of_bert_base(gpu_check) -> None:
    from mtbioner.model.tokenization import Features

    features = [Features([2, 5, 6, 7, 3], [1, 2, 3], 0, 0, {"ner": [-100, 0, 1, 0, -100], "mt": [-100, 0, 0, 0, -100],
                                                          "bcls": 0, "mcls": 0})] * 4
    data = gpu_check.StepData(features, ["O", "B-X", "I-X"], 0, 100)
    model = gpu_check.build_model(gpu_check.BIOBERT_SHAPE, data, 13, torch.device("cpu"))
    counted = gpu_check.matmul_parameters(model, data, torch.device("cpu"))
    hidden, inner = 768, 3072
    # per layer: query, key, value, attention output, FFN in and out; plus the NER (3) and mtCLS (4) heads
    assert counted["per_token_matmul"] == 12 * (4 * hidden * hidden + 2 * hidden * inner) + hidden * (3 + 4)
    assert counted["per_sentence_matmul"] == hidden * hidden + hidden * (2 + 4)  # pooler, bCLS, mCLS heads
    assert counted["input_embeddings"] == 28996 * hidden
    assert round(counted["per_token_matmul"] / 1e6, 1) == 84.9 and counted["total"] > 108e6


def test_peak_table_and_formulas(gpu_check) -> None:
    assert gpu_check.peak_flops_for("NVIDIA H100 80GB HBM3") == {"key": "H100", "bf16": 989e12, "fp32": 67e12}
    assert gpu_check.peak_flops_for("NVIDIA H100 PCIe")["bf16"] == 756e12
    assert gpu_check.peak_flops_for("NVIDIA H200")["fp32"] == 67e12
    assert gpu_check.peak_flops_for("NVIDIA H200 NVL")["bf16"] == 835e12
    assert gpu_check.peak_flops_for("NVIDIA A100-SXM4-80GB")["fp32"] == 19.5e12
    assert gpu_check.peak_flops_for("NVIDIA A10")["bf16"] == 125e12
    assert gpu_check.peak_flops_for("Some Future GPU") is None
    assert gpu_check.model_flops_utilisation(100, 500.0, 1e6) == pytest.approx(0.3)
    assert gpu_check.gpu_hours(180_000, 50.0) == pytest.approx(1.0)
