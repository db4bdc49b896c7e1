"""Per-epoch learning curves as plain CSV: the data `dvc plots show` / `dvc plots diff` draw, and Figure 4's.

One file per dataset (results/<name>/metrics/curves/<dataset>.csv): per epoch, the test scores of every task of the
multi-task model (the columns of the tasks its runs have, `curve_columns`) (joint-max at the longest training budget the grid has, `mtbioner.plan.grid.curve_runs`),
averaged over seeds, and their sample standard deviation over seeds
(`<column>_std`, empty with a single seed) — the numbers behind the paper's Figure 4, which the report draws
from these files, in a form DVC can overlay across experiments. The seed means are computed here only. The
aggregated scores for `dvc metrics` are the report's (`mtbioner report metrics` -> results/<name>/metrics/summary.json).
"""

from __future__ import annotations

import csv
import io
import math
import statistics
from collections import defaultdict
from pathlib import Path
from typing import Any, Iterable

from mtbioner.atomicio import write_text
from mtbioner.errors import MtbionerError
from mtbioner.run.directory import FinishedRun, load_runs
from mtbioner.tasks import REGISTRY, TASKS, Task


def score_columns(tasks: Iterable[Task]) -> tuple[str, ...]:
    """Per-epoch scores of a curve file of runs with `tasks` (scores in [0, 1]; the loss is the weighted joint
    loss), seed means: each word-level task's F1, each sentence-level task's macro-F1, then their accuracy."""
    tasks = list(tasks)
    return (*(f"{task.name}_{task.headline}" for task in tasks if task.level == "word"),
            *(f"{task.name}_{metric}" for metric in ("macro_f1", "accuracy")
              for task in tasks if task.level == "sentence"),
            "train_loss")


def curve_columns(tasks: Iterable[Task]) -> tuple[str, ...]:
    """Columns of a curve file after `epoch`, in this order: the scores, then their sample standard deviation
    over seeds (`<column>_std`, Figure 4's band, where at least two seeds have the value)."""
    scores = score_columns(tasks)
    return scores + tuple(f"{column}_std" for column in scores)


Curve = list[dict[str, float]]  # rows of one curve file: epoch, then its curve_columns (NaN where empty)


def flat_scores(record: dict[str, Any]) -> dict[str, float]:
    """An epochs.jsonl line `{"ner": {"f1": .8}, ...}` -> `{"ner_f1": .8, ...}`."""
    scores: dict[str, float] = {}
    for key, value in record.items():
        if isinstance(value, dict) and key in TASKS:
            scores.update({f"{key}_{metric}": float(v) for metric, v in value.items() if isinstance(v, (int, float))})
        elif key == "train_loss" and isinstance(value, (int, float)):
            scores[key] = float(value)
    return scores


def curve_rows(epoch_histories: Iterable[list[dict[str, Any]]]) -> list[dict[str, float | int]]:
    """Seed means (and standard deviations) per epoch of `score_columns` over the histories of one dataset's runs
    (of every registered task: a task the runs lack has no values, hence no cells)."""
    by_epoch: dict[int, list[dict[str, float]]] = defaultdict(list)
    for history in epoch_histories:
        for line in history:
            by_epoch[int(line["epoch"])].append(flat_scores(line))
    rows = []
    for epoch in sorted(by_epoch):
        row: dict[str, float | int] = {"epoch": epoch}
        for column in score_columns(REGISTRY):
            values = [scores[column] for scores in by_epoch[epoch] if column in scores]
            if values:
                row[column] = round(statistics.fmean(values), 6)
            if len(values) > 1:
                row[f"{column}_std"] = round(statistics.stdev(values), 6)
        rows.append(row)
    return rows


def runs_curve(runs: list[FinishedRun]) -> list[dict[str, float | int]]:
    """The seed-mean curve of the given runs, which must be the seeds of one dataset/label/fraction (a
    variant's runs, `joint-max@x4`, never pool with the plain ones)."""
    if len({(run.dataset, run.label, run.fraction) for run in runs}) != 1:
        raise MtbionerError("curves: give the seeds of one dataset/experiment/fraction, got "
                            + ", ".join(sorted({f"{r.dataset}/{r.label}/frac{r.fraction}" for r in runs})))
    return curve_rows(run.epochs() for run in runs)


def format_curve(rows: list[dict[str, float | int]]) -> str:
    buffer = io.StringIO()
    # the columns of the tasks the runs have: the paper's four-task runs keep the files they always had
    tasks = [task for task in REGISTRY if any(column in row for row in rows for column in score_columns([task])[:-1])]
    writer = csv.DictWriter(buffer, fieldnames=["epoch", *curve_columns(tasks)], lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue()


def write_curves(run_paths: Iterable[str | Path], out: str | Path) -> int:
    """Write the seed-mean curve of the given runs (one dataset, one experiment) to `out`; return #epochs."""
    rows = runs_curve(load_runs(run_paths))
    write_text(out, format_curve(rows))
    return len(rows)


def read_curve(path: str | Path) -> Curve:
    """Rows of a curve file: `epoch` and every column of it as floats (NaN where the cell is empty)."""
    path = Path(path)
    try:
        with open(path, encoding="utf-8", newline="") as handle:
            rows = list(csv.DictReader(handle))
    except FileNotFoundError:
        raise MtbionerError(f"{path}: missing (rule epoch_curves writes it)") from None
    except OSError as error:
        raise MtbionerError(f"{path}: not a curve file ({error.strerror})") from None
    try:
        return [{key: float(value) if value not in ("", None) else math.nan for key, value in row.items()}
                for row in rows]
    except ValueError as error:
        raise MtbionerError(f"{path}: not a curve file ({error})") from None
