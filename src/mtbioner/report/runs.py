"""Reading finished run directories (docs/design.md, "A run directory") for the report.

A run is identified by its own `config.json` (dataset, experiment, fraction, seed), not by its path, so the
report works for any layout the grid chooses. The CLI accepts run directories or their `metrics.json` files
(what Snakemake passes as inputs).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

from mtbioner.atomicio import read_jsonl
from mtbioner.errors import MtbionerError


@dataclass(frozen=True)
class RunRecord:
    run_dir: Path
    dataset: str
    experiment: str
    fraction: int
    seed: int
    metrics: dict[str, Any] = field(repr=False)
    config: dict[str, Any] = field(repr=False)

    @property
    def key(self) -> tuple[str, str, int, int]:
        return (self.dataset, self.experiment, self.fraction, self.seed)

    @property
    def predictions_file(self) -> Path:
        return self.run_dir / "test_predictions.tsv"

    @property
    def epochs_file(self) -> Path:
        return self.run_dir / "epochs.jsonl"


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise MtbionerError(f"{path}: missing (is the run finished?)") from None
    except json.JSONDecodeError as error:
        raise MtbionerError(f"{path}:{error.lineno}: not valid JSON ({error.msg})") from None


def run_dir_of(path: str | Path) -> Path:
    """A run directory from itself or from one of its files (e.g. the metrics.json Snakemake passes)."""
    path = Path(path)
    return path.parent if path.suffix else path


def load_run(path: str | Path) -> RunRecord:
    run_dir = run_dir_of(path)
    config = _read_json(run_dir / "config.json")
    metrics = _read_json(run_dir / "metrics.json")
    try:
        return RunRecord(
            run_dir=run_dir,
            dataset=str(config["dataset"]),
            experiment=str(config["experiment"]),
            fraction=int(config.get("fraction", 100)),
            seed=int(config.get("seed", 0)),
            metrics=metrics,
            config=config,
        )
    except KeyError as error:
        raise MtbionerError(f"{run_dir / 'config.json'}: no {error.args[0]!r} key") from None


def load_runs(paths: Iterable[str | Path]) -> list[RunRecord]:
    """Load runs, refusing two directories that claim the same (dataset, experiment, fraction, seed)."""
    runs: dict[tuple[str, str, int, int], RunRecord] = {}
    for path in paths:
        run = load_run(path)
        if run.key in runs:
            raise MtbionerError(f"{run.run_dir}: same dataset/experiment/fraction/seed as {runs[run.key].run_dir}")
        runs[run.key] = run
    if not runs:
        raise MtbionerError("no run directories given")
    return sorted(runs.values(), key=lambda r: (r.dataset, r.experiment, -r.fraction, r.seed))


def read_epochs(run: RunRecord) -> list[dict[str, Any]]:
    try:
        return read_jsonl(run.epochs_file)
    except FileNotFoundError:
        raise MtbionerError(f"{run.epochs_file}: missing") from None
