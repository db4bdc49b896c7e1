"""`inference.predict`: input order kept despite length sorting, long sentences fully predicted, loading."""

from __future__ import annotations

from pathlib import Path

import pytest

from mtbioner.run.directory import RunFiles
from mtbioner.errors import MtbionerError
from mtbioner.data.examples import read_examples
from mtbioner.model.inference import load_trained, predict
from mtbioner.tasks import get as get_task


def test_batched_length_sorted_prediction_equals_one_by_one_in_input_order(tiny_trained_run: Path, chem_slice):
    model, tokenizer = load_trained(RunFiles(tiny_trained_run).model)
    sentences = [list(example.tokens) for example in read_examples(chem_slice["test_file"])][:12]
    sentences.reverse()  # any order: results must come back in this order
    batched = predict(model, tokenizer, sentences, batch_size=5)
    single = [predict(model, tokenizer, [sentence], batch_size=1)[0] for sentence in sentences]
    assert [len(prediction.ner) for prediction in batched] == [len(sentence) for sentence in sentences]
    for many, one in zip(batched, single):
        assert many.labels == one.labels
    assert all(set(prediction.ner) <= set(model.ner_labels) for prediction in batched)
    assert all(set(prediction.get("mt")) <= set(get_task("mt").classes(model.ner_labels)) for prediction in batched)


def test_every_word_of_a_long_sentence_gets_a_tag(tiny_trained_run: Path):
    model, tokenizer = load_trained(tiny_trained_run / "model")
    long_sentence = ["Selegiline", "induced", "postural", "hypotension"] * 150  # 600 words, model max 64
    [prediction] = predict(model, tokenizer, [long_sentence])
    assert len(prediction.ner) == 600 and None not in prediction.ner and None not in prediction.get("mt")
    assert prediction.get("mcls") in (0, 1, 2, 3) and prediction.get("bcls") in (0, 1)


def test_predictions_match_the_run_directorys_test_predictions(tiny_trained_run: Path, chem_slice):
    model, tokenizer = load_trained(RunFiles(tiny_trained_run).model)
    test = read_examples(chem_slice["test_file"])
    predictions = predict(model, tokenizer, [list(example.tokens) for example in test])
    written = [line.split("\t")[2] for line in (tiny_trained_run / "test_predictions.tsv").read_text().splitlines()
               if line]
    assert written == [tag for prediction in predictions for tag in prediction.ner]


def test_no_sentences_no_predictions(tiny_trained_run: Path):
    model, tokenizer = load_trained(RunFiles(tiny_trained_run).model)
    assert predict(model, tokenizer, []) == []


def test_load_trained_rejects_a_directory_without_a_model(tmp_path: Path):
    with pytest.raises(MtbionerError, match="neither a trained model directory"):
        load_trained(tmp_path)
