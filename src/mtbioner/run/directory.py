"""A run directory: where runs live, what each file in one is called, and a finished run read back.

This module is the one place that spells the run directory's layout (docs/design.md, "A run directory"). The
trainer writes through `RunFiles`; every reader — the report, TaskEmb, the learning curves, predict and export —
reads a finished run back as a `FinishedRun`: its `RunConfig` (validated, so the defaults are RunConfig's own,
never a reader's) plus its final metrics. A run is identified by its own `config.json` (dataset, experiment,
fraction, seed), not by its path, so readers work for any layout the grid chooses.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

from mtbioner.atomicio import read_jsonl
from mtbioner.errors import MtbionerError
from mtbioner.run.config import RunConfig

#: The folder of a results tree (`mtbioner.params.results_root`) that holds its runs.
RUNS_FOLDER = "runs"


#: Between an experiment and its variant in a run directory's name and a cell's label (`joint-max@x4`).
VARIANT_MARK = "@"


def experiment_label(experiment: str, variant: str = "") -> str:
    """`joint-max`, or `joint-max@x4` for the variant `x4` (a named grid block, e.g. 4x the training budget)."""
    return f"{experiment}{VARIANT_MARK}{variant}" if variant else experiment


def parse_label(label: str) -> tuple[str, str]:
    """(experiment, variant) of a label `experiment_label` wrote."""
    experiment, _, variant = label.partition(VARIANT_MARK)
    return experiment, variant


def run_path(root: str, dataset: str, experiment: str, fraction: int | str, seed: int | str, variant: str = "") -> str:
    """`{root}/runs/{dataset}/{experiment}/frac{fraction}/seed{seed}` — the workflow's run directory of a cell in
    the results tree `root` (e.g. results/paper); a variant's runs live beside it as `{experiment}@{variant}`, so
    they never collide with the plain runs."""
    return f"{root}/{RUNS_FOLDER}/{dataset}/{experiment_label(experiment, variant)}/frac{fraction}/seed{seed}"


@dataclass(frozen=True)
class RunFiles:
    """The files of one run directory (`root`). `metrics` is written last and marks the run complete."""

    root: Path

    @classmethod
    def of(cls, path: str | Path) -> "RunFiles":
        """A run directory from itself or from one of its files (e.g. the metrics.json Snakemake passes)."""
        path = Path(path)
        return cls(path.parent if path.suffix else path)

    @property
    def config(self) -> Path:
        """config.json: the resolved RunConfig (the casing `auto` resolved to true/false)."""
        return self.root / "config.json"

    @property
    def epochs(self) -> Path:
        """epochs.jsonl: one line per finished epoch (train loss; test metrics when scored)."""
        return self.root / "epochs.jsonl"

    @property
    def metrics(self) -> Path:
        """metrics.json: the final metrics, written last (the run's completion marker)."""
        return self.root / "metrics.json"

    @property
    def predictions(self) -> Path:
        """test_predictions.tsv: word, gold NER, predicted NER per line; blank line between sentences."""
        return self.root / "test_predictions.tsv"

    @property
    def sentences(self) -> Path:
        """test_sentences.jsonl: per test sentence, gold and predicted bCLS/mCLS of the enabled heads."""
        return self.root / "test_sentences.jsonl"

    @property
    def model(self) -> Path:
        """model/: the trained MultiTaskModel with its tokenizer (runs that keep one)."""
        return self.root / "model"

    @property
    def checkpoints(self) -> Path:
        """checkpoints/: per-epoch resume state while training; removed when the run completes."""
        return self.root / "checkpoints"

    @property
    def log(self) -> Path:
        """train.log: human-readable progress."""
        return self.root / "train.log"


def model_directory(path: str | Path) -> Path:
    """The trained model of `path`: a run directory's `model/` (a run directory is one with metrics.json),
    anything else as it is (a model directory itself)."""
    path = Path(path)
    files = RunFiles(path)
    return files.model if files.metrics.is_file() else path


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise MtbionerError(f"{path}: missing (is the run finished?)") from None
    except json.JSONDecodeError as error:
        raise MtbionerError(f"{path}:{error.lineno}: not valid JSON ({error.msg})") from None


class RunIdentity:
    """What tells runs apart, read from a `config: RunConfig` — shared by a planned run of the grid
    (`mtbioner.plan.grid.Run`) and a finished one (`FinishedRun`), so both are the same record."""

    config: RunConfig

    @property
    def dataset(self) -> str:
        return self.config.dataset

    @property
    def experiment(self) -> str:
        return self.config.experiment

    @property
    def fraction(self) -> int:
        return self.config.fraction

    @property
    def seed(self) -> int:
        return self.config.seed

    @property
    def variant(self) -> str:
        return self.config.variant

    @property
    def label(self) -> str:
        """The experiment with its variant (`joint-max@x4`): what tables and comparisons group by."""
        return experiment_label(self.experiment, self.variant)

    @property
    def tasks(self) -> tuple[str, ...]:
        return tuple(self.config.tasks)

    @property
    def key(self) -> tuple[str, str, str, int, int]:
        return (self.dataset, self.experiment, self.variant, self.fraction, self.seed)


@dataclass(frozen=True)
class FinishedRun(RunIdentity):
    """A completed run: its configuration, final metrics and files."""

    files: RunFiles
    config: RunConfig = field(repr=False)
    metrics: dict[str, Any] = field(repr=False)

    @property
    def run_dir(self) -> Path:
        return self.files.root

    def epochs(self) -> list[dict[str, Any]]:
        """epochs.jsonl as a list of per-epoch records."""
        try:
            return read_jsonl(self.files.epochs)
        except FileNotFoundError:
            raise MtbionerError(f"{self.files.epochs}: missing") from None


def load_run(path: str | Path) -> FinishedRun:
    """A finished run from its directory or one of its files; a clear error if it is incomplete or invalid."""
    files = RunFiles.of(path)
    if not files.config.is_file():
        raise MtbionerError(f"{files.config}: missing (is {files.root} a run directory?)")
    config = RunConfig.from_file(files.config)
    return FinishedRun(files=files, config=config, metrics=_read_json(files.metrics))


def load_runs(paths: Iterable[str | Path]) -> list[FinishedRun]:
    """Load runs, refusing two directories that claim the same (dataset, experiment, fraction, seed)."""
    runs: dict[tuple[str, str, str, int, int], FinishedRun] = {}
    for path in paths:
        run = load_run(path)
        if run.key in runs:
            raise MtbionerError(f"{run.run_dir}: same dataset/experiment/variant/fraction/seed as "
                                f"{runs[run.key].run_dir}")
        runs[run.key] = run
    if not runs:
        raise MtbionerError("no run directories given")
    return sorted(runs.values(), key=lambda r: (r.dataset, r.experiment, r.variant, -r.fraction, r.seed))
