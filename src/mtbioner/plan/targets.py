"""What the report stage reads and writes, derived from the grid (mtbioner.plan.grid) — used by
workflow/rules/report.smk, so no list of run directories is written by hand.

A product is only a target when the configured grid has the runs it needs (a preset that drops the pair-wise
family simply has no Figure 5; one without `report.claims` has no verdicts), so `snakemake` never asks for a
figure it cannot draw. Tables 2-5, Figure 5 and TaskEmb read the plain runs only; a variant's runs (a named
grid block, `joint-max@x4`) enter the report through the claims that name them and through Figure 4, which
is drawn from the longest budget (`mtbioner.plan.grid.curve_runs`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mtbioner.errors import MtbionerError
from mtbioner.plan import grid
from mtbioner.param_model import ReportParams
from mtbioner.params import as_params, results_root
from mtbioner.plan.grid import Config
from mtbioner.plan.claims import claim_runs, parse_claims
from mtbioner.run.directory import RunFiles
from mtbioner.tasks import NER, TASKS



@dataclass(frozen=True)
class ReportFiles:
    """Where the report's products live in one results tree (`root`, e.g. results/paper)."""

    root: str

    @property
    def tables(self) -> str:
        return f"{self.root}/tables"

    @property
    def figures(self) -> str:
        return f"{self.root}/figures"

    @property
    def taskemb(self) -> str:
        return f"{self.root}/taskemb"

    @property
    def summary_json(self) -> str:
        return f"{self.root}/metrics/summary.json"

    @property
    def page(self) -> str:
        return f"{self.root}/report.md"

    @property
    def verdicts(self) -> str:
        """The verdicts table's prefix (.csv, .md)."""
        return f"{self.tables}/verdicts"

    @property
    def sentence_counts(self) -> str:
        """The per-sentence counts every verdict is computed from (`mtbioner report rejudge` reads them back)."""
        return f"{self.tables}/sentence_counts.csv.gz"


def report_files(config: Config) -> ReportFiles:
    return ReportFiles(results_root(config))

#: The experiments each of the paper's Tables 2-4 shows, in row order (mtbioner.report.render.tables renders them):
#: what the tables rule reads.
TABLE_EXPERIMENTS: dict[int, tuple[str, ...]] = {
    2: ("baseline", "joint-cls", "joint-mean", "joint-max"),
    3: ("baseline", "joint-max"),
    4: ("joint-max", "no-bcls", "no-mcls", "no-mt", "alternating"),
}
_TABLE_EXPERIMENTS = tuple(dict.fromkeys(e for experiments in TABLE_EXPERIMENTS.values() for e in experiments))


def settings(config: Config) -> ReportParams:
    """The `report:` settings of `config`."""
    return as_params(config).report


def _metrics(runs: list[grid.Run]) -> list[str]:
    return [run.metrics_file for run in runs]


def _plain(config: Config, **fields: Any) -> list[grid.Run]:
    """The grid's plain runs (no variant) that match `fields`."""
    return grid.runs_for(config, variant="", **fields)


def table_metrics(config: Config) -> list[str]:
    """Plain runs of Tables 2-4 (baseline, joint-*, ablations, alternating), every fraction and seed; Table 4
    also shows the ablation of a task the configuration adds beyond the paper's (grid.tasks, e.g. w/o tCLS)."""
    shown = {*_TABLE_EXPERIMENTS, *grid.ablations(grid.grid_tasks(config))}
    return _metrics([r for r in _plain(config) if r.experiment in shown])


def ner_metrics(config: Config) -> list[str]:
    """Every run that predicts NER (the DVC summary and the report page)."""
    return _metrics([r for r in grid.expand_grid(config) if NER in r.tasks])


def all_metrics(config: Config) -> list[str]:
    """Every run of the grid (the report page states the whole configuration)."""
    return _metrics(grid.expand_grid(config))


def casestudy_metrics(config: Config) -> list[str]:
    return _metrics([r for r in _plain(config, fraction=grid.FULL) if r.experiment in ("baseline", "joint-max")])


def figure5_metrics(config: Config) -> list[str]:
    return _metrics([r for r in _plain(config) if r.family in ("pair", "single")])


def figure4_metrics(config: Config) -> list[str]:
    """The runs whose learning curves Figure 4 draws (every dataset's longest joint-max budget): the figure
    names them (label, fraction, seeds) beside the epochs it shows."""
    return _metrics([run for dataset in grid.datasets(config) for run in grid.curve_runs(config, dataset)])


def claims(config: Config) -> list:
    """`report.claims` as `mtbioner.plan.claims.Claim`s (checked)."""
    return parse_claims(claim_entries(config))


def claim_entries(config: Config) -> list[dict[str, Any]]:
    """`report.claims` as written (keys left out stay out): what the verdicts rule hands `mtbioner report
    verdicts` as JSON."""
    return [claim.model_dump(mode="json", exclude_unset=True) for claim in settings(config).claims]


def verdict_metrics(config: Config) -> list[str]:
    """The runs the pre-registered claims name, paired by seed (each once); MtbionerError naming a claim whose
    runs the grid lacks, so a pre-registered claim is never dropped silently (one that this run does not
    train says so: `planned: false`, reported "not run")."""
    runs = grid.expand_grid(config)
    paths: dict[str, None] = {}
    for claim in claims(config):
        if not claim.planned:  # reported "not run": it has no runs to wait for
            continue
        a_runs, b_runs = claim_runs(claim, runs)
        paths.update(dict.fromkeys(run.metrics_file for run in a_runs + b_runs))
    return list(paths)


def taskemb_run(config: Config, dataset: str, task: str) -> grid.Run:
    """The single-task run TaskEmb starts from: single-<task>, full data, the first configured seed."""
    experiment = f"single-{task}"
    fraction = max((r.fraction for r in _plain(config, dataset=dataset, experiment=experiment)), default=None)
    runs = sorted(_plain(config, dataset=dataset, experiment=experiment, fraction=fraction), key=lambda r: r.seed)
    if not runs:
        raise MtbionerError(f"no single-{task} run of {dataset} in the grid (TaskEmb needs the 'single' family)")
    return runs[0]


def taskemb_outputs(config: Config) -> list[str]:
    """<results tree>/taskemb/<dataset>/<task>.json of every dataset × task that has a single-task run."""
    out = []
    for dataset in grid.datasets(config):
        for task in TASKS:
            if _plain(config, dataset=dataset, experiment=f"single-{task}"):
                out.append(f"{report_files(config).taskemb}/{dataset}/{task}.json")
    return out


def _has(config: Config, **fields: Any) -> bool:
    return bool(_plain(config, **fields))


def report_products(config: Config) -> dict[str, list[str]]:
    """Final products of the report stage by rule, only those the configured grid can make."""
    products: dict[str, list[str]] = {}
    files = report_files(config)
    tables, figures = files.tables, files.figures
    if _has(config, experiment="baseline"):
        products["tables"] = [f"{tables}/table{n}.{ext}" for n in (2, 3, 4) for ext in ("md", "tex", "csv")]
        products["tables"] += [f"{tables}/fp_rates.md", f"{tables}/fp_rates.csv",
                               f"{tables}/fp_mcnemar.csv", f"{tables}/significance.csv"]
        if _has(config, experiment="joint-max", fraction=grid.FULL):
            products["casestudy"] = [f"{tables}/table5.{ext}" for ext in ("html", "tex", "md", "csv")]
    if claims(config):
        products["verdicts"] = [f"{files.verdicts}.csv", f"{files.verdicts}.md", files.sentence_counts]
    if ner_metrics(config):
        products["metrics"] = [files.summary_json]
    if figure4_metrics(config):
        products["figure4"] = [f"{figures}/figure4.png", f"{figures}/figure4.pdf"]
    if _has(config, family="pair") and _has(config, family="single"):
        products["figure5"] = [f"{figures}/figure5.png", f"{figures}/figure5.pdf",
                               f"{figures}/figure5_gains.csv"]
    if len(taskemb_outputs(config)) >= 2:
        products["figure6"] = [f"{figures}/figure6.png", f"{figures}/figure6.pdf",
                               f"{figures}/figure6_tsne.csv", f"{files.taskemb}/similarity.csv"]
    if products:
        products["page"] = [files.page]
    return products


def report_targets(config: Config) -> list[str]:
    return [path for paths in report_products(config).values() for path in paths]


def page_inputs(config: Config) -> list[str]:
    """Everything report.md embeds (all products but itself)."""
    return [path for rule, paths in report_products(config).items() if rule != "page" for path in paths]


def taskemb_inputs(config: Config, dataset: str, task: str) -> dict[str, str]:
    """Inputs of one TaskEmb job: the single-task run (its metrics.json, written after its model — a run TaskEmb
    starts from always keeps its model, see mtbioner.plan.grid — and its config.json) and the training and
    label files the pass reads. The model directory itself is not a declared output of `train` (only some runs
    keep one), so metrics.json stands for it."""
    run = taskemb_run(config, dataset, task)
    files = RunFiles(Path(run.run_dir))
    return {"metrics": run.metrics_file, "config": str(files.config), "train": run.config.train_file,
            "labels": run.config.labels_file}


def beside(path: str, name: str) -> str:
    """A folder next to `path` (results/paper/report.md -> results/paper/<name>): report.md's view of its inputs."""
    from pathlib import PurePosixPath

    return str(PurePosixPath(path).parent / name)
