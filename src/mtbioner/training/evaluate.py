"""Metrics of the four tasks (SPEC section 4), as written to `epochs.jsonl` and `metrics.json`.

- `ner`, `mt`: seqeval entity-level precision / recall / F1 in its default mode (the conlleval-compatible
  rule, the scorer the authors used), over whole words. For mtCLS the "entity types" are `Single` and `Multi`.
- `bcls`, `mcls`: accuracy and macro-F1 (scikit-learn's; macro over the classes present in gold or
  prediction, a class never seen in either has no defined F1 and is left out).
- `false_positive_sentence_rate`: share of the gold entity-free sentences in which the NER prediction holds
  at least one entity (the paper's "sentences without entities in which the model predicts an entity");
  `null` when the test set has no entity-free sentence.

Why the formulas are written out here rather than called: importing seqeval imports scikit-learn (for one
warning class), which imports pandas and scipy: 1.5-3 s of every training job's start-up on a 2-core machine
(benchmarks/startup.py), for arithmetic of a few lines. Entities come from the one chunker,
`mtbioner.data.labels.get_entities` (seqeval 1.2.2's default mode rule for rule), and the divisions are done
in the same float64 order as seqeval's and scikit-learn's, so the numbers are bit-identical;
tests/test_light_imports.py checks that against both libraries on real corpus tags (they are test oracles
here; scikit-learn also draws Figure 6's t-SNE).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from mtbioner.data.labels import get_entities
from mtbioner.tasks import TASKS

if TYPE_CHECKING:  # annotations only: the report imports this module without loading torch
    from mtbioner.data.examples import Example
    from mtbioner.model.inference import SentencePrediction

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


def false_positive_sentence_rate(gold: Sequence[Sequence[str]], pred: Sequence[Sequence[str]]) -> float | None:
    """Share of gold entity-free sentences in which `pred` holds at least one entity (the paper's 2.38 / 2.71 /
    2.87 % statistic); None when every sentence has an entity. The one definition: the trainer's metrics and
    the report's fallback for runs without it both call this."""
    entity_free = [index for index, tags in enumerate(gold) if not get_entities(list(tags))]
    if not entity_free:
        return None
    with_false_entity = sum(1 for index in entity_free if get_entities(list(pred[index])))
    return with_false_entity / len(entity_free)


def evaluate_predictions(examples: Sequence[Example], predictions: Sequence[SentencePrediction],
                         tasks: Sequence[str]) -> dict:
    """Metrics of every enabled task, keyed by task name (plus `false_positive_sentence_rate` with `ner`)."""
    if len(examples) != len(predictions):
        raise ValueError(f"{len(examples)} examples but {len(predictions)} predictions")
    metrics: dict = {}
    for task in (task for task in TASKS if task in tasks):
        if task in ("ner", "mt"):
            gold = [getattr(example, task) for example in examples]
            metrics[task] = sequence_metrics(gold, [getattr(prediction, task) for prediction in predictions])
        else:
            metrics[task] = classification_metrics([getattr(example, task) for example in examples],
                                                   [getattr(prediction, task) for prediction in predictions])
    if "ner" in tasks:
        metrics["false_positive_sentence_rate"] = false_positive_sentence_rate(
            [example.ner for example in examples], [prediction.ner for prediction in predictions])
    return metrics
