"""Per-epoch curve data for `dvc plots` (mtbioner.curves, `mtbioner curves`)."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from mtbioner.cli import main
from mtbioner.curves import CURVE_COLUMNS, write_curves
from mtbioner.errors import MtbionerError


def fake_run(root: Path, experiment: str, seed: int, ner_f1: list[float]) -> Path:
    """A run directory in the trainer's format (config.json, epochs.jsonl, metrics.json = last epoch)."""
    run = root / f"{experiment}-{seed}"
    run.mkdir(parents=True)
    lines = [{"epoch": epoch, "train_loss": 1.0 / epoch,
              "ner": {"precision": f1, "recall": f1, "f1": f1}, "mt": {"precision": 0.5, "recall": 0.5, "f1": 0.5},
              "bcls": {"accuracy": 0.8, "macro_f1": 0.7}, "mcls": {"accuracy": 0.6, "macro_f1": 0.4},
              "false_positive_sentence_rate": 0.1}
             for epoch, f1 in enumerate(ner_f1, start=1)]
    (run / "epochs.jsonl").write_text("".join(json.dumps(line) + "\n" for line in lines))
    (run / "metrics.json").write_text(json.dumps(lines[-1]))
    (run / "config.json").write_text(json.dumps({"dataset": "D", "experiment": experiment, "fraction": 100, "seed": seed}))
    return run


def test_seed_mean_per_epoch(tmp_path: Path) -> None:
    runs = [fake_run(tmp_path, "joint-max", 1, [0.2, 0.4]), fake_run(tmp_path, "joint-max", 2, [0.4, 0.8])]
    out = tmp_path / "curves/D.csv"
    assert write_curves([run / "metrics.json" for run in runs], out) == 2
    rows = list(csv.DictReader(out.open()))
    assert list(rows[0]) == ["epoch", *CURVE_COLUMNS]
    assert [(row["epoch"], float(row["ner_f1"])) for row in rows] == [("1", pytest.approx(0.3)), ("2", pytest.approx(0.6))]
    assert float(rows[1]["bcls_macro_f1"]) == pytest.approx(0.7)
    assert float(rows[1]["train_loss"]) == pytest.approx(0.5)


def test_mixing_experiments_is_an_error(tmp_path: Path) -> None:
    runs = [fake_run(tmp_path, "joint-max", 1, [0.2]), fake_run(tmp_path, "baseline", 1, [0.3])]
    with pytest.raises(MtbionerError, match="one dataset/experiment/fraction"):
        write_curves(runs, tmp_path / "x.csv")


def test_cli_verb(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run = fake_run(tmp_path, "joint-max", 1, [0.1, 0.2, 0.3])
    main(["curves", str(run), "--out", str(tmp_path / "c.csv")])
    assert "3 epochs" in capsys.readouterr().out
    with pytest.raises(SystemExit) as stop:
        main(["curves", str(tmp_path / "missing"), "--out", str(tmp_path / "d.csv")])
    assert stop.value.code == 2
    assert capsys.readouterr().err.startswith("error: ")
