"""Per-epoch learning curves as plain CSV, the data `dvc plots show` / `dvc plots diff` draw.

One file per dataset: per epoch, the test scores of every task of the four-task model (joint-max at 100 %),
averaged over seeds — the numbers behind the paper's Figure 4 (which the report draws as an image), in a form
DVC can overlay across experiments. The aggregated scores for `dvc metrics` are the report's
(`mtbioner report metrics` -> results/metrics/summary.json).
"""

from __future__ import annotations

import csv
import io
import statistics
from collections import defaultdict
from pathlib import Path
from typing import Any, Iterable

from mtbioner.atomicio import write_text
from mtbioner.errors import MtbionerError
from mtbioner.report.runs import load_runs, read_epochs

#: Per-epoch columns of a curve file, in this order (scores in [0, 1]; the loss is the weighted joint loss).
CURVE_COLUMNS = ("ner_f1", "mt_f1", "bcls_macro_f1", "mcls_macro_f1", "bcls_accuracy", "mcls_accuracy", "train_loss")


def flat_scores(record: dict[str, Any]) -> dict[str, float]:
    """An epochs.jsonl line `{"ner": {"f1": .8}, ...}` -> `{"ner_f1": .8, ...}`."""
    scores: dict[str, float] = {}
    for key, value in record.items():
        if isinstance(value, dict) and key in ("ner", "mt", "bcls", "mcls"):
            scores.update({f"{key}_{metric}": float(v) for metric, v in value.items() if isinstance(v, (int, float))})
        elif key == "train_loss" and isinstance(value, (int, float)):
            scores[key] = float(value)
    return scores


def curve_rows(epoch_histories: Iterable[list[dict[str, Any]]]) -> list[dict[str, float | int]]:
    """Seed means per epoch of CURVE_COLUMNS over the histories of one dataset's runs."""
    by_epoch: dict[int, list[dict[str, float]]] = defaultdict(list)
    for history in epoch_histories:
        for line in history:
            by_epoch[int(line["epoch"])].append(flat_scores(line))
    rows = []
    for epoch in sorted(by_epoch):
        row: dict[str, float | int] = {"epoch": epoch}
        for column in CURVE_COLUMNS:
            values = [scores[column] for scores in by_epoch[epoch] if column in scores]
            if values:
                row[column] = round(statistics.fmean(values), 6)
        rows.append(row)
    return rows


def write_curves(run_paths: Iterable[str | Path], out: str | Path) -> int:
    """Write the seed-mean curve of the given runs (one dataset, one experiment) to `out`; return #epochs."""
    runs = load_runs(run_paths)
    if len({(run.dataset, run.experiment, run.fraction) for run in runs}) != 1:
        raise MtbionerError("curves: give the seeds of one dataset/experiment/fraction, got "
                            + ", ".join(sorted({f"{r.dataset}/{r.experiment}/frac{r.fraction}" for r in runs})))
    rows = curve_rows(read_epochs(run) for run in runs)
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=["epoch", *CURVE_COLUMNS], lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    write_text(out, buffer.getvalue())
    return len(rows)
