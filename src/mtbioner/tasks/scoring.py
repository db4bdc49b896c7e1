"""The metrics the tasks score with (each task's `score` calls one): seqeval's entity P/R/F1, scikit-learn's
accuracy and macro-F1, and multi-label micro/macro-F1 over classes.

Why the formulas are written out here rather than called: importing seqeval imports scikit-learn (for one
warning class), which imports pandas and scipy: 1.5-3 s of every training job's start-up on a 2-core machine
(benchmarks/startup.py), for arithmetic of a few lines. Entities come from the one chunker,
`mtbioner.tasks.labels.get_entities` (seqeval 1.2.2's default mode rule for rule), and the divisions are done
in the same float64 order as seqeval's and scikit-learn's, so the numbers are bit-identical;
tests/test_light_imports.py (and tests/test_task_tcls.py for the multi-label scores) check that against both
libraries on real corpus tags (they are test oracles here; scikit-learn also draws Figure 6's t-SNE).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from mtbioner.tasks.labels import get_entities


def _divide(numerator: float, denominator: float) -> float:
    return numerator / denominator if denominator != 0 else 0.0  # zero_division=0


def sequence_metrics(gold: Sequence[Sequence[str]], pred: Sequence[Sequence[str]]) -> dict[str, float]:
    """seqeval P/R/F1 (default mode, micro average); 0.0 where undefined (no gold or no predicted entity)."""
    if len(gold) != len(pred):
        raise ValueError(f"{len(gold)} gold but {len(pred)} predicted sentences")
    true_entities = set(get_entities([list(tags) for tags in gold]))
    pred_entities = set(get_entities([list(tags) for tags in pred]))
    correct = len(true_entities & pred_entities)
    precision = _divide(correct, len(pred_entities))
    recall = _divide(correct, len(true_entities))
    # seqeval: (1 + beta²) * P * R / (beta² * P + R) with beta = 1.0, a zero denominator replaced by 1
    denominator = 1.0 * precision + recall
    f1 = 2.0 * precision * recall / (denominator if denominator != 0 else 1.0)
    return {"precision": float(precision), "recall": float(recall), "f1": float(f1)}


def classification_metrics(gold: Sequence[int], pred: Sequence[int]) -> dict[str, float]:
    """scikit-learn's accuracy_score and f1_score(average="macro", zero_division=0), same arithmetic."""
    if len(gold) != len(pred):
        raise ValueError(f"{len(gold)} gold but {len(pred)} predicted labels")
    gold_array, pred_array = np.asarray(gold), np.asarray(pred)
    per_class = []
    for label in np.union1d(gold_array, pred_array):  # the classes present in gold or prediction, sorted
        true_positives = np.sum((gold_array == label) & (pred_array == label))
        # scikit-learn >= 1.3: F = (1 + beta²) tp / (beta² (tp + fn) + (tp + fp))
        denominator = 1.0 * float(np.sum(gold_array == label)) + float(np.sum(pred_array == label))
        per_class.append(_divide(2.0 * float(true_positives), denominator))
    return {
        "accuracy": float(np.mean(gold_array == pred_array)),
        "macro_f1": float(np.mean(np.asarray(per_class, dtype=np.float64))),
    }


def multilabel_metrics(gold: Sequence[Sequence[str]], pred: Sequence[Sequence[str]],
                       classes: Sequence[str]) -> dict[str, float]:
    """Sets of classes per sentence: exact-match accuracy (scikit-learn's subset accuracy) and micro / macro
    F1 over `classes` (scikit-learn's f1_score on the indicator matrix, zero_division=0: a class neither gold
    nor predicted anywhere counts 0 in the macro mean, as there)."""
    if len(gold) != len(pred):
        raise ValueError(f"{len(gold)} gold but {len(pred)} predicted label sets")
    gold_sets, pred_sets = [set(labels) for labels in gold], [set(labels) for labels in pred]
    per_class, true_total, gold_total, pred_total = [], 0, 0, 0
    for label in classes:
        true_positives = sum(1 for g, p in zip(gold_sets, pred_sets) if label in g and label in p)
        in_gold = sum(1 for g in gold_sets if label in g)
        in_pred = sum(1 for p in pred_sets if label in p)
        per_class.append(_divide(2.0 * true_positives, 1.0 * in_gold + in_pred))
        true_total, gold_total, pred_total = true_total + true_positives, gold_total + in_gold, pred_total + in_pred
    return {
        "accuracy": _divide(sum(1 for g, p in zip(gold_sets, pred_sets) if g == p), len(gold_sets)),
        "micro_f1": _divide(2.0 * true_total, 1.0 * gold_total + pred_total),
        "macro_f1": float(np.mean(np.asarray(per_class, dtype=np.float64))) if per_class else 0.0,
    }
