"""Figures 4-6 are written (PNG + PDF, non-empty) from hand-made runs; Figure 5's numbers are right."""

from __future__ import annotations

import math

import numpy as np
import pytest

from mtbioner.errors import MtbionerError
from mtbioner.report.stats.curves import runs_curve
from mtbioner.report.render.figures import (MIN_TSNE_POINTS, default_perplexity, describe_curve_runs, figure4_from_curves,
                                     figure5, figure6, mean_off_diagonal, pairwise_gains, tsne_coordinates,
                                     write_figure6)
from mtbioner.run.directory import load_runs
from test_report_fixtures import write_run

#: The paper's four tasks (the registry holds more: mtbioner.tasks.TASKS)
TASKS = ("ner", "mt", "bcls", "mcls")


def _assert_written(paths):
    assert [p.suffix for p in paths] == [".png", ".pdf"]
    png, pdf = paths
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 5000
    assert pdf.read_bytes()[:5] == b"%PDF-" and pdf.stat().st_size > 1000


def _all_task_metrics(score: float) -> dict:
    return {"ner": {"precision": score, "recall": score, "f1": score}, "mt": {"precision": score, "recall": score, "f1": score},
            "bcls": {"accuracy": score, "macro_f1": score - 0.1}, "mcls": {"accuracy": score, "macro_f1": score - 0.2}}


def test_figure4_per_epoch_curves(tmp_path):
    for dataset in ("BC2GM", "NCBI-disease"):
        for seed in (1, 2):
            epochs = [{"epoch": e, "train_loss": 1 / e, **_all_task_metrics(0.5 + 0.1 * e + 0.01 * seed)} for e in (1, 2, 3)]
            write_run(tmp_path, dataset, "joint-max", seed=seed, epochs=epochs, metrics=epochs[-1])
    # the longest budget of NCBI-disease: a variant at 10 % that trains 4 epochs
    for seed in (1, 2):
        epochs = [{"epoch": e, "train_loss": 1 / e, **_all_task_metrics(0.4 + 0.1 * e)} for e in (1, 2, 3, 4)]
        write_run(tmp_path, "NCBI-disease", "joint-max", fraction=10, seed=seed, variant="x4", epochs=epochs,
                  metrics=epochs[-1], epochs_configured=4)
    runs = load_runs(sorted(tmp_path.glob("runs/*/*/*/*")))
    drawn = [r for r in runs if r.dataset == "BC2GM" or r.variant == "x4"]
    curves = {dataset: runs_curve([r for r in drawn if r.dataset == dataset]) for dataset in ("BC2GM", "NCBI-disease")}
    described = describe_curve_runs(drawn)
    assert described == {"BC2GM": "joint-max, 100 % data, 3 epochs configured, 2 seeds (1, 2)",
                         "NCBI-disease": "joint-max@x4, 10 % data, 4 epochs configured, 2 seeds (1, 2)"}
    # one seed reads as that seed, never as a count ("seeds 13" read as 13 seeds)
    assert describe_curve_runs([r for r in drawn if r.dataset == "BC2GM" and r.seed == 2]) == {
        "BC2GM": "joint-max, 100 % data, 3 epochs configured, seed 2"}
    _assert_written(figure4_from_curves(curves, tmp_path / "fig" / "figure4", described=described))
    with pytest.raises(MtbionerError, match="one dataset/experiment/fraction"):
        runs_curve([r for r in runs if r.dataset == "NCBI-disease"])  # plain and variant never pool


def test_figure5_gains_and_heatmap(tmp_path):
    single = {"ner": 0.80, "mt": 0.70, "bcls": 0.90, "mcls": 0.60}
    for seed in (1, 2):
        for task in TASKS:
            write_run(tmp_path, "BC2GM", f"single-{task}", seed=seed, tasks=(task,),
                      metrics={task: _all_task_metrics(single[task])[task]})
            for secondary in TASKS:
                if secondary != task:
                    bump = 0.01 * (TASKS.index(secondary) + 1) * (1 if seed == 1 else 3)
                    write_run(tmp_path, "BC2GM", f"pair-{task}-{secondary}", seed=seed, tasks=(task, secondary),
                              metrics={task: _all_task_metrics(single[task] + bump)[task]})
    runs = load_runs(sorted(tmp_path.glob("runs/*/*/*/*")))
    gains = pairwise_gains(runs)
    row = gains[(gains["main"] == "mcls") & (gains["secondary"] == "mt")].iloc[0]
    # mCLS macro-F1 = score - 0.2; the pair adds 0.02 (seed 1) and 0.06 (seed 2): mean gain 4 pp
    assert row["gain"] == pytest.approx(4.0) and row["single_score"] == pytest.approx(40.0)
    accuracy = pairwise_gains(runs, sentence_metric="accuracy")
    assert accuracy[(accuracy["main"] == "mcls") & (accuracy["secondary"] == "mt")].iloc[0]["single_score"] == pytest.approx(60.0)
    assert len(gains) == 12
    _assert_written(figure5(gains, tmp_path / "fig" / "figure5"))


def test_figure6_tsne_of_twelve_embeddings(tmp_path):
    rng = np.random.default_rng(0)
    base = {task: rng.normal(size=64) for task in TASKS}
    labels, vectors = [], []
    for dataset in ("BC2GM", "BC5CDR-chem", "NCBI-disease"):
        for task in TASKS:
            labels.append((dataset, task))
            vectors.append(base[task] + 0.1 * rng.normal(size=64))
    coordinates = tsne_coordinates(np.array(vectors))
    assert coordinates.shape == (12, 2) and np.isfinite(coordinates).all()
    # the same task of three datasets ends up closer together than different tasks
    same = np.linalg.norm(coordinates[0] - coordinates[4])
    different = np.mean([np.linalg.norm(coordinates[0] - coordinates[j]) for j in (1, 2, 3)])
    assert same < different
    from mtbioner.report.stats.similarity import cosine_similarity_matrix

    _assert_written(figure6(labels, coordinates, tmp_path / "fig" / "figure6", perplexity=default_perplexity(12),
                            similarity=cosine_similarity_matrix(np.array(vectors))))
    _assert_written(figure6(labels, coordinates, tmp_path / "fig" / "figure6-alone", perplexity=3))
    _assert_written(figure6(labels, None, tmp_path / "fig" / "figure6-matrix", perplexity=None,
                            similarity=cosine_similarity_matrix(np.array(vectors))))


def test_perplexity_rule():
    # 3 x perplexity neighbours must exist: (n - 1) / 3, at most 5
    assert default_perplexity(12) == pytest.approx(11 / 3) and default_perplexity(16) == 5
    assert default_perplexity(8) == pytest.approx(7 / 3)
    assert MIN_TSNE_POINTS == 8
    with pytest.raises(MtbionerError, match="3 x perplexity < 12"):
        tsne_coordinates(np.eye(12), perplexity=4)
    with pytest.raises(MtbionerError, match="at least 8"):
        tsne_coordinates(np.eye(4))


def test_figure6_below_eight_embeddings_is_the_cosine_matrix_alone(tmp_path):
    """Four embeddings of one dataset made a near-square t-SNE in the first CPU finding: now no t-SNE, the
    cosine matrix with its reference (the mean off-diagonal cosine: squared gradients make every cosine > 0)."""
    import json

    rng = np.random.default_rng(1)
    files = []
    for task in TASKS:
        prefix = tmp_path / "taskemb" / "NCBI-disease" / task
        prefix.parent.mkdir(parents=True, exist_ok=True)
        vector = rng.random(32) ** 2  # non-negative, like a squared gradient
        np.save(prefix.with_suffix(".npy"), (vector / np.linalg.norm(vector)).astype(np.float32))
        prefix.with_suffix(".json").write_text(json.dumps({"dataset": "NCBI-disease", "task": task}))
        files.append(prefix.with_suffix(".json"))
    count, perplexity = write_figure6(files, tmp_path / "fig" / "figure6", tmp_path / "similarity.csv",
                                      perplexity=None, seed=0)
    assert count == 4 and math.isnan(perplexity)
    assert (tmp_path / "fig" / "figure6_tsne.csv").read_text().strip() == "dataset,task,x,y"
    _assert_written([tmp_path / "fig" / "figure6.png", tmp_path / "fig" / "figure6.pdf"])
    import pandas as pd

    similarity = pd.read_csv(tmp_path / "similarity.csv", index_col=0).to_numpy()
    assert (similarity > 0).all()
    off = similarity[~np.eye(4, dtype=bool)]
    assert mean_off_diagonal(similarity) == pytest.approx(off.mean(), abs=1e-6)
    assert mean_off_diagonal(np.array([[1.0, 0.5], [0.5, 1.0]])) == 0.5


def test_figures_without_runs_are_user_errors(tmp_path):
    run = write_run(tmp_path, "BC2GM", "baseline")
    gains = pairwise_gains(load_runs([run]))
    assert gains["gain"].isna().all() and not math.isnan(len(gains))
    with pytest.raises(MtbionerError, match="Figure 5 needs"):
        figure5(gains, tmp_path / "f5")
