"""The report stage's targets follow the grid: every product needs runs the grid has."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from mtbioner.plan import grid
from mtbioner.plan import targets

ROOT = Path(__file__).resolve().parents[1]


def _params() -> dict:
    return yaml.safe_load((ROOT / "params.yaml").read_text(encoding="utf-8"))


def test_paper_preset_has_every_product():
    config = _params()
    products = targets.report_products(config)
    assert set(products) == {"tables", "casestudy", "metrics", "figure4", "figure5", "figure6", "page"}
    assert len(targets.taskemb_outputs(config)) == 12  # 3 datasets × 4 tasks
    assert targets.report_targets(config)[-1] == "results/paper/report.md"
    # inputs come from the grid: 3 datasets × 3 seeds × (baseline and joint-max at 4 fractions, joint-cls,
    # joint-mean, 3 ablations, alternating)
    assert len(targets.table_metrics(config)) == 3 * 3 * (4 + 4 + 1 + 1 + 3 + 1)
    assert all(path.startswith("results/paper/runs/") and path.endswith("/metrics.json") for path in targets.ner_metrics(config))


def test_taskemb_uses_the_first_seed_single_task_model():
    config = _params()
    inputs = targets.taskemb_inputs(config, "NCBI-disease", "mcls")
    run = "results/paper/runs/NCBI-disease/single-mcls/frac100/seed13"
    assert inputs == {"metrics": f"{run}/metrics.json", "config": f"{run}/config.json",
                      "train": "results/paper/data/NCBI-disease/train.frac100.jsonl",
                      "labels": "results/paper/data/NCBI-disease/labels.json"}
    # ... and that run keeps its model (the other seeds of single-mcls do not need theirs)
    keeps = {run.seed: run.config.save_model
             for run in grid.runs_for(config, dataset="NCBI-disease", experiment="single-mcls")}
    assert keeps == {13: True, 42: False, 87: False}


def test_products_shrink_with_the_grid():
    config = _params()
    config["grid"]["experiments"] = ["baseline", "joint-max"]
    products = targets.report_products(config)
    assert set(products) == {"tables", "casestudy", "metrics", "figure4", "page"}
    config["grid"]["experiments"] = ["single"]
    # single-ner predicts NER, so the DVC summary still has something to aggregate
    assert set(targets.report_products(config)) == {"metrics", "figure6", "page"}


def test_report_settings_defaults_and_overrides():
    assert targets.settings({}).bootstrap_samples == 1000
    assert targets.settings({"report": {"alpha": 0.01}}).alpha == 0.01
    assert targets.beside("results/paper/report.md", "tables") == "results/paper/tables"


def _params_with_budget_axis() -> dict:
    """The paper preset (schema defaults filled in) plus a named block: joint-max and baseline at NCBI-disease
    10 % with 400 epochs, run directories <experiment>@x4, beside the plain runs."""
    from mtbioner.params import load_params

    config = load_params(ROOT)
    block = {"name": "x4", "datasets": ["NCBI-disease"], "experiments": ["baseline", "joint-max"],
             "fractions": [10], "train": {"epochs": 400}}
    plain = {"experiments": list(config["grid"]["experiments"])}
    config["grid"]["blocks"] = [plain, block]
    return config


def test_verdicts_are_a_product_only_with_claims_and_read_the_runs_they_name():
    from mtbioner.errors import MtbionerError

    config = _params_with_budget_axis()
    assert targets.settings(config).claims == [] and targets.settings({}).verdict_samples == 10000
    assert "verdicts" not in targets.report_products(config)
    config["report"] = {**config.get("report", {}), "claims": [
        {"name": "budget", "dataset": "NCBI-disease", "fraction": 10, "a": "joint-max@x4", "b": "baseline@x4",
         "paper_delta": 3.29, "family": True},
        {"name": "low resource", "dataset": "NCBI-disease", "fraction": 10, "a": "joint-max", "b": "baseline",
         "paper_delta": 3.29, "family": True}]}
    products = targets.report_products(config)
    assert products["verdicts"] == ["results/paper/tables/verdicts.csv", "results/paper/tables/verdicts.md",
                                    "results/paper/tables/sentence_counts.csv.gz"]
    assert set(products["verdicts"]) <= set(targets.page_inputs(config))
    inputs = targets.verdict_metrics(config)
    assert len(inputs) == 4 * 3  # two claims × two cells × three seeds, each run once
    assert "results/paper/runs/NCBI-disease/joint-max@x4/frac10/seed13/metrics.json" in inputs
    assert "results/paper/runs/NCBI-disease/baseline/frac10/seed87/metrics.json" in inputs
    # Tables 2-4 and Table 5 read the plain runs only
    assert not [path for path in targets.table_metrics(config) + targets.casestudy_metrics(config) if "@" in path]
    config["report"]["claims"][0]["a"] = "joint-max@x2"
    with pytest.raises(MtbionerError, match="claim 'budget': no run of joint-max@x2 on NCBI-disease at 10 %"):
        targets.verdict_metrics(config)


def test_figure4_reads_the_longest_budget_and_taskemb_every_dataset_with_single_runs():
    config = _params_with_budget_axis()
    figure4 = targets.figure4_metrics(config)
    ncbi = [path for path in figure4 if "/NCBI-disease/" in path]
    assert ncbi and all("/joint-max@x4/frac10/" in path for path in ncbi)  # 400 epochs beat 100
    assert {path.split("/")[3] for path in figure4} == {"BC2GM", "BC5CDR-chem", "NCBI-disease"}
    assert {path.split("/")[3] for path in targets.taskemb_outputs(config)} == {"BC2GM", "BC5CDR-chem", "NCBI-disease"}
