"""The test metrics of a run's tasks (SPEC section 4), as written to `epochs.jsonl` and `metrics.json`.

Each task scores itself (`Task.score`, with the formulas of `mtbioner.tasks.scoring`):
- `ner`, `mt`: seqeval entity-level precision / recall / F1 in its default mode (the conlleval-compatible
  rule, the scorer the authors used), over whole words. For mtCLS the "entity types" are `Single` and `Multi`.
- `bcls`, `mcls`: accuracy and macro-F1 (scikit-learn's; macro over the classes present in gold or
  prediction, a class never seen in either has no defined F1 and is left out).
- a task added after the paper: what its `score` says (docs/design.md, "Tasks").
- `false_positive_sentence_rate` (runs with NER): share of the gold entity-free sentences in which the NER
  prediction holds at least one entity (the paper's "sentences without entities in which the model predicts
  an entity"); `null` when the test set has no entity-free sentence.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from mtbioner.tasks.labels import get_entities
from mtbioner.tasks import NER, ordered

if TYPE_CHECKING:  # annotations only: the report imports this module without loading torch
    from mtbioner.data.examples import Example
    from mtbioner.model.inference import SentencePrediction


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
                         tasks: Sequence[str], ner_labels: Sequence[str]) -> dict:
    """Metrics of every enabled task, keyed by task name (plus `false_positive_sentence_rate` with NER);
    `ner_labels`: the dataset's (labels.json), which fix each task's classes."""
    if len(examples) != len(predictions):
        raise ValueError(f"{len(examples)} examples but {len(predictions)} predictions")
    metrics: dict = {}
    for task in ordered(tasks):
        metrics[task.name] = task.score([task.gold(example.ner) for example in examples],
                                        [prediction.get(task.name) for prediction in predictions],
                                        task.classes(ner_labels))
    if NER in tasks:
        metrics["false_positive_sentence_rate"] = false_positive_sentence_rate(
            [example.ner for example in examples], [prediction.ner for prediction in predictions])
    return metrics
