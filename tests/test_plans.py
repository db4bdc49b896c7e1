"""The pre-registered plans' arithmetic and presets, checked against the code that runs them: the CPU schedule
overlay (config/cpu-schedule.yaml, docs/cpu/schedule/PLAN.md) plans exactly the GPU plan's G1 runs with the
GPU preset's settings (only the precision and the results folder differ), and the GPU plan's count of test
predictions (docs/gpu/PLAN.md) follows from its preset and the corpus' test sets."""

from __future__ import annotations

import sys
from pathlib import Path

from mtbioner.data.iob import read_iob
from mtbioner.params import load_params, merge_overlay
from mtbioner.plan import grid
from mtbioner.plan.claims import parse_claims

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
import gpu_run  # noqa: E402  (the device call's part planner: what G1's part trains)

GPU = ["config/gpu-budget.yaml"]
SCHEDULE = GPU + ["config/cpu-schedule.yaml"]


def _runs(config: dict) -> dict[tuple, dict]:
    """{(dataset, label, fraction, seed): the run's settings} with the results folder taken out of its paths."""
    root = f"{config['name']}"
    runs = {}
    for run in grid.expand_grid(config):
        settings = run.config.to_json_dict()  # flat, as a run's config.json
        for key in ("train_file", "test_file", "labels_file"):
            settings[key] = settings[key].replace(f"results/{root}/", "results/<preset>/")
        runs[(run.dataset, run.label, run.fraction, run.seed)] = settings
    return runs


def test_the_schedule_overlay_plans_exactly_g1s_runs_with_the_gpu_presets_settings() -> None:
    gpu = load_params(ROOT, GPU)
    g1 = merge_overlay(gpu, gpu_run.part_overlay(gpu, 1))  # what the device call's first part trains
    schedule = load_params(ROOT, SCHEDULE)
    planned, expected = _runs(schedule), _runs(g1)
    assert planned.keys() == expected.keys()
    assert {key[3] for key in planned} == {13, 42, 87, 101, 202, 303, 404, 505}
    assert {key[1] for key in planned} == {"baseline", "joint-max"} and len(planned) == 16
    for key, settings in planned.items():
        assert settings["precision"] == "bf16" and expected[key]["precision"] == "auto"  # bf16 on the GPU
        assert {**settings, "precision": "auto"} == expected[key], key
    joint = planned[("NCBI-disease", "joint-max", 10, 13)]
    assert (joint["learning_rate"], joint["epochs"], joint["batch_size"], joint["warmup_ratio"]) == (1e-5, 100, 32, 0.1)
    assert joint["loss_weights"] == {"ner": 0.8, "mt": 0.1, "bcls": 0.05, "mcls": 0.05}
    assert schedule["eval"]["curve_datasets"] == [] and schedule["data"]["subsample_per_seed"] is True
    # the one claim, a family of one, G1's comparison
    [s1] = parse_claims(schedule["report"]["claims"])
    g1_claim = parse_claims(gpu["report"]["claims"])[0]
    assert (s1.dataset, s1.fraction, s1.a, s1.b, s1.paper_delta, s1.family) == (
        g1_claim.dataset, g1_claim.fraction, g1_claim.a, g1_claim.b, g1_claim.paper_delta, True)
    # a part's --config 'grid={seeds: [...]}' merges key by key: the block and settings stay, four seeds run
    part1 = merge_overlay(schedule, {"grid": {"seeds": [13, 42, 87, 101]}})
    assert {key[3] for key in _runs(part1)} == {13, 42, 87, 101} and len(_runs(part1)) == 8
    assert all(settings == planned[key] for key, settings in _runs(part1).items())


def test_the_gpu_plans_test_predictions_follow_from_its_preset_and_the_test_sets(mirror_data: Path) -> None:
    """docs/gpu/PLAN.md: 187,440 test predictions — every run of the preset scores its dataset's full test set
    once (eval.max_test_sentences null, no learning curves)."""
    config = load_params(ROOT, GPU)
    assert config["eval"]["max_test_sentences"] is None and config["eval"]["curve_datasets"] == []
    test_sentences = {dataset: len(read_iob(mirror_data / f"{dataset}-IOB" / "test.tsv"))
                      for dataset in {run.dataset for run in grid.expand_grid(config)}}
    assert test_sentences == {"NCBI-disease": 940, "BC5CDR-chem": 4797, "BC2GM": 5038}
    assert sum(test_sentences[run.dataset] for run in grid.expand_grid(config)) == 187_440
