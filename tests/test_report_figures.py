"""Figures 4-6 are written (PNG + PDF, non-empty) from hand-made runs; Figure 5's numbers are right."""

from __future__ import annotations

import math

import numpy as np
import pytest

from mtbioner.errors import MtbionerError
from mtbioner.report.curves import runs_curve
from mtbioner.report.figures import default_perplexity, figure4_from_curves, figure5, figure6, pairwise_gains, tsne_coordinates
from mtbioner.run.directory import load_runs
from mtbioner.tasks import TASKS
from test_report_fixtures import write_run


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
    runs = load_runs(sorted(tmp_path.glob("runs/*/*/*/*")))
    curves = {dataset: runs_curve([r for r in runs if r.dataset == dataset]) for dataset in ("BC2GM", "NCBI-disease")}
    _assert_written(figure4_from_curves(curves, tmp_path / "fig" / "figure4"))


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
    from mtbioner.report.taskemb import cosine_similarity_matrix

    _assert_written(figure6(labels, coordinates, tmp_path / "fig" / "figure6", perplexity=default_perplexity(12),
                            similarity=cosine_similarity_matrix(np.array(vectors))))
    _assert_written(figure6(labels, coordinates, tmp_path / "fig" / "figure6-alone", perplexity=5))


def test_perplexity_rule():
    assert default_perplexity(12) == 5 and default_perplexity(4) == 3 and default_perplexity(2) == 1
    with pytest.raises(MtbionerError, match="perplexity 12"):
        tsne_coordinates(np.eye(12), perplexity=12)
    with pytest.raises(MtbionerError, match="at least 2"):
        tsne_coordinates(np.ones((1, 3)))


def test_figures_without_runs_are_user_errors(tmp_path):
    run = write_run(tmp_path, "BC2GM", "baseline")
    gains = pairwise_gains(load_runs([run]))
    assert gains["gain"].isna().all() and not math.isnan(len(gains))
    with pytest.raises(MtbionerError, match="Figure 5 needs"):
        figure5(gains, tmp_path / "f5")
