"""Per-run metrics as one tidy frame, and their mean / standard deviation over seeds.

Standard deviation = sample std (ddof = 1) over the seeds of a cell; with a single seed it is undefined (NaN)
and tables print no "±" part rather than a misleading 0.00. A cell is (dataset, label, fraction): the label
is the experiment, or `experiment@variant` for a variant's runs (a named grid block), so a training-budget
variant never pools with the plain runs.
"""

from __future__ import annotations

import math
from typing import Any

import pandas as pd

from mtbioner.run.directory import FinishedRun
from mtbioner.tasks import REGISTRY

KEYS = ["dataset", "label", "fraction"]

#: Flat column name -> path in metrics.json (docs/design.md, "Metrics per task"): every metric of every
#: registered task (NaN in the runs without it), then the false-positive-sentence rate.
METRIC_PATHS: dict[str, tuple[str, ...]] = {
    **{f"{task.name}.{metric}": (task.name, metric) for task in REGISTRY for metric in task.metrics},
    "false_positive_sentence_rate": ("false_positive_sentence_rate",),
}


def metric_value(metrics: dict[str, Any], path: tuple[str, ...]) -> float:
    value: Any = metrics
    for key in path:
        if not isinstance(value, dict) or key not in value:
            return math.nan
        value = value[key]
    return math.nan if value is None else float(value)


def runs_frame(runs: list[FinishedRun]) -> pd.DataFrame:
    """One row per run: dataset, experiment, variant, label, fraction, seed and every metric of METRIC_PATHS
    (NaN if absent; the trainer writes the false-positive-sentence rate of every run with an NER head)."""
    rows = []
    for run in runs:
        row: dict[str, Any] = {"dataset": run.dataset, "experiment": run.experiment, "variant": run.variant,
                               "label": run.label, "fraction": run.fraction, "seed": run.seed}
        for column, path in METRIC_PATHS.items():
            row[column] = metric_value(run.metrics, path)
        rows.append(row)
    return pd.DataFrame(rows, columns=["dataset", "experiment", "variant", "label", "fraction", "seed",
                                       *METRIC_PATHS])


def plain(frame: pd.DataFrame) -> pd.DataFrame:
    """The rows of plain runs (no variant): what Tables 2-4 and the summary's claims compare."""
    return frame[frame["variant"] == ""]


def seed_stats(frame: pd.DataFrame, column: str) -> pd.DataFrame:
    """Mean, sample std and number of seeds of `column` per (dataset, label, fraction)."""
    data = frame.dropna(subset=[column])
    grouped = data.groupby(KEYS)[column]
    stats = pd.DataFrame({"mean": grouped.mean(), "std": grouped.std(ddof=1), "n": grouped.count()})
    return stats


def cell(stats: pd.DataFrame, dataset: str, label: str, fraction: int) -> tuple[float, float, int]:
    """(mean, std, n) of one cell (`label`: an experiment, or experiment@variant); (nan, nan, 0) when no run
    exists for it."""
    key = (dataset, label, fraction)
    if key not in stats.index:
        return math.nan, math.nan, 0
    row = stats.loc[key]
    return float(row["mean"]), float(row["std"]), int(row["n"])
