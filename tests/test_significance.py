"""Paired bootstrap: known answers (exact enumeration, identical systems, a dominating system) and the
comparison of every model against the baseline on hand-made runs."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from mtbioner.errors import MtbionerError
from mtbioner.tasks.scoring import sequence_metrics
from mtbioner.report.stats.predictions import entity_counts, prf_from_counts, read_predictions
from mtbioner.run.directory import load_runs
from mtbioner.report.stats.significance import COLUMNS, compare_to_reference, paired_bootstrap
from test_report_fixtures import gold_sentences, predictions, write_run


def _exact_p(counts_a: np.ndarray, counts_b: np.ndarray) -> float:
    """p = P(delta* >= 2 delta) over all n^n equally likely resamples (the quantity the bootstrap estimates)."""
    n = len(counts_a)

    def f1(c):
        return float(prf_from_counts(*c.sum(axis=0))[2])

    delta = f1(counts_b) - f1(counts_a)
    hits = sum(f1(counts_b[list(idx)]) - f1(counts_a[list(idx)]) >= 2 * delta
               for idx in itertools.product(range(n), repeat=n))
    return hits / n**n


def test_bootstrap_matches_exact_enumeration():
    # four sentences: B fixes one missed entity and one false positive of A, but is worse on another
    counts_a = np.array([[1, 0, 1], [2, 1, 0], [0, 1, 0], [3, 0, 0]])
    counts_b = np.array([[2, 0, 0], [2, 0, 0], [0, 0, 0], [2, 1, 1]])
    exact = _exact_p(counts_a, counts_b)
    result = paired_bootstrap(counts_a, counts_b, samples=20000, seed=1)
    assert 0.05 < exact < 0.95  # a case where the answer is not trivially 0 or 1
    assert result.p_value == pytest.approx(exact, abs=0.015)
    assert result.delta == pytest.approx(float(prf_from_counts(*counts_b.sum(0))[2] - prf_from_counts(*counts_a.sum(0))[2]))


def test_identical_systems_are_never_significant():
    counts = np.array([[1, 0, 0], [0, 1, 1], [2, 0, 1]] * 20)
    result = paired_bootstrap(counts, counts.copy(), samples=500)
    assert result.delta == 0.0
    assert result.p_value == 1.0
    assert not result.significant()


def test_a_system_better_on_every_sentence_is_significant_and_the_reverse_is_not():
    rng = np.random.default_rng(0)
    counts_a = np.column_stack([rng.integers(0, 3, 300), rng.integers(1, 2, 300), rng.integers(1, 2, 300)])
    counts_b = counts_a.copy()
    counts_b[:, 0] += 1  # one more true positive ...
    counts_b[:, 2] = np.maximum(counts_b[:, 2] - 1, 0)  # ... found instead of missed
    better = paired_bootstrap(counts_a, counts_b, samples=1000)
    assert better.delta > 0 and better.p_value < 0.005 and better.significant(0.05)
    worse = paired_bootstrap(counts_b, counts_a, samples=1000)
    assert worse.delta < 0 and worse.p_value > 0.5 and not worse.significant()


def test_same_seed_gives_same_p_value():
    counts_a = np.array([[1, 0, 1], [2, 1, 0], [0, 1, 0], [3, 0, 0]] * 5)
    counts_b = np.array([[2, 0, 0], [2, 0, 0], [0, 0, 0], [2, 1, 1]] * 5)
    assert paired_bootstrap(counts_a, counts_b, seed=7).p_value == paired_bootstrap(counts_a, counts_b, seed=7).p_value


def test_entity_counts_reproduce_seqeval(tmp_path):
    pred = predictions(miss={1, 2, 4}, spurious={0, 3})
    run = write_run(tmp_path, "BC2GM", "baseline", pred=pred)
    counts = entity_counts(read_predictions(run / "test_predictions.tsv"))
    precision, recall, f1 = prf_from_counts(*counts.sum(axis=0))
    expected = sequence_metrics([t for _, t in gold_sentences()], pred)
    assert (float(precision), float(recall), float(f1)) == pytest.approx(
        (expected["precision"], expected["recall"], expected["f1"]))


def test_compare_to_baseline_marks_real_gains_only(tmp_path):
    entity_sentences = [i for i in range(30) if i % 3]
    weak = predictions(miss=set(entity_sentences[:12]), spurious={0, 3, 6})
    for seed in (13, 42):
        write_run(tmp_path, "BC2GM", "baseline", seed=seed, pred=weak)
        write_run(tmp_path, "BC2GM", "joint-max", seed=seed, pred=predictions())  # perfect
        write_run(tmp_path, "BC2GM", "alternating", seed=seed, pred=weak)  # same as the baseline
    write_run(tmp_path, "BC2GM", "joint-cls", seed=99, pred=predictions())  # no baseline with seed 99
    runs = load_runs(sorted(tmp_path.glob("runs/*/*/*/*")))
    table = compare_to_reference(runs, "baseline", samples=500)
    assert set(table["experiment"]) == {"joint-max", "alternating"}
    assert len(table) == 4
    joint = table[table["experiment"] == "joint-max"]
    assert joint["significant"].all() and (joint["p_value"] < 0.01).all() and (joint["delta"] > 0).all()
    alternating = table[table["experiment"] == "alternating"]
    assert (~alternating["significant"]).all() and (alternating["p_value"] == 1.0).all()
    assert list(table.columns) == COLUMNS
    assert (table["reference"] == "baseline").all()
    assert set(table["hypothesis"]) == {"joint-max > baseline", "alternating > baseline"}
    assert (joint["f1_experiment"] == 1.0).all() and (joint["f1_reference"] < 1.0).all()


def test_ablations_are_tested_for_joint_max_being_better(tmp_path):
    """Table 4's question: does removing a task hurt? H1 = joint-max better than the ablation, one-sided."""
    entity_sentences = [i for i in range(30) if i % 3]
    full = predictions(miss=set(entity_sentences[:4]))
    for seed in (13, 42):
        write_run(tmp_path, "BC2GM", "joint-max", seed=seed, pred=full)
        write_run(tmp_path, "BC2GM", "no-bcls", seed=seed, pred=predictions(miss=set(entity_sentences[:14])))
        write_run(tmp_path, "BC2GM", "no-mcls", seed=seed, pred=predictions())  # better than joint-max
    write_run(tmp_path, "BC2GM", "baseline", seed=13, pred=full)  # not an ablation: never compared here
    runs = load_runs(sorted(tmp_path.glob("runs/*/*/*/*")))
    table = compare_to_reference(runs, "joint-max", ["no-bcls", "no-mcls"], reference_better=True, samples=500)
    assert len(table) == 4 and (table["reference"] == "joint-max").all()
    worse = table[table["experiment"] == "no-bcls"]
    assert (worse["hypothesis"] == "joint-max > no-bcls").all()
    assert worse["significant"].all() and (worse["p_value"] < 0.01).all()
    assert (worse["delta"] == worse["f1_reference"] - worse["f1_experiment"]).all() and (worse["delta"] > 0).all()
    better = table[table["experiment"] == "no-mcls"]
    assert (~better["significant"]).all() and (better["delta"] < 0).all() and (better["p_value"] > 0.5).all()
    # the same pair asked the other way round (the ablation's gain, as against a baseline) flips the answer
    reverse = compare_to_reference(runs, "joint-max", ["no-bcls"], samples=500)
    assert (reverse["hypothesis"] == "no-bcls > joint-max").all()
    assert (~reverse["significant"]).all() and (reverse["p_value"] > 0.5).all()
    assert reverse["delta"].tolist() == pytest.approx((-worse["delta"]).tolist())


def test_compare_refuses_different_test_sets(tmp_path):
    gold = gold_sentences()
    write_run(tmp_path, "BC2GM", "baseline")
    write_run(tmp_path, "BC2GM", "joint-max", gold=gold[::-1], pred=[t for _, t in gold[::-1]])
    runs = load_runs(sorted(tmp_path.glob("runs/*/*/*/*")))
    with pytest.raises(MtbionerError, match="not the same test set"):
        compare_to_reference(runs, "baseline", samples=100)
