"""The trainer: batching and schedules, loss weighting, the run directory, strategies, checkpoint + resume."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from mtbioner.training.batching import bucketed_batches, epoch_schedule, steps_per_epoch
from mtbioner.run.directory import RunFiles
from mtbioner.training.checkpoints import STATE_FILE, Progress, latest_checkpoint
from mtbioner.training.trainer import _checkpoint_differs
from mtbioner.errors import MtbionerError
from mtbioner.data.examples import read_examples
from mtbioner.run.config import RunConfig
from mtbioner.training.step import combine_losses, parameter_groups
from mtbioner.training.trainer import train_run

TIMING_KEYS = {"train_seconds", "train_sentences_per_second"}


def without_timings(record: dict) -> dict:
    return {key: value for key, value in record.items() if key not in TIMING_KEYS}


# ---------------------------------------------------------------------------------------------- batching
def test_bucketed_batches_cover_every_input_once_with_little_padding():
    generator = torch.Generator().manual_seed(0)
    lengths = [int(length) for length in torch.randint(5, 200, (1000,), generator=generator)]
    batches = bucketed_batches(lengths, 32, torch.Generator().manual_seed(1))
    assert sorted(index for batch in batches for index in batch) == list(range(1000))
    assert len(batches) == 32  # ceil(1000 / 32)

    def padding(batch_list):
        return sum(max(lengths[i] for i in batch) * len(batch) - sum(lengths[i] for i in batch) for batch in batch_list)

    shuffled = torch.randperm(1000, generator=torch.Generator().manual_seed(1)).tolist()
    random_batches = [shuffled[start:start + 32] for start in range(0, 1000, 32)]
    assert padding(batches) < padding(random_batches) / 5


def test_epoch_order_is_fixed_by_seed_and_epoch():
    lengths = list(range(100))
    first = epoch_schedule(lengths, ["ner"], "joint", 8, seed=1, epoch=1)
    assert first == epoch_schedule(lengths, ["ner"], "joint", 8, seed=1, epoch=1)
    assert first != epoch_schedule(lengths, ["ner"], "joint", 8, seed=1, epoch=2)
    assert first != epoch_schedule(lengths, ["ner"], "joint", 8, seed=2, epoch=1)
    assert all(task is None for task, _ in first)


def test_alternating_schedule_gives_every_task_a_full_pass_each_epoch_interleaved():
    lengths = [3 + index % 17 for index in range(70)]
    tasks = ["ner", "mt", "bcls", "mcls"]
    for epoch in (1, 2):
        schedule = epoch_schedule(lengths, tasks, "alternating", 8, seed=5, epoch=epoch)
        assert len(schedule) == steps_per_epoch(70, tasks, "alternating", 8) == 4 * 9
        for task in tasks:
            covered = sorted(index for step_task, batch in schedule if step_task == task for index in batch)
            assert covered == list(range(70)), f"{task} must see every training input once per epoch"
        order = [task for task, _ in schedule]
        assert order != sorted(order, key=tasks.index), "tasks' batches are shuffled together"
        assert len(set(order[:12])) > 1


def test_loss_combination_joint_weighted_single_plain_alternating_one_task():
    losses = {"ner": torch.tensor(1.0), "mt": torch.tensor(2.0), "bcls": torch.tensor(4.0)}
    weights = {"ner": 0.8, "mt": 0.1, "bcls": 0.05, "mcls": 0.05}
    assert combine_losses(losses, None, weights).item() == pytest.approx(0.8 + 0.2 + 0.2)
    assert combine_losses({"ner": torch.tensor(3.0)}, None, weights).item() == 3.0
    assert combine_losses(losses, "mt", weights).item() == 2.0


def test_no_weight_decay_on_biases_and_layer_norms():
    from mtbioner.model.encoders import load_encoder
    from mtbioner.model.multitask import MultiTaskModel

    encoder, _ = load_encoder("tiny", vocab_from=[["a", "b"]], seed=0)
    model = MultiTaskModel(encoder, ["ner"], ["O", "B-X", "I-X"])
    decay, plain = parameter_groups(model, 0.01)
    names = {id(parameter): name for name, parameter in model.named_parameters()}
    plain_names = {names[id(parameter)] for parameter in plain["params"]}
    decay_names = {names[id(parameter)] for parameter in decay["params"]}
    assert decay["weight_decay"] == 0.01 and plain["weight_decay"] == 0.0
    assert "heads.ner.weight" in decay_names and "heads.ner.bias" in plain_names
    assert any("LayerNorm.weight" in name for name in plain_names)
    assert not any("LayerNorm" in name or name.endswith("bias") for name in decay_names)
    assert len(plain_names) + len(decay_names) == len(list(model.parameters()))


# ---------------------------------------------------------------------------------------- run directories
def test_joint_run_writes_the_complete_run_directory(tiny_trained_run: Path, chem_slice):
    run = tiny_trained_run
    for name in ("config.json", "epochs.jsonl", "metrics.json", "test_predictions.tsv", "test_sentences.jsonl",
                 "train.log", "model/mtbioner.json", "model/config.json", "model/heads.safetensors"):
        assert (run / name).is_file(), name
    assert not RunFiles(run).checkpoints.exists(), "checkpoints are removed once the run is complete"
    epochs = [json.loads(line) for line in (run / "epochs.jsonl").read_text().splitlines()]
    assert [record["epoch"] for record in epochs] == [1, 2]
    for record in epochs:
        assert set(record["ner"]) == {"precision", "recall", "f1"} and set(record["mt"]) == {"precision", "recall", "f1"}
        assert set(record["bcls"]) == set(record["mcls"]) == {"accuracy", "macro_f1"}
        assert 0.0 <= record["false_positive_sentence_rate"] <= 1.0
        assert set(record["train_task_losses"]) == {"ner", "mt", "bcls", "mcls"}
    assert json.loads((run / "metrics.json").read_text()) == epochs[-1]
    assert RunConfig.from_file(run / "config.json").model.encoder == "tiny"

    test = read_examples(chem_slice["test_file"])
    blocks = (run / "test_predictions.tsv").read_text().split("\n\n")
    assert len([block for block in blocks if block.strip()]) == len(test)
    first = [line.split("\t") for line in blocks[0].splitlines()]
    assert [row[0] for row in first] == list(test[0].tokens) and [row[1] for row in first] == list(test[0].ner)
    rows = [json.loads(line) for line in (run / "test_sentences.jsonl").read_text().splitlines()]
    assert [row["id"] for row in rows] == [example.id for example in test]
    assert {"bcls_gold", "bcls_pred", "mcls_gold", "mcls_pred"} <= set(rows[0])


def test_tiny_joint_training_learns_something(tiny_trained_run: Path):
    epochs = [json.loads(line) for line in (tiny_trained_run / "epochs.jsonl").read_text().splitlines()]
    assert epochs[-1]["train_loss"] < epochs[0]["train_loss"]


def test_single_task_run_has_only_that_tasks_metrics(tiny_run_config, tmp_path):
    config = RunConfig.model_validate({**tiny_run_config, "tasks": ["bcls"], "main_task": "bcls", "epochs": 1})
    metrics = train_run(config, tmp_path / "run", device="cpu", progress=False)
    assert set(metrics) - TIMING_KEYS == {"epoch", "train_loss", "train_task_losses", "bcls"}
    assert json.loads((tmp_path / "run" / "model" / "mtbioner.json").read_text())["tasks"] == ["bcls"]
    first_line = (tmp_path / "run" / "test_predictions.tsv").read_text().splitlines()[0]
    assert first_line.split("\t")[2] == "_"  # no NER head: no NER prediction


def test_alternating_run_trains_every_head(tiny_run_config, tmp_path):
    config = RunConfig.model_validate({**tiny_run_config, "strategy": "alternating", "epochs": 1})
    metrics = train_run(config, tmp_path / "run", device="cpu", progress=False)
    assert set(metrics["train_task_losses"]) == {"ner", "mt", "bcls", "mcls"}
    assert {"ner", "mt", "bcls", "mcls", "false_positive_sentence_rate"} <= set(metrics)


def test_same_seed_same_run_other_seed_other_run(tiny_run_config, tmp_path):
    config = RunConfig.model_validate({**tiny_run_config, "epochs": 1, "tasks": ["ner"]})
    first = train_run(config, tmp_path / "a", device="cpu", progress=False)
    second = train_run(config, tmp_path / "b", device="cpu", progress=False)
    other = train_run(config.model_copy(update={"seed": 8}), tmp_path / "c", device="cpu", progress=False)
    assert without_timings(first) == without_timings(second)
    assert first["train_loss"] != other["train_loss"]


@pytest.mark.gpu
@pytest.mark.parametrize("precision", ["auto", "fp16"])
def test_cuda_run_with_autocast(tiny_run_config, tmp_path, precision):
    config = RunConfig.model_validate({**tiny_run_config, "epochs": 2, "precision": precision})
    metrics = train_run(config, tmp_path / "run", device="cuda", progress=False)
    assert all(torch.isfinite(torch.tensor(value)) for value in metrics["train_task_losses"].values())
    assert metrics["train_task_losses"]["ner"] < 1.0
    from mtbioner.model.inference import load_trained

    model, _ = load_trained(RunFiles(tmp_path / "run").model)
    assert next(model.parameters()).dtype == torch.float32  # autocast leaves the saved weights in fp32


# ------------------------------------------------------------------------------------------- checkpoints
def _run_cli(args: list[str], **kwargs) -> subprocess.Popen:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1"}
    return subprocess.Popen([sys.executable, "-m", "mtbioner", "train", *args], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kwargs)


def _same_run(run_dir: Path, reference_dir: Path, reference: dict) -> None:
    """run_dir ended exactly as the uninterrupted reference: metrics, every epoch line, predictions."""
    final = json.loads((run_dir / "metrics.json").read_text())
    assert without_timings(final) == without_timings(reference)
    epochs = [json.loads(line) for line in (run_dir / "epochs.jsonl").read_text().splitlines()]
    reference_epochs = [json.loads(line) for line in (reference_dir / "epochs.jsonl").read_text().splitlines()]
    assert [without_timings(record) for record in epochs] == [without_timings(record) for record in reference_epochs]
    assert (run_dir / "test_predictions.tsv").read_text() == (reference_dir / "test_predictions.tsv").read_text()
    assert not (RunFiles(run_dir).checkpoints).exists()


def _wait_for(condition, process: subprocess.Popen, seconds: float = 120) -> None:
    deadline = time.monotonic() + seconds
    while not condition() and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)
    assert process.poll() is None, f"run ended before it could be stopped: {process.communicate()}"


@pytest.mark.slow
def test_run_killed_mid_training_resumes_to_the_same_metrics(tiny_run_config, tmp_path):
    # a checkpoint after (nearly) every step, so the kill lands inside an epoch: the resumed run must skip the
    # steps done, restore the RNGs and the epoch's losses so far, and end exactly as the uninterrupted one
    config = {**tiny_run_config, "epochs": 4, "checkpoint_every_minutes": 1e-5}
    config_file = tmp_path / "config.json"
    config_file.write_text(json.dumps(config))
    reference = train_run(RunConfig.model_validate({**config, "checkpoint_every_minutes": None}),
                          tmp_path / "reference", device="cpu", progress=False)

    run_dir = tmp_path / "killed"
    process = _run_cli(["--out-dir", str(run_dir), "--config", str(config_file), "--device", "cpu"])
    _wait_for(lambda: latest_checkpoint(run_dir) is not None, process)
    process.send_signal(signal.SIGKILL)  # no chance to clean up: as an OOM kill or a lost node
    process.wait()
    assert not (run_dir / "metrics.json").exists()
    killed_after = latest_checkpoint(run_dir)
    assert killed_after is not None and killed_after.name.startswith("step-")

    resumed = _run_cli(["--out-dir", str(run_dir), "--config", str(config_file), "--device", "cpu"])
    _, stderr = resumed.communicate(timeout=300)
    assert resumed.returncode == 0, stderr
    assert "resuming" in stderr
    _same_run(run_dir, tmp_path / "reference", reference)


@pytest.mark.slow
def test_sigterm_writes_a_checkpoint_stops_and_the_run_resumes_exactly(tiny_run_config, tmp_path):
    # SLURM's time limit (or --signal=TERM@N before it): no checkpoint by time, one when told to stop
    config = {**tiny_run_config, "epochs": 40, "checkpoint_every_minutes": None}
    config_file = tmp_path / "config.json"
    config_file.write_text(json.dumps(config))
    reference = train_run(RunConfig.model_validate(config), tmp_path / "reference", device="cpu", progress=False)

    run_dir = tmp_path / "stopped"
    process = _run_cli(["--out-dir", str(run_dir), "--config", str(config_file), "--device", "cpu"])
    _wait_for(lambda: (run_dir / "epochs.jsonl").exists(), process)  # training is under way
    process.send_signal(signal.SIGTERM)
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == 128 + signal.SIGTERM, stderr
    last = stderr.strip().splitlines()[-1]
    assert last.startswith("error: stopped by SIGTERM: checkpoint") and "run the same command again" in last
    assert "Traceback" not in stderr
    assert latest_checkpoint(run_dir) is not None and not (run_dir / "metrics.json").exists()

    resumed = _run_cli(["--out-dir", str(run_dir), "--config", str(config_file), "--device", "cpu"])
    _, stderr = resumed.communicate(timeout=300)
    assert resumed.returncode == 0, stderr
    _same_run(run_dir, tmp_path / "reference", reference)


def test_a_checkpoint_of_another_configuration_is_refused(tiny_run_config, tmp_path):
    config = RunConfig.model_validate({**tiny_run_config, "epochs": 1, "tasks": ["ner"]})
    run_dir = tmp_path / "run"
    train_run(config, run_dir, device="cpu", progress=False)
    # fake an interrupted run of this configuration by keeping a checkpoint, then change the configuration
    from mtbioner.training.checkpoints import save_checkpoint
    from mtbioner.model.inference import load_trained

    model, tokenizer = load_trained(RunFiles(run_dir).model)
    optimizer = torch.optim.AdamW(model.parameters())
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: 1.0)
    save_checkpoint(run_dir, model, tokenizer, optimizer, scheduler, torch.amp.GradScaler("cuda", enabled=False),
                    steps_done=1, progress=Progress(epochs_done=1), history=[], config=config)
    with pytest.raises(MtbionerError, match="different configuration.*learning_rate"):
        train_run(config.with_settings(learning_rate=1e-4), run_dir, device="cpu", progress=False)
    # ... but the checkpoint policy is not part of what a run computes: the same checkpoint is accepted
    assert "checkpoint_every_minutes" not in _checkpoint_differs(
        config.to_json_dict(), config.with_settings(checkpoint_every_minutes=5.0), lowercase=False)


# ------------------------------------------------------------------------------------------------- CLI
def test_cli_errors_are_one_line(tmp_path, capsys):
    from mtbioner.cli import main

    def run(*args: str) -> str:
        with pytest.raises(SystemExit) as stop:
            main(["train", "--out-dir", str(tmp_path / "run"), *args])
        assert stop.value.code == 2
        stderr = capsys.readouterr().err.strip()
        assert len(stderr.splitlines()) == 1 and stderr.startswith("error: ")
        return stderr

    assert run("--config-json", '{"dataset": "x"}').startswith("error: --config-json:")
    assert "exactly one of" in run()
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"dataset": "x", "experiment": "e", "train_file": str(tmp_path / "missing.jsonl"),
                               "test_file": "t", "labels_file": "l", "encoder": "tiny"}))
    assert "missing.jsonl does not exist" in run("--config", str(bad))
    assert "no such config file" in run("--config", str(tmp_path / "nope.json"))
    good = tmp_path / "good.json"
    good.write_text(json.dumps({"dataset": "x", "experiment": "e", "train_file": str(bad), "test_file": str(bad),
                                "labels_file": str(bad), "encoder": "tiny"}))
    assert "--device 'gpu'" in run("--config", str(good), "--device", "gpu")


def test_a_partly_written_checkpoint_is_ignored(tmp_path):
    for steps in (10, 20):
        (RunFiles(tmp_path).checkpoints / f"step-{steps}" / "model").mkdir(parents=True)
    (RunFiles(tmp_path).checkpoints / "step-10" / STATE_FILE).write_bytes(b"complete")
    # step-20 has no state file: the process died while writing it, so step 10 is where to resume
    assert latest_checkpoint(tmp_path) == RunFiles(tmp_path).checkpoints / "step-10"
    (RunFiles(tmp_path).checkpoints / "step-9" / "model").mkdir(parents=True)
    (RunFiles(tmp_path).checkpoints / "step-9" / STATE_FILE).write_bytes(b"complete")
    assert latest_checkpoint(tmp_path).name == "step-10"  # by number, not by name (step-9 > step-10 as text)
    assert latest_checkpoint(tmp_path / "elsewhere") is None


def test_checkpoints_by_time_change_no_result(tiny_run_config, tmp_path, monkeypatch):
    """A checkpoint after every step writes many and changes nothing; None writes none."""
    import mtbioner.training.trainer as train_module

    saved = []
    original = train_module.save_checkpoint
    monkeypatch.setattr(train_module, "save_checkpoint",
                        lambda *args, **kwargs: saved.append(kwargs["steps_done"]) or original(*args, **kwargs))
    config = {**tiny_run_config, "epochs": 2}
    often = train_run(RunConfig.model_validate({**config, "checkpoint_every_minutes": 1e-9}), tmp_path / "a",
                      device="cpu", progress=False)
    assert saved == list(range(1, len(saved) + 1)) and len(saved) >= 2  # after every step
    assert not RunFiles(tmp_path / "a").checkpoints.exists()  # removed once the run is complete
    count = len(saved)
    never = train_run(RunConfig.model_validate({**config, "checkpoint_every_minutes": None}), tmp_path / "b",
                      device="cpu", progress=False)
    assert len(saved) == count  # none written
    assert without_timings(never) == without_timings(often)
    assert (tmp_path / "a" / "test_predictions.tsv").read_text() == (tmp_path / "b" / "test_predictions.tsv").read_text()


# ----------------------------------------------------------------------------------- cost levers (CPU runs)
def test_scoring_only_the_last_epoch_gives_the_same_final_metrics(tiny_run_config, tmp_path):
    """eval_every_epoch=False skips the middle epochs' test scoring; scoring touches neither the RNGs nor the
    weights, so the final metrics and predictions are those of a run scored every epoch."""
    every = train_run(RunConfig.model_validate({**tiny_run_config, "epochs": 3}), tmp_path / "every",
                      device="cpu", progress=False)
    once = train_run(RunConfig.model_validate({**tiny_run_config, "epochs": 3, "eval_every_epoch": False}),
                     tmp_path / "once", device="cpu", progress=False)
    assert without_timings(once) == without_timings(every)
    assert (tmp_path / "once" / "test_predictions.tsv").read_bytes() == \
        (tmp_path / "every" / "test_predictions.tsv").read_bytes()
    lines = [json.loads(line) for line in (tmp_path / "once" / "epochs.jsonl").read_text().splitlines()]
    assert [("ner" in line) for line in lines] == [False, False, True]
    assert all("train_loss" in line for line in lines)
    every_lines = [json.loads(line) for line in (tmp_path / "every" / "epochs.jsonl").read_text().splitlines()]
    assert all("ner" in line for line in every_lines)
    assert [line["train_loss"] for line in lines] == [line["train_loss"] for line in every_lines]


def test_a_run_that_keeps_no_model_writes_everything_else(tiny_run_config, tmp_path):
    run_dir = tmp_path / "run"
    (run_dir / "model").mkdir(parents=True)  # an older run's model must not survive as if it were this one's
    train_run(RunConfig.model_validate({**tiny_run_config, "epochs": 1, "save_model": False}), run_dir,
              device="cpu", progress=False)
    assert not (run_dir / "model").exists()
    for name in ("metrics.json", "epochs.jsonl", "config.json", "test_predictions.tsv", "test_sentences.jsonl"):
        assert (run_dir / name).is_file(), name
    assert json.loads((run_dir / "config.json").read_text())["save_model"] is False


def test_cpu_bf16_run_trains_under_autocast_where_the_cpu_supports_it(tiny_run_config, tmp_path):
    from mtbioner.model.precision import cpu_supports_bf16

    run_dir = tmp_path / "run"
    metrics = train_run(RunConfig.model_validate({**tiny_run_config, "precision": "bf16"}), run_dir,
                        device="cpu", progress=False)
    assert 0.0 <= metrics["ner"]["f1"] <= 1.0 and metrics["train_loss"] > 0
    expected = "precision bf16 on cpu" if cpu_supports_bf16() else "precision bf16 is not available on cpu"
    assert expected in (run_dir / "train.log").read_text()


def test_deterministic_runs_turn_on_torch_deterministic_algorithms(tiny_run_config, tmp_path, monkeypatch):
    monkeypatch.delenv("CUBLAS_WORKSPACE_CONFIG", raising=False)
    previous = torch.are_deterministic_algorithms_enabled()
    try:
        first = train_run(RunConfig.model_validate({**tiny_run_config, "epochs": 1, "deterministic": True}),
                          tmp_path / "a", device="cpu", progress=False)
        assert torch.are_deterministic_algorithms_enabled()
        assert os.environ["CUBLAS_WORKSPACE_CONFIG"] == ":4096:8"
        assert "deterministic algorithms on" in (tmp_path / "a" / "train.log").read_text()
        second = train_run(RunConfig.model_validate({**tiny_run_config, "epochs": 1, "deterministic": True}),
                           tmp_path / "b", device="cpu", progress=False)
        assert without_timings(first) == without_timings(second)
    finally:
        torch.use_deterministic_algorithms(previous)
