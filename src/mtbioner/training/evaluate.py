"""Metrics of the four tasks (SPEC section 4), as written to `epochs.jsonl` and `metrics.json`.

- `ner`, `mt`: seqeval entity-level precision / recall / F1 in its default mode (the conlleval-compatible
  rule, the scorer the authors used), over whole words. For mtCLS the "entity types" are `Single` and `Multi`.
- `bcls`, `mcls`: accuracy and macro-F1 (scikit-learn; macro over the classes present in gold or
  prediction, a class never seen in either has no defined F1 and is left out).
- `false_positive_sentence_rate`: share of the gold entity-free sentences in which the NER prediction holds
  at least one entity (the paper's "sentences without entities in which the model predicts an entity");
  `null` when the test set has no entity-free sentence.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from seqeval.metrics import f1_score, precision_score, recall_score
from seqeval.metrics.sequence_labeling import get_entities
from sklearn.metrics import accuracy_score
from sklearn.metrics import f1_score as sklearn_f1

from mtbioner.tasks import TASKS

if TYPE_CHECKING:  # annotations only: the report imports this module without loading torch
    from mtbioner.data.examples import Example
    from mtbioner.model.inference import SentencePrediction


def sequence_metrics(gold: Sequence[Sequence[str]], pred: Sequence[Sequence[str]]) -> dict[str, float]:
    """seqeval P/R/F1 (default mode); 0.0 where undefined (no gold or no predicted entity)."""
    gold_lists, pred_lists = [list(tags) for tags in gold], [list(tags) for tags in pred]
    return {
        "precision": float(precision_score(gold_lists, pred_lists, zero_division=0)),
        "recall": float(recall_score(gold_lists, pred_lists, zero_division=0)),
        "f1": float(f1_score(gold_lists, pred_lists, zero_division=0)),
    }


def classification_metrics(gold: Sequence[int], pred: Sequence[int]) -> dict[str, float]:
    return {
        "accuracy": float(accuracy_score(gold, pred)),
        "macro_f1": float(sklearn_f1(gold, pred, average="macro", zero_division=0)),
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
