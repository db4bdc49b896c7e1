"""The report stage's targets follow the grid: every product needs runs the grid has."""

from __future__ import annotations

from pathlib import Path

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
    assert targets.report_targets(config)[-1] == "results/report.md"
    # inputs come from the grid: 3 datasets × 3 seeds × (baseline and joint-max at 4 fractions, joint-cls,
    # joint-mean, 3 ablations, alternating)
    assert len(targets.table_metrics(config)) == 3 * 3 * (4 + 4 + 1 + 1 + 3 + 1)
    assert all(path.startswith("results/runs/") and path.endswith("/metrics.json") for path in targets.ner_metrics(config))


def test_taskemb_uses_the_first_seed_single_task_model():
    config = _params()
    inputs = targets.taskemb_inputs(config, "NCBI-disease", "mcls")
    run = "results/runs/NCBI-disease/single-mcls/frac100/seed13"
    assert inputs == {"metrics": f"{run}/metrics.json", "config": f"{run}/config.json",
                      "train": "results/data/NCBI-disease/train.frac100.jsonl",
                      "labels": "results/data/NCBI-disease/labels.json"}
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
    assert targets.settings({})["bootstrap_samples"] == 1000
    assert targets.settings({"report": {"alpha": 0.01}})["alpha"] == 0.01
    assert targets.beside("results/report.md", "tables") == "results/tables"
