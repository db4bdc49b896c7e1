"""Per-epoch curve data for `dvc plots` (mtbioner.report.stats.curves, `mtbioner curves`)."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from mtbioner.cli import main
from mtbioner.report.stats.curves import curve_columns, read_curve, write_curves
from mtbioner.tasks import ordered
from mtbioner.errors import MtbionerError
from mtbioner.run.config import RunConfig


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
    config = RunConfig(dataset="D", experiment=experiment, fraction=100, seed=seed, train_file="train.jsonl",
                       test_file="test.jsonl", labels_file="labels.json")
    (run / "config.json").write_text(json.dumps(config.to_json_dict()))
    return run


def test_seed_mean_per_epoch(tmp_path: Path) -> None:
    runs = [fake_run(tmp_path, "joint-max", 1, [0.2, 0.4]), fake_run(tmp_path, "joint-max", 2, [0.4, 0.8])]
    out = tmp_path / "curves/D.csv"
    assert write_curves([run / "metrics.json" for run in runs], out) == 2
    rows = list(csv.DictReader(out.open()))
    assert list(rows[0]) == ["epoch", *curve_columns(ordered(["ner", "mt", "bcls", "mcls"]))]
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


def test_seed_spread_is_in_the_curve_file(tmp_path: Path) -> None:
    """Figure 4's band comes from the curve file: sample std over seeds, empty with one seed."""
    runs = [fake_run(tmp_path, "joint-max", 1, [0.2, 0.4]), fake_run(tmp_path, "joint-max", 2, [0.4, 0.8])]
    write_curves(runs, tmp_path / "two.csv")
    rows = list(csv.DictReader((tmp_path / "two.csv").open()))
    assert [float(row["ner_f1_std"]) for row in rows] == [pytest.approx(0.141421), pytest.approx(0.282843)]
    assert float(rows[0]["bcls_macro_f1_std"]) == 0.0
    write_curves(runs[:1], tmp_path / "one.csv")
    assert {row["ner_f1_std"] for row in csv.DictReader((tmp_path / "one.csv").open())} == {""}


def test_figure4_is_drawn_from_the_curve_files(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The workflow's Figure 4 reads results/metrics/curves/<dataset>.csv (rule epoch_curves), not the runs:
    the seed means are computed once, in mtbioner.report.stats.curves."""
    runs = [fake_run(tmp_path, "joint-max", seed, [0.2 * seed, 0.3 * seed, 0.35 * seed]) for seed in (1, 2)]
    main(["curves", *map(str, runs), "--out", str(tmp_path / "curves" / "D.csv")])
    main(["report", "figure4", str(tmp_path / "curves" / "D.csv"), "--out-prefix", str(tmp_path / "fig4")])
    assert "wrote" in capsys.readouterr().out
    assert (tmp_path / "fig4.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and (tmp_path / "fig4.pdf").is_file()
    assert read_curve(tmp_path / "curves" / "D.csv")[2]["ner_f1"] == pytest.approx(0.525)
    with pytest.raises(SystemExit) as stop:
        main(["report", "figure4", str(tmp_path / "curves" / "D.csv"), str(runs[0]), "--out-prefix", "x"])
    assert stop.value.code == 2 and "not a curve file" in capsys.readouterr().err
