"""Why mtCLS F1 sits below NER F1 on a single-type corpus (issue 16 §3), pinned on hand-made and real tags.

mtCLS is scored by the same seqeval-style chunker as NER, with the "entity types" Single and Multi. A chunk's
type is the length class, so an mtCLS chunk counts only if its span is right *and* its tags name the right
length class: a lone `B-Multi` on a one-word entity (or `B-Single I-Multi` on a two-word one) is wrong for
mtCLS although the same span is right for NER. When the mtCLS tags agree with the NER spans (as derived from
them), the two scores are identical: the scorer adds no gap of its own; a gap comes from the mtCLS head's
predictions.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from mtbioner.data.iob import read_iob
from mtbioner.tasks import get as get_task
from mtbioner.tasks.labels import get_entities
from mtbioner.tasks.scoring import sequence_metrics


def test_b_single_is_a_one_word_chunk_and_b_multi_i_multi_one_chunk():
    tags = ["B-Single", "B-Single", "O", "B-Multi", "I-Multi", "I-Multi", "B-Single"]
    assert get_entities(tags) == [("Single", 0, 0), ("Single", 1, 1), ("Multi", 3, 5), ("Single", 6, 6)]


def test_a_type_change_splits_a_chunk():
    # B-Single followed by I-Multi: the type changes, so seqeval starts a new (Multi) chunk at the I
    assert get_entities(["B-Single", "I-Multi", "O"]) == [("Single", 0, 0), ("Multi", 1, 1)]
    # a lone B-Multi is a one-word chunk of type Multi, not a Single
    assert get_entities(["O", "B-Multi", "O"]) == [("Multi", 1, 1)]


def test_perfect_spans_with_a_wrong_length_class_score_below_ner():
    # two sentences, three one-type entities; the NER head finds all three spans
    gold_ner = [["B-Disease", "O", "B-Disease", "I-Disease"], ["O", "B-Disease", "I-Disease", "O"]]
    pred_ner = [list(tags) for tags in gold_ner]
    gold_mt = [list(get_task("mt").gold(tags)) for tags in gold_ner]
    assert gold_mt == [["B-Single", "O", "B-Multi", "I-Multi"], ["O", "B-Multi", "I-Multi", "O"]]
    # the mtCLS head marks the same three spans but calls the one-word entity Multi (a lone B-Multi) and
    # starts the last two-word entity with B-Single: one chunk right out of three gold, four predicted
    pred_mt = [["B-Multi", "O", "B-Multi", "I-Multi"], ["O", "B-Single", "I-Multi", "O"]]
    ner = sequence_metrics(gold_ner, pred_ner)
    mt = sequence_metrics(gold_mt, pred_mt)
    assert ner == {"precision": 1.0, "recall": 1.0, "f1": 1.0}
    assert mt["precision"] == pytest.approx(1 / 4)
    assert mt["recall"] == pytest.approx(1 / 3)
    assert mt["f1"] == pytest.approx(2 * (1 / 4) * (1 / 3) / (1 / 4 + 1 / 3))


def _truncated(tags: list[str], sentence_index: int) -> list[str]:
    """A deterministic imperfect tagging: in every other sentence each entity loses its last word, and in
    every third an O after an entity becomes I (a too-long span), so spans and length classes both change."""
    out = list(tags)
    for index in range(len(out)):
        following = out[index + 1] if index + 1 < len(out) else "O"
        if sentence_index % 2 == 0 and out[index].startswith("I-") and not following.startswith("I-"):
            out[index] = "O"
        elif sentence_index % 3 == 0 and out[index] == "O" and index > 0 and tags[index - 1] != "O":
            out[index] = "I-" + tags[index - 1][2:]
    return out


def test_mt_tags_consistent_with_ner_spans_score_exactly_as_ner_on_real_corpus(mirror_data: Path):
    """NCBI-disease test: every gold entity is one mtCLS chunk of its length class (about 44 % Single), and a
    tagging whose mtCLS tags are derived from its NER tags gets the same P/R/F1 on both tasks."""
    gold_ner = [list(sentence.tags) for sentence in read_iob(mirror_data / "NCBI-disease-IOB" / "test.tsv")]
    gold_mt = [list(get_task("mt").gold(tags)) for tags in gold_ner]
    ner_entities = get_entities(gold_ner)
    assert get_entities(gold_mt) == [("Single" if start == end else "Multi", start, end)
                                     for _, start, end in ner_entities]
    singles = sum(1 for entity_type, _, _ in get_entities(gold_mt) if entity_type == "Single")
    assert (len(ner_entities), singles) == (960, 423)

    pred_ner = [_truncated(tags, index) for index, tags in enumerate(gold_ner)]
    pred_mt = [list(get_task("mt").gold(tags)) for tags in pred_ner]
    ner = sequence_metrics(gold_ner, pred_ner)
    assert 0.3 < ner["f1"] < 0.95  # a real, imperfect prediction
    assert sequence_metrics(gold_mt, pred_mt) == ner
