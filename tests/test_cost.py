"""`mtbioner cost`: the arithmetic of a grid's cost, checked on hand-countable grids and on the real presets."""

from __future__ import annotations

import copy
import json
import math
import subprocess
import sys
from pathlib import Path

import pytest

from mtbioner.plan import grid
from mtbioner.errors import MtbionerError
from mtbioner.params import load_params, param_default
from mtbioner.plan.cost import PACKING_EFFICIENCY, cost_json, cost_table, count_sentences_tsv, dataset_sizes, grid_cost

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def paper(mirror_data: Path) -> dict:
    config = load_params(ROOT)
    config["data"]["source"] = str(mirror_data)
    return config


def test_sentence_counts_of_the_mirror_match_table1(paper: dict, tmp_path: Path) -> None:
    # train ∪ devel and test of NCBI-disease (the paper's Table 1 total is 7,287 = 6,347 + 940)
    assert dataset_sizes(paper, "NCBI-disease", tmp_path / "no-prepared-data") == (6347, 940)


def test_tsv_count_ignores_blank_runs(tmp_path: Path) -> None:
    path = tmp_path / "x.tsv"
    path.write_text("a\tO\nb\tO\n\n\n\nc\tB-X\n", encoding="utf-8")
    assert count_sentences_tsv(path) == 2


def test_hand_counted_grid(paper: dict, tmp_path: Path) -> None:
    config = copy.deepcopy(paper)
    config["data"].update(datasets=["NCBI-disease"], fractions=[100, 10])
    config["grid"].update(seeds=[1], experiments=["baseline", "joint-max", "alternating"])
    config["train"].update(per_dataset={}, epochs=3, batch_size=32)
    cost = grid_cost(config, tmp_path, train_throughput=100.0, eval_throughput=1000.0)
    by_cell = {(c.run.experiment, c.run.fraction): c for c in cost.runs}
    assert set(by_cell) == {("baseline", 100), ("baseline", 10), ("joint-max", 100), ("joint-max", 10),
                            ("alternating", 100)}
    assert by_cell[("baseline", 10)].steps == 3 * math.ceil(635 / 32)
    assert by_cell[("baseline", 10)].train_passes == 3 * 635
    assert by_cell[("alternating", 100)].train_passes == 4 * 3 * 6347  # one pass per task per epoch
    assert by_cell[("alternating", 100)].steps == 4 * 3 * math.ceil(6347 / 32)
    # only Figure 4's run (joint-max at 100 %) scores test every epoch
    assert by_cell[("joint-max", 100)].eval_passes == 3 * 940
    assert by_cell[("baseline", 100)].eval_passes == by_cell[("joint-max", 10)].eval_passes == 940
    kept = sorted((c.run.experiment, c.run.fraction) for c in cost.runs if c.keeps_model)
    assert kept == [("joint-max", 100)]
    expected_hours = (cost.train_passes / 100.0 + cost.eval_passes / 1000.0) / 3600
    assert cost.device_hours == pytest.approx(expected_hours)


def test_paper_preset_cost_is_printed_before_anything_runs(mirror_data: Path, tmp_path: Path) -> None:
    result = subprocess.run([sys.executable, "-m", "mtbioner", "cost", "--root", str(ROOT), "--source",
                             str(mirror_data), "--json"], capture_output=True, text=True, check=True,
                            cwd=tmp_path)
    numbers = json.loads(result.stdout)
    assert numbers["runs"] == 270
    assert numbers["models_kept"] == 15 and numbers["encoder_class"] == "bert-base"
    assert numbers["train_sentence_passes"] > 1e8 and numbers["device_hours"] > 10
    assert not (tmp_path / "results").exists()  # nothing ran, nothing was written


def test_missing_data_is_one_clear_error(paper: dict, tmp_path: Path) -> None:
    config = copy.deepcopy(paper)
    config["data"]["source"] = str(tmp_path / "nowhere")
    with pytest.raises(MtbionerError, match="cannot count the sentences of BC2GM"):
        grid_cost(config, tmp_path)
    assert grid.expand_grid(config)  # the grid itself needs no data
    config["data"]["source"] = upstream = param_default("data", "source")  # a URL: said as it is, not as a path
    with pytest.raises(MtbionerError, match="not a local mirror") as raised:
        grid_cost(config, tmp_path)
    assert upstream in str(raised.value) and "https:/raw" not in str(raised.value)


def test_mirror_root_counts_as_its_data_folder(paper: dict, mirror_data: Path, tmp_path: Path) -> None:
    # data.source may name the corpus root (holding data/) as `mtbioner download` accepts it
    config = copy.deepcopy(paper)
    config["data"]["source"] = str(mirror_data.parent)
    assert dataset_sizes(config, "NCBI-disease", tmp_path / "no-prepared-data") == (6347, 940)


def test_checkpoint_writes_are_counted_by_time(paper: dict, tmp_path: Path) -> None:
    config = copy.deepcopy(paper)
    config["data"].update(datasets=["NCBI-disease"], fractions=[10])
    config["grid"].update(seeds=[1], experiments=["baseline"])
    config["train"].pop("checkpoint_every_minutes", None)
    cost = grid_cost(config, tmp_path, train_throughput=10.0, eval_throughput=940.0, parallel_jobs=4)
    assert cost.checkpoint_every_minutes == param_default("train", "checkpoint_every_minutes") == 30
    # one run: NCBI-disease 10 % = 635 sentences x 100 epochs (the paper's NCBI-disease setting) at 10/s =
    # 6,350 s, + 940 test sentences at 940/s = 1 s: 6,351 s = 105.85 min -> 3 checkpoints of 30 minutes
    [run] = cost.runs
    assert (run.train_passes, run.eval_passes) == (63_500, 940)
    assert cost.run_minutes(run) == pytest.approx(6351 / 60)
    assert cost.checkpoint_writes == 3
    assert cost.checkpoint_gb == pytest.approx(3 * 433 / 1000)  # BERT-base + AdamW's two moments
    assert cost.checkpoint_write_gb == pytest.approx(3 * 3 * 433 / 1000)
    assert cost.checkpoint_disk_gb == pytest.approx(4 * 3 * 433 / 1000)  # one per running job
    # packed 2 per GPU at an assumed efficiency of 0.5: each run takes twice as long -> 7 writes
    packed = grid_cost(config, tmp_path, train_throughput=10.0, eval_throughput=940.0, runs_per_gpu=2,
                       packing_efficiency=0.5)
    assert packed.checkpoint_writes == 7
    # at the default throughput the run lasts under two minutes: no checkpoint is written
    assert grid_cost(config, tmp_path).checkpoint_writes == 0
    config["train"]["checkpoint_every_minutes"] = None
    never = grid_cost(config, tmp_path, train_throughput=10.0)
    assert never.checkpoint_writes == 0 and never.checkpoint_disk_gb == 0.0
    assert "only when a job is told to stop" in cost_table(never)
    assert "3 writes of 1.30 GB" in cost_table(cost)


def test_packed_runs_divide_the_gpu_hours(paper: dict, tmp_path: Path) -> None:
    config = copy.deepcopy(paper)
    config["data"].update(datasets=["NCBI-disease"], fractions=[100, 10])
    config["grid"].update(seeds=[1], experiments=["baseline", "joint-max"])
    single = grid_cost(config, tmp_path, train_throughput=100.0, eval_throughput=1000.0)
    assert single.packing_speedup == 1.0 and single.packed_device_hours == single.device_hours
    # measured: 4 runs on one GPU together train 300 sentences/s where one alone trains 100
    measured = grid_cost(config, tmp_path, train_throughput=100.0, eval_throughput=1000.0, runs_per_gpu=4,
                         packed_train_throughput=300.0)
    assert measured.packing_speedup == pytest.approx(3.0)
    assert measured.packed_device_hours == pytest.approx(single.device_hours / 3)
    assert measured.device_hours == pytest.approx(single.device_hours)  # the unpacked figure stays beside it
    # not measured: the declared efficiency
    assumed = grid_cost(config, tmp_path, train_throughput=100.0, eval_throughput=1000.0, runs_per_gpu=4)
    assert assumed.packing_speedup == pytest.approx(4 * PACKING_EFFICIENCY)
    assert "assumed packing efficiency" in assumed.packing_basis
    table = cost_table(measured)
    assert "GPU-hours, 4 runs per GPU" in table and "measured: 300 training sentences/s of 4 runs" in table
    total = next(line for line in table.splitlines() if line.startswith("| **total**"))
    assert total.rstrip(" |").endswith(f"{single.device_hours / 3:,.1f}")
    numbers = json.loads(cost_json(measured))
    assert numbers["runs_per_gpu"] == 4 and numbers["packing_speedup"] == pytest.approx(3.0)
    assert numbers["packed_device_hours"] == pytest.approx(single.device_hours / 3, abs=0.01)


def test_cost_command_takes_the_packing(mirror_data: Path, tmp_path: Path) -> None:
    command = [sys.executable, "-m", "mtbioner", "cost", "--root", str(ROOT), "--source", str(mirror_data),
               "--train-throughput", "1000", "--runs-per-gpu", "4", "--packed-throughput", "2500"]
    table = subprocess.run(command, capture_output=True, text=True, check=True, cwd=tmp_path).stdout
    assert "GPU-hours, 4 runs per GPU" in table and "2.50× one run's throughput" in table
    numbers = json.loads(subprocess.run([*command, "--json"], capture_output=True, text=True, check=True,
                                        cwd=tmp_path).stdout)
    assert numbers["packed_device_hours"] == pytest.approx(numbers["device_hours"] / 2.5, abs=0.01)
    bad = subprocess.run([*command[:-4], "--packed-throughput", "2500"], capture_output=True, text=True, cwd=tmp_path)
    assert bad.returncode == 2 and "needs K > 1" in bad.stderr and "Traceback" not in bad.stderr


def test_a_cpu_preset_is_priced_at_the_cpu_rate(mirror_data: Path, tmp_path: Path) -> None:
    # the quick preset asks for no GPU (resources.train_gpus: 0): its hours are CPU job-hours at the measured CPU
    # rate, not GPU hours at the GPU figure (which printed "device-hours: 0.0")
    config = load_params(Path(__file__).resolve().parents[1], ["config/quick.yaml"])
    config["data"]["source"] = str(mirror_data)
    cost = grid_cost(config, tmp_path)
    assert cost.on_cpu and cost.train_throughput == 13.7 and cost.eval_throughput == 41.1
    expected = (cost.train_passes / 13.7 + cost.eval_passes / 41.1) / 3600
    assert cost.device_hours == pytest.approx(expected) and cost.device_hours > 0.1
    assert "per 1-thread CPU job (a CPU preset)" in cost_table(cost)
    assert json.loads(cost_json(cost))["on_cpu"] is True
