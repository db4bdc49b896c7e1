"""What the report stage reads and writes, derived from the grid (mtbioner.plan.grid) — used by
workflow/rules/report.smk, so no list of run directories is written by hand.

A product is only a target when the configured grid has the runs it needs (a preset that drops the pair-wise
family simply has no Figure 5), so `snakemake` never asks for a figure it cannot draw.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from mtbioner.plan import grid
from mtbioner.run.directory import RunFiles
from mtbioner.report.defaults import REPORT_DEFAULTS
from mtbioner.report.tables import TABLE_SPECS
from mtbioner.tasks import TASKS

TABLES_DIR = "results/tables"
FIGURES_DIR = "results/figures"
TASKEMB_DIR = "results/taskemb"
SUMMARY_JSON = "results/metrics/summary.json"
REPORT_MD = "results/report.md"

TABLE_EXPERIMENTS = tuple(dict.fromkeys(e for spec in TABLE_SPECS.values() for e in spec.experiments))


def settings(config: dict[str, Any]) -> dict[str, Any]:
    """The `report:` settings of `config`, schema defaults filled in (mtbioner.report.defaults)."""
    return {**REPORT_DEFAULTS, **(config.get("report") or {})}


def _metrics(runs: list[grid.Run]) -> list[str]:
    return [run.metrics_file for run in runs]


def table_metrics(config: dict[str, Any]) -> list[str]:
    """Runs of Tables 2-4 (baseline, joint-*, ablations, alternating), every fraction and seed."""
    return _metrics([r for r in grid.expand_grid(config) if r.experiment in TABLE_EXPERIMENTS])


def ner_metrics(config: dict[str, Any]) -> list[str]:
    """Every run that predicts NER (the DVC summary and the report page)."""
    return _metrics([r for r in grid.expand_grid(config) if "ner" in r.tasks])


def all_metrics(config: dict[str, Any]) -> list[str]:
    """Every run of the grid (the report page states the whole configuration)."""
    return _metrics(grid.expand_grid(config))


def casestudy_metrics(config: dict[str, Any]) -> list[str]:
    return _metrics([r for r in grid.expand_grid(config)
                     if r.experiment in ("baseline", "joint-max") and r.fraction == grid.FULL])


def figure5_metrics(config: dict[str, Any]) -> list[str]:
    return _metrics([r for r in grid.expand_grid(config) if r.family in ("pair", "single")])


def taskemb_run(config: dict[str, Any], dataset: str, task: str) -> grid.Run:
    """The single-task run TaskEmb starts from: single-<task>, full data, the first configured seed."""
    experiment = f"single-{task}"
    runs = sorted(grid.runs_for(config, dataset=dataset, experiment=experiment,
                                fraction=grid.largest_fraction(config, dataset, experiment)),
                  key=lambda r: r.seed)
    if not runs:
        from mtbioner.errors import MtbionerError

        raise MtbionerError(f"no single-{task} run of {dataset} in the grid (TaskEmb needs the 'single' family)")
    return runs[0]


def taskemb_outputs(config: dict[str, Any]) -> list[str]:
    """results/taskemb/<dataset>/<task>.json of every dataset × task that has a single-task run."""
    out = []
    for dataset in grid.datasets(config):
        for task in TASKS:
            if grid.runs_for(config, dataset=dataset, experiment=f"single-{task}"):
                out.append(f"{TASKEMB_DIR}/{dataset}/{task}.json")
    return out


def _has(config: dict[str, Any], **fields: Any) -> bool:
    return bool(grid.runs_for(config, **fields))


def report_products(config: dict[str, Any]) -> dict[str, list[str]]:
    """Final products of the report stage by rule, only those the configured grid can make."""
    products: dict[str, list[str]] = {}
    if _has(config, experiment="baseline"):
        products["tables"] = [f"{TABLES_DIR}/table{n}.{ext}" for n in (2, 3, 4) for ext in ("md", "tex", "csv")]
        products["tables"] += [f"{TABLES_DIR}/fp_rates.md", f"{TABLES_DIR}/fp_rates.csv",
                               f"{TABLES_DIR}/significance.csv"]
        if _has(config, experiment="joint-max", fraction=grid.FULL):
            products["casestudy"] = [f"{TABLES_DIR}/table5.{ext}" for ext in ("html", "tex", "md", "csv")]
    if ner_metrics(config):
        products["metrics"] = [SUMMARY_JSON]
    if _has(config, experiment="joint-max", fraction=grid.FULL):
        products["figure4"] = [f"{FIGURES_DIR}/figure4.png", f"{FIGURES_DIR}/figure4.pdf"]
    if _has(config, family="pair") and _has(config, family="single"):
        products["figure5"] = [f"{FIGURES_DIR}/figure5.png", f"{FIGURES_DIR}/figure5.pdf",
                               f"{FIGURES_DIR}/figure5_gains.csv"]
    if len(taskemb_outputs(config)) >= 2:
        products["figure6"] = [f"{FIGURES_DIR}/figure6.png", f"{FIGURES_DIR}/figure6.pdf",
                               f"{FIGURES_DIR}/figure6_tsne.csv", f"{TASKEMB_DIR}/similarity.csv"]
    if products:
        products["page"] = [REPORT_MD]
    return products


def report_targets(config: dict[str, Any]) -> list[str]:
    return [path for paths in report_products(config).values() for path in paths]


def page_inputs(config: dict[str, Any]) -> list[str]:
    """Everything report.md embeds (all products but itself)."""
    return [path for rule, paths in report_products(config).items() if rule != "page" for path in paths]


def taskemb_inputs(config: dict[str, Any], dataset: str, task: str) -> dict[str, str]:
    """Inputs of one TaskEmb job: the single-task run (its metrics.json, written after its model — a run TaskEmb
    starts from always keeps its model, see mtbioner.plan.grid — and its config.json) and the training and
    label files the pass reads. The model directory itself is not a declared output of `train` (only some runs
    keep one), so metrics.json stands for it."""
    run = taskemb_run(config, dataset, task)
    files = RunFiles(Path(run.run_dir))
    return {"metrics": run.metrics_file, "config": str(files.config), "train": run.config.train_file,
            "labels": run.config.labels_file}


def beside(path: str, name: str) -> str:
    """A folder next to `path` (results/report.md -> results/<name>): report.md's view of its inputs."""
    from pathlib import PurePosixPath

    return str(PurePosixPath(path).parent / name)
