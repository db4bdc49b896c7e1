"""tCLS, the task added after the paper (src/mtbioner/tasks/tcls.py): its derivation, target, loss, window merge
and metric on real BC5CDR sentences (Chemical and Disease), scikit-learn as the metric's oracle; a model trained
with it predicts type sets for long (windowed) sentences; and the whole DAG trains, predicts and reports it
from config/tcls.yaml on a slice of BC5CDR."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest
import torch
import yaml

from mtbioner.data.examples import example_from_sentence, write_examples, write_label_file
from mtbioner.data.iob import read_iob
from mtbioner.model.inference import predict
from mtbioner.model.tokenization import collate, encode_examples
from mtbioner.run.config import RunConfig
from mtbioner.tasks import IGNORE_INDEX
from mtbioner.tasks import get as get_task
from mtbioner.tasks.scoring import multilabel_metrics
from mtbioner.training.trainer import train_run

from conftest import CORPUS_MIRROR
from test_workflow import copy_workflow, snakemake

BC5CDR = CORPUS_MIRROR / "BC5CDR-IOB"
LABELS = ["O", "B-Chemical", "I-Chemical", "B-Disease", "I-Disease"]  # labels.json of BC5CDR
TCLS = get_task("tcls")


@pytest.fixture(scope="module")
def sentences():
    if not BC5CDR.is_dir():
        pytest.fail(f"corpus mirror not available at {BC5CDR}")
    return read_iob(BC5CDR / "train.tsv")[:300]


def test_gold_is_the_set_of_entity_types_of_the_sentence(sentences):
    assert TCLS.classes(LABELS) == ("Chemical", "Disease")
    golds = [TCLS.gold(sentence.tags) for sentence in sentences]
    assert {(), ("Chemical",), ("Disease",), ("Chemical", "Disease")} == set(golds)  # both types, alone and together
    for sentence, gold in zip(sentences, golds):
        assert set(gold) == {tag[2:] for tag in sentence.tags if tag != "O"}
    assert TCLS.gold(["I-Disease", "O", "B-Chemical", "I-Chemical"]) == ("Chemical", "Disease")
    assert TCLS.target(("Disease",), TCLS.classes(LABELS)) == [0.0, 1.0]


def test_windows_merge_by_union_in_sorted_order():
    assert TCLS.merge([("Disease",), (), ("Chemical",)]) == ("Chemical", "Disease")
    assert TCLS.merge([(), ()]) == ()
    assert TCLS.value([True, False], ("Chemical", "Disease")) == ("Chemical",)


def test_loss_is_binary_cross_entropy_over_the_types():
    logits = torch.tensor([[2.0, -1.0], [0.5, 0.5]])
    labels = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    expected = torch.nn.functional.binary_cross_entropy_with_logits(logits, labels)
    assert torch.allclose(TCLS.loss(logits, labels), expected)
    assert TCLS.loss(logits, torch.full((2, 2), float(IGNORE_INDEX))).item() == 0.0  # nothing labelled


def test_metric_equals_scikit_learn_on_real_type_sets(sentences):
    from sklearn.metrics import accuracy_score, f1_score
    from sklearn.preprocessing import MultiLabelBinarizer

    gold = [TCLS.gold(sentence.tags) for sentence in sentences]
    rng = random.Random(3)
    pred = [tuple(t for t in ("Chemical", "Disease") if (t in labels) != (rng.random() < 0.2)) for labels in gold]
    classes = TCLS.classes(LABELS)
    ours = TCLS.score(gold, pred, classes)
    binarizer = MultiLabelBinarizer(classes=list(classes)).fit([classes])
    y_true, y_pred = binarizer.transform(gold), binarizer.transform(pred)
    assert ours == {"accuracy": accuracy_score(y_true, y_pred),
                    "micro_f1": f1_score(y_true, y_pred, average="micro", zero_division=0),
                    "macro_f1": f1_score(y_true, y_pred, average="macro", zero_division=0)}
    assert 0 < ours["macro_f1"] < 1
    assert multilabel_metrics(gold, gold, classes) == {"accuracy": 1.0, "micro_f1": 1.0, "macro_f1": 1.0}


def test_features_carry_multi_hot_targets_of_their_own_window(sentences, tmp_path):
    from mtbioner.model.encoders import load_encoder

    examples = [example_from_sentence(sentence, f"train:{i}") for i, sentence in enumerate(sentences[:8], 1)]
    _, tokenizer = load_encoder("tiny", vocab_from=[list(example.tokens) for example in examples], seed=0)
    features = encode_examples(examples, tokenizer, LABELS, max_length=16, tasks=["ner", "tcls"])
    assert len(features) > len(examples)  # windows
    for feature in features:
        example = examples[feature.sentence_index]
        words = example.ner[feature.first_word:feature.first_word + len(feature.word_starts)]
        assert feature.labels["tcls"] == TCLS.target(TCLS.gold(words), TCLS.classes(LABELS))
    batch = collate(features, tokenizer.pad_token_id)
    assert batch["tcls_labels"].dtype == torch.float and batch["tcls_labels"].shape == (len(features), 2)


def test_a_trained_model_predicts_type_sets_and_merges_windows(sentences, tmp_path):
    train = [example_from_sentence(sentence, f"train:{i}") for i, sentence in enumerate(sentences[:60], 1)]
    test = [example_from_sentence(sentence, f"test:{i}") for i, sentence in enumerate(sentences[60:90], 1)]
    write_examples(tmp_path / "train.jsonl", train)
    write_examples(tmp_path / "test.jsonl", test)
    write_label_file(tmp_path / "labels.json", ["Chemical", "Disease"])
    config = RunConfig.model_validate({
        "dataset": "BC5CDR", "experiment": "pair-ner-tcls", "train_file": str(tmp_path / "train.jsonl"),
        "test_file": str(tmp_path / "test.jsonl"), "labels_file": str(tmp_path / "labels.json"), "encoder": "tiny",
        "max_length": 24, "batch_size": 8, "learning_rate": 1e-3, "epochs": 2, "seed": 5, "precision": "fp32",
        "tasks": ["ner", "tcls"], "loss_weights": {"ner": 0.8, "tcls": 0.2}})
    metrics = train_run(config, tmp_path / "run", progress=False)
    assert set(metrics["tcls"]) == {"accuracy", "micro_f1", "macro_f1"}
    rows = [json.loads(line) for line in (tmp_path / "run" / "test_sentences.jsonl").read_text().splitlines()]
    assert [row["tcls_gold"] for row in rows] == [list(TCLS.gold(example.ner)) for example in test]
    assert all(set(row["tcls_pred"]) <= {"Chemical", "Disease"} for row in rows)

    from mtbioner.model.inference import load_trained

    model, tokenizer = load_trained(tmp_path / "run" / "model")
    # a long sentence (several windows at max_length 24) predicts the union of its windows' type sets
    long_sentence = [word for example in test[:6] for word in example.tokens]
    [whole] = predict(model, tokenizer, [long_sentence])
    windows = [prediction.get("tcls") for prediction in predict(model, tokenizer, _windows(model, tokenizer, long_sentence))]
    assert len(windows) > 1 and whole.get("tcls") == TCLS.merge(windows)


def _windows(model, tokenizer, words: list[str]) -> list[list[str]]:
    """The words of each window the encoder splits `words` into (the same split predict makes)."""
    from mtbioner.model.tokenization import encode_sentences

    features = encode_sentences([words], tokenizer, model.max_length)
    return [words[f.first_word:f.first_word + len(f.word_starts)] for f in features]


def test_the_dag_trains_predicts_and_reports_tcls_on_bc5cdr(tmp_path_factory: pytest.TempPathFactory) -> None:
    """config/tcls.yaml with a tiny overlay (random tiny encoder, 40 sentences, joint-max and the single-task
    runs, the baseline and the ablations): every product of the report stage is built, and tCLS is in the runs' metrics,
    predictions, curves, task embeddings and Table 4 (w/o tCLS)."""
    if not BC5CDR.is_dir():
        pytest.fail(f"corpus mirror not available at {BC5CDR}")
    workspace = copy_workflow(tmp_path_factory.mktemp("tcls_dag"))
    overlay = {"data": {"source": str(CORPUS_MIRROR), "max_train_sentences": 40},
               "model": {"encoder": "tiny", "max_length": 64},
               "train": {"batch_size": 8, "learning_rate": 1.0e-3, "epochs": 2, "precision": "fp32"},
               "eval": {"max_test_sentences": 20},
               "grid": {"experiments": ["baseline", "joint-max", "single", "ablation"]},
               "resources": {"train_mem_mb": 1000, "train_runtime": 10},
               "report": {"bootstrap_samples": 100}}
    (workspace / "config/tcls-tiny.yaml").write_text(yaml.safe_dump(overlay), encoding="utf-8")
    snakemake(workspace, "--cores", "2", "--configfile", "config/tcls.yaml", "config/tcls-tiny.yaml")
    results = workspace / "results" / "tcls"
    labels = json.loads((results / "data/BC5CDR/labels.json").read_text())
    assert labels["entity_types"] == ["Chemical", "Disease"]
    joint = results / "runs/BC5CDR/joint-max/frac100/seed13"
    metrics = json.loads((joint / "metrics.json").read_text())
    assert set(metrics["train_task_losses"]) == {"ner", "mt", "bcls", "mcls", "tcls"}
    assert set(metrics["tcls"]) == {"accuracy", "micro_f1", "macro_f1"}
    rows = [json.loads(line) for line in (joint / "test_sentences.jsonl").read_text().splitlines()]
    assert {tuple(row["tcls_gold"]) for row in rows} >= {("Chemical",), ("Disease",), ("Chemical", "Disease")}
    single = json.loads((results / "runs/BC5CDR/single-tcls/frac100/seed13/metrics.json").read_text())
    assert set(single) >= {"tcls"} and "ner" not in single
    curve = (results / "metrics/curves/BC5CDR.csv").read_text().splitlines()[0].split(",")
    assert {"tcls_macro_f1", "tcls_accuracy", "ner_f1"} <= set(curve)
    embedding = json.loads((results / "taskemb/BC5CDR/tcls.json").read_text())
    assert embedding["task"] == "tcls"
    assert (results / "figures/figure4.png").is_file() and (results / "figures/figure6.png").is_file()
    assert "tCLS" in (results / "report.md").read_text()
    table4 = [line.split("|")[2].strip() for line in (results / "tables/table4.md").read_text().splitlines()
              if line.startswith("| BC5CDR")]
    assert table4 == ["Ours", "w/o bCLS", "w/o mCLS", "w/o mtCLS", "w/o tCLS", "w/o Joint"]
