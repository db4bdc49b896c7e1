"""Metrics: seqeval (default mode) for ner/mt, accuracy + macro-F1 for bcls/mcls, false-positive sentences."""

from __future__ import annotations

import pytest

from mtbioner.tasks.scoring import classification_metrics, sequence_metrics
from mtbioner.training.evaluate import evaluate_predictions, false_positive_sentence_rate
from mtbioner.data.examples import Example
from mtbioner.model.inference import SentencePrediction


NER_LABELS = ["O", "B-X", "I-X"]


def example(ner: list[str], example_id: str) -> Example:
    return Example(example_id, tuple(f"w{i}" for i in range(len(ner))), tuple(ner))


def test_sequence_metrics_are_entity_level_and_follow_the_default_mode():
    gold = [["B-Chemical", "I-Chemical", "O", "B-Chemical"]]
    # first entity cut short (wrong), second right: P = 1/2, R = 1/2
    pred = [["B-Chemical", "O", "O", "B-Chemical"]]
    assert sequence_metrics(gold, pred) == pytest.approx({"precision": 0.5, "recall": 0.5, "f1": 0.5})
    # default (conlleval) mode: a stray I- starts an entity, so I-Chemical I-Chemical == B-Chemical I-Chemical
    assert sequence_metrics(gold, [["I-Chemical", "I-Chemical", "O", "B-Chemical"]])["f1"] == 1.0
    # no predicted entity at all: zeros, not a warning-laden NaN
    assert sequence_metrics(gold, [["O"] * 4]) == {"precision": 0.0, "recall": 0.0, "f1": 0.0}


def test_classification_metrics():
    metrics = classification_metrics([0, 0, 1, 1], [0, 1, 1, 1])
    assert metrics["accuracy"] == 0.75
    assert metrics["macro_f1"] == pytest.approx((2 / 3 + 0.8) / 2)


def test_false_positive_sentence_rate_counts_entity_free_gold_sentences_only():
    gold = [["O", "O"], ["O", "O"], ["B-X", "O"], ["O"]]
    pred = [["B-X", "O"], ["O", "O"], ["O", "O"], ["I-X"]]  # a stray I-X is an entity too
    assert false_positive_sentence_rate(gold, pred) == pytest.approx(2 / 3)
    assert false_positive_sentence_rate([["B-X"]], [["O"]]) is None


def test_evaluate_predictions_reports_exactly_the_enabled_tasks():
    examples = [example(["B-X", "I-X", "O"], "t:1"), example(["O", "O", "O"], "t:2")]
    predictions = [SentencePrediction({"ner": ["B-X", "I-X", "O"], "mt": ["B-Multi", "I-Multi", "O"], "bcls": 1, "mcls": 1}),
                   SentencePrediction({"ner": ["O", "B-X", "O"], "mt": ["O", "O", "O"], "bcls": 0, "mcls": 0})]
    metrics = evaluate_predictions(examples, predictions, ["ner", "mt", "bcls", "mcls"], NER_LABELS)
    assert metrics["ner"] == pytest.approx({"precision": 0.5, "recall": 1.0, "f1": 2 / 3})
    assert metrics["mt"]["f1"] == 1.0
    assert metrics["bcls"] == {"accuracy": 1.0, "macro_f1": 1.0}
    assert metrics["false_positive_sentence_rate"] == 1.0
    only_bcls = evaluate_predictions(examples, [SentencePrediction({"bcls": 1}), SentencePrediction({"bcls": 1})], ["bcls"],
                                     NER_LABELS)
    assert set(only_bcls) == {"bcls"}  # no NER head: no NER metrics, no false-positive rate
    assert only_bcls["bcls"]["accuracy"] == 0.5
