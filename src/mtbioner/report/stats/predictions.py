"""Test predictions of a run (`test_predictions.tsv`: word, gold NER, predicted NER; blank line between
sentences) turned into per-sentence entity counts — the unit the significance test resamples.

Entities are read with the one chunker, `mtbioner.tasks.labels.get_entities` (seqeval's default mode, the one
our F1 uses), so the counts here add up to exactly the precision / recall / F1 in the run's metrics.json.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from mtbioner.data.iob import read_iob
from mtbioner.tasks.labels import Entity, get_entities
from mtbioner.errors import MtbionerError


@dataclass(frozen=True)
class PredictedSentence:
    tokens: tuple[str, ...]
    gold: tuple[str, ...]
    pred: tuple[str, ...]

    @property
    def gold_entities(self) -> set[Entity]:
        return set(get_entities(list(self.gold)))

    @property
    def pred_entities(self) -> set[Entity]:
        return set(get_entities(list(self.pred)))


def read_predictions(path: str | Path) -> list[PredictedSentence]:
    """A run's test_predictions.tsv, read by the corpus reader with three columns (word, gold, predicted)."""
    path = Path(path)
    if not path.is_file():
        raise MtbionerError(f"{path}: missing (the run wrote no test predictions)")
    return [PredictedSentence(s.tokens, s.tags, s.more_tags[0]) for s in read_iob(path, columns=3)]


def entity_counts(sentences: list[PredictedSentence]) -> np.ndarray:
    """(n_sentences, 3) integer array of per-sentence true positives, false positives, false negatives."""
    counts = np.zeros((len(sentences), 3), dtype=np.int64)
    for i, sentence in enumerate(sentences):
        gold, pred = sentence.gold_entities, sentence.pred_entities
        tp = len(gold & pred)
        counts[i] = (tp, len(pred) - tp, len(gold) - tp)
    return counts


def counted_predictions(path: str | Path) -> tuple[list[PredictedSentence], np.ndarray]:
    """A run's test predictions and their per-sentence entity counts, read once per file version: the same
    run takes part in many comparisons (memoised on the path, its size and its modification time)."""
    path = Path(path)
    try:
        stat = path.stat()
    except FileNotFoundError:
        raise MtbionerError(f"{path}: missing (is the run finished?)") from None
    return _counted(str(path), stat.st_size, stat.st_mtime_ns)


@functools.lru_cache(maxsize=256)
def _counted(path: str, size: int, mtime_ns: int) -> tuple[list[PredictedSentence], np.ndarray]:
    sentences = read_predictions(path)
    return sentences, entity_counts(sentences)


def prf_from_counts(tp: np.ndarray | int, fp: np.ndarray | int, fn: np.ndarray | int) -> tuple:
    """Micro precision / recall / F1 (0 where undefined, as seqeval does); works on arrays of totals too."""
    tp, fp, fn = (np.asarray(x, dtype=np.float64) for x in (tp, fp, fn))
    with np.errstate(divide="ignore", invalid="ignore"):
        precision = np.where(tp + fp > 0, tp / (tp + fp), 0.0)
        recall = np.where(tp + fn > 0, tp / (tp + fn), 0.0)
        f1 = np.where(precision + recall > 0, 2 * precision * recall / (precision + recall), 0.0)
    return precision, recall, f1


def check_same_test_set(a: list[PredictedSentence], b: list[PredictedSentence], name_a: str, name_b: str) -> None:
    """Paired tests need the same sentences, in the same order, with the same gold labels."""
    if len(a) != len(b):
        raise MtbionerError(f"{name_a} has {len(a)} test sentences but {name_b} has {len(b)}: not the same test set")
    for i, (x, y) in enumerate(zip(a, b), start=1):
        if x.tokens != y.tokens or x.gold != y.gold:
            raise MtbionerError(f"{name_a} and {name_b} differ at test sentence {i}: not the same test set or order")
