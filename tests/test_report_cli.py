"""The `mtbioner report ...` verbs end to end on hand-made runs and a tiny real single-task model."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import torch

from mtbioner.cli import main
from mtbioner.model.encoders import load_encoder
from mtbioner.data.examples import example_from_sentence, write_examples, write_label_file
from mtbioner.data.iob import Sentence
from mtbioner.model.multitask import MultiTaskModel
from test_report_fixtures import gold_sentences, predictions, write_run

#: The paper's four tasks (the registry holds more: mtbioner.tasks.TASKS)
TASKS = ("ner", "mt", "bcls", "mcls")

torch.set_num_threads(1)


def _run(args: list[str]) -> None:
    try:
        main(args)
    except SystemExit as stop:
        assert stop.code in (0, None), f"mtbioner {' '.join(args)} exited {stop.code}"


def _single_task_run(tmp_path, dataset: str, task: str):
    """A single-task run directory with a (untrained) tiny MultiTaskModel and its training file."""
    sentences = [Sentence(tuple(tokens), tuple(tags), line) for line, (tokens, tags) in enumerate(gold_sentences(), 1)]
    data = tmp_path / "data" / dataset
    examples = [example_from_sentence(s, f"train:{i + 1}") for i, s in enumerate(sentences)]
    write_examples(data / "train.jsonl", examples)
    write_label_file(data / "labels.json", ["Gene"])
    run = write_run(tmp_path, dataset, f"single-{task}", tasks=(task,), metrics={})
    config = json.loads((run / "config.json").read_text())
    config.update(train_file=str(data / "train.jsonl"), labels_file=str(data / "labels.json"))
    (run / "config.json").write_text(json.dumps(config))
    encoder, tokenizer = load_encoder("tiny", vocab_from=[list(s.tokens) for s in sentences], seed=1)
    MultiTaskModel(encoder, [task], ["O", "B-Gene", "I-Gene"]).save_pretrained(run / "model", tokenizer)
    return run


def test_report_verbs_end_to_end(tmp_path):
    weak = predictions(miss={1, 2, 4, 5, 7}, spurious={0, 3})
    metrics_files = []
    for dataset in ("BC2GM", "NCBI-disease"):
        for seed in (1, 2):
            for experiment, pred in (("baseline", weak), ("joint-max", predictions(miss={5})),
                                     ("joint-cls", weak), ("alternating", predictions(miss={1}))):
                run = write_run(tmp_path, dataset, experiment, seed=seed, pred=pred)
                metrics_files.append(str(run / "metrics.json"))
    out = tmp_path / "results"
    _run(["report", "tables", *metrics_files, "--out-dir", str(out / "tables"), "--samples", "200"])
    _run(["report", "metrics", *metrics_files, "--out", str(out / "metrics" / "summary.json")])
    _run(["report", "casestudy", *metrics_files, "--out-prefix", str(out / "tables" / "table5")])
    curves, drawn = [], []
    for dataset in ("BC2GM", "NCBI-disease"):
        seeds = [path for path in metrics_files if f"/{dataset}/joint-max/" in path]
        curves.append(str(out / "metrics" / "curves" / f"{dataset}.csv"))
        _run(["curves", *seeds, "--out", curves[-1]])
        drawn += [arg for path in seeds for arg in ("--run", path)]
    _run(["report", "figure4", *curves, "--out-prefix", str(out / "figures" / "figure4"), *drawn])
    claims = [{"name": "joint beats alternating", "dataset": "BC2GM", "fraction": 100, "a": "joint-max",
               "b": "alternating", "paper_delta": 1.31, "family": True}]
    _run(["report", "verdicts", *metrics_files, "--claims-json", json.dumps(claims), "--out-prefix",
          str(out / "tables" / "verdicts"), "--samples", "300"])

    embeddings = []
    for task in TASKS[:2]:
        run = _single_task_run(tmp_path, "BC2GM", task)
        prefix = out / "taskemb" / "BC2GM" / task
        _run(["report", "taskemb", str(run), "--out-prefix", str(prefix), "--device", "cpu"])
        vector = np.load(f"{prefix}.npy")
        meta = json.loads(prefix.with_suffix(".json").read_text())
        assert vector.shape == (meta["dimensions"],) == (2 * meta["layers"] * meta["hidden_size"],)
        assert np.linalg.norm(vector) == pytest.approx(1.0, abs=1e-5)
        assert meta["n_examples"] == 30 and meta["n_batches"] == 1 and meta["task"] == task
        embeddings.append(str(prefix.with_suffix(".json")))
    _run(["report", "figure6", *embeddings, "--out-prefix", str(out / "figures" / "figure6"),
          "--similarity-out", str(out / "taskemb" / "similarity.csv")])
    _run(["report", "page", *metrics_files, "--out", str(out / "report.md"), "--tables-dir", str(out / "tables"),
          "--figures-dir", str(out / "figures"), "--taskemb-dir", str(out / "taskemb")])

    for name in ("table2", "table3", "table4"):
        for ext in ("md", "tex", "csv"):
            assert (out / "tables" / f"{name}.{ext}").stat().st_size > 100
    significance = (out / "tables" / "significance.csv").read_text()
    # header + datasets × seeds × (joint-max, joint-cls, alternating against the baseline; the ablation
    # alternating against joint-max)
    assert significance.count("\n") == 1 + 2 * 2 * 3 + 2 * 2
    references = pd.read_csv(out / "tables" / "significance.csv").groupby("reference")["experiment"].unique()
    assert sorted(references["baseline"]) == ["alternating", "joint-cls", "joint-max"]
    assert list(references["joint-max"]) == ["alternating"]
    summary = json.loads((out / "metrics" / "summary.json").read_text())
    assert set(summary) == {"BC2GM", "NCBI-disease"} and "frac100" in summary["BC2GM"]["joint-max"]
    similarity = (out / "taskemb" / "similarity.csv").read_text().splitlines()
    assert similarity[0] == ",BC2GM-ner,BC2GM-mt" and similarity[1].startswith("BC2GM-ner,1.0")
    page = (out / "report.md").read_text()
    assert "## Configuration" in page and "| seeds | 1, 2 |" in page
    assert "![Figure 4" in page and "(figures/figure4.png)" in page and "(figures/figure6.png)" in page
    assert "### Table 2" in page and "### Table 5" in page and "### Verdicts on the pre-registered claims" in page
    assert "- joint beats alternating — joint-max − alternating, BC2GM 100%: Δ" in page
    assert "seed pairs (p" not in page and "seed noise" not in page
    assert "\n# " not in page.split("# mtbioner report", 1)[1]  # embedded files never open a new top level
    assert "*Figure 5: pair-wise gains over the single-task model: not produced in this configuration.*" in page
    assert "**MAX pooling is the best pooling (paper Table 2).**" in page and "BC2GM (100%): MAX" in page
    assert "Joint training beats alternating" in page


def test_user_errors_exit_2_with_one_line(tmp_path, capsys):
    run = write_run(tmp_path, "BC2GM", "baseline")
    (run / "metrics.json").write_text("{not json")
    with pytest.raises(SystemExit) as stop:
        main(["report", "tables", str(run), "--out-dir", str(tmp_path / "t")])
    assert stop.value.code == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and "metrics.json:1: not valid JSON" in err and "\n" not in err


def test_nest_headings():
    from mtbioner.report.render.page import nest_headings

    assert nest_headings("# Table 1\n\ntext\n## Beside") == "### Table 1\n\ntext\n#### Beside"
    assert nest_headings("### Table 2\nx") == "### Table 2\nx"
    assert nest_headings("no heading") == "no heading"
