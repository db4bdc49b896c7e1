"""Paired bootstrap significance of an F1 difference between two systems on the same test sentences.

Resampling unit = the sentence (entity TP/FP/FN counts of both systems move together), micro F1 recomputed on
each resample. One-sided test of "B is better than A" following Berg-Kirkpatrick et al. (2012): the
resampled differences, shifted by the observed difference, approximate the null distribution, so
p = P(delta* >= 2 * delta), with the usual +1 correction for a Monte Carlo p-value (never exactly 0).

significance.csv holds two kinds of rows, told apart by its `reference` column: every model against the
baseline ("does the model gain over the baseline?", the † of Tables 2 and 3) and, for Table 4, joint-max
against each ablation ("does removing a task hurt?", i.e. joint-max better than the ablation).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from mtbioner.report.stats.bootstrap import MULTINOMIAL, paired_replicates
from mtbioner.report.defaults import ALPHA, BOOTSTRAP_SAMPLES, BOOTSTRAP_SEED
from mtbioner.report.stats.predictions import check_same_test_set, counted_predictions, prf_from_counts
from mtbioner.run.directory import FinishedRun
from mtbioner.tasks import NER


@dataclass(frozen=True)
class BootstrapResult:
    f1_a: float
    f1_b: float
    delta: float  # f1_b - f1_a on the full test set
    p_value: float  # one-sided, H0: B is not better than A
    samples: int

    def significant(self, alpha: float = ALPHA) -> bool:
        return self.delta > 0 and self.p_value < alpha


def _f1(counts: np.ndarray) -> np.ndarray:
    """F1 of each row of (..., 3) summed counts."""
    return prf_from_counts(counts[..., 0], counts[..., 1], counts[..., 2])[2]


def resampled_deltas(counts_a: np.ndarray, counts_b: np.ndarray, samples: int, seed: int) -> np.ndarray:
    """F1(B) - F1(A) on `samples` bootstrap resamples of the sentences (with replacement, size n): the report's
    bootstrap engine with one seed, each resample's sentence counts one multinomial(n, uniform) draw."""
    replicates = paired_replicates(counts_b[None], counts_a[None], samples, np.random.default_rng(seed), _f1,
                                   draw=MULTINOMIAL, resample_seeds=False)
    return replicates.per_seed[:, 0]


def p_value_from_deltas(deltas: np.ndarray, observed: float) -> float:
    exceed = int(np.count_nonzero(deltas >= 2 * observed))
    return (exceed + 1) / (len(deltas) + 1)


def paired_bootstrap(counts_a: np.ndarray, counts_b: np.ndarray, samples: int = BOOTSTRAP_SAMPLES,
                     seed: int = BOOTSTRAP_SEED) -> BootstrapResult:
    """Is system B (e.g. joint-max) better than A (the baseline)? counts: (n_sentences, 3) TP/FP/FN."""
    counts_a = np.asarray(counts_a, dtype=np.int64)
    counts_b = np.asarray(counts_b, dtype=np.int64)
    if counts_a.shape != counts_b.shape or counts_a.ndim != 2 or counts_a.shape[1] != 3:
        raise ValueError(f"need two (n, 3) count arrays of the same shape, got {counts_a.shape} and {counts_b.shape}")
    f1_a = float(_f1(counts_a.sum(axis=0)))
    f1_b = float(_f1(counts_b.sum(axis=0)))
    delta = f1_b - f1_a
    deltas = resampled_deltas(counts_a, counts_b, samples, seed)
    return BootstrapResult(f1_a, f1_b, delta, p_value_from_deltas(deltas, delta), samples)


# ------------------------------------------------------------------------------ models vs a reference model
#: Columns of significance.csv. `hypothesis` is the one-sided alternative tested, written out
#: ("joint-max > baseline", "joint-max > no-bcls"); `delta` is F1 of its left side minus its right side on
#: the full test set, and `significant` = delta > 0 and p_value < alpha.
COLUMNS = ["dataset", "experiment", "fraction", "seed", "reference", "hypothesis", "f1_experiment", "f1_reference",
           "delta", "p_value", "significant", "samples"]


def compare_to_reference(runs: list[FinishedRun], reference: str, experiments: list[str] | None = None,
                         reference_better: bool = False, samples: int = BOOTSTRAP_SAMPLES,
                         seed: int = BOOTSTRAP_SEED, alpha: float = ALPHA) -> pd.DataFrame:
    """Paired bootstrap of every (dataset, experiment, fraction) against the `reference` run of the same
    dataset, fraction and seed (seed pairs = seeds both have). One row per seed pair (see COLUMNS).

    reference_better=False tests "experiment > reference" (a model's gain over the baseline);
    reference_better=True tests "reference > experiment" (an ablation: does removing a task from joint-max
    hurt?). Every pair must be scored on the same test sentences in the same order (checked)."""
    by_key = {run.key: run for run in runs}

    def counts_of(run: FinishedRun) -> tuple:
        return counted_predictions(run.files.predictions)

    rows = []
    for run in runs:
        if run.experiment == reference or (experiments is not None and run.experiment not in experiments):
            continue
        if NER not in run.metrics:  # single-/pair- runs without NER have nothing to compare
            continue
        ref = by_key.get((run.dataset, reference, run.variant, run.fraction, run.seed))
        if ref is None:
            continue
        sentences_ref, counts_ref = counts_of(ref)
        sentences_run, counts_run = counts_of(run)
        check_same_test_set(sentences_ref, sentences_run, str(ref.files.predictions), str(run.files.predictions))
        if reference_better:  # H1: the reference (B) is better than the experiment (A)
            result = paired_bootstrap(counts_run, counts_ref, samples=samples, seed=seed)
            f1_experiment, f1_reference = result.f1_a, result.f1_b
            hypothesis = f"{reference} > {run.experiment}"
        else:  # H1: the experiment (B) is better than the reference (A)
            result = paired_bootstrap(counts_ref, counts_run, samples=samples, seed=seed)
            f1_experiment, f1_reference = result.f1_b, result.f1_a
            hypothesis = f"{run.experiment} > {reference}"
        rows.append({
            "dataset": run.dataset, "experiment": run.experiment, "fraction": run.fraction, "seed": run.seed,
            "reference": reference, "hypothesis": hypothesis, "f1_experiment": f1_experiment,
            "f1_reference": f1_reference, "delta": result.delta, "p_value": result.p_value,
            "significant": result.significant(alpha), "samples": samples,
        })
    return pd.DataFrame(rows, columns=COLUMNS)
