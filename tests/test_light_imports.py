"""A training job's start-up stays light, and the scorer and the one entity chunker written out for that match
seqeval and scikit-learn.

`mtbioner train` pays its imports once per job (benchmarks/startup.py splits a job's wall time); scikit-learn
and pandas (what seqeval pulls in) are the ones a job does not need. The trainer's scorer therefore computes
seqeval's default-mode P/R/F1 and scikit-learn's accuracy / macro-F1 itself; here both libraries check it,
bit for bit, on the real corpus's tags and on corrupted predictions of them.
"""

from __future__ import annotations

import importlib.util
import json
import random
import subprocess
import sys
import warnings
from pathlib import Path

import pytest
from seqeval.metrics import f1_score, precision_score, recall_score
from seqeval.metrics.sequence_labeling import get_entities as seqeval_get_entities
from sklearn.metrics import accuracy_score
from sklearn.metrics import f1_score as sklearn_f1

from mtbioner.data.iob import read_iob
from mtbioner.tasks.labels import entity_spans, get_entities
from mtbioner.tasks import get as get_task
from mtbioner.tasks.scoring import classification_metrics, sequence_metrics

from conftest import CORPUS_MIRROR

#: What the train job's process must not import at start-up (sys.modules, not time: robust on a busy machine).
NOT_AT_STARTUP = ("sklearn", "pandas", "seqeval", "matplotlib")
#: transformers 5.17 (the GPU image's) imports scikit-learn, and through it pandas, whenever its generation
#: utilities load and scikit-learn is installed (module level: `if is_sklearn_available(): from sklearn.metrics
#: import roc_curve`); 5.25 imports it only where it is used. Found by `make test-pythons` (Python 3.12 at the
#: image's versions), 2026-12-08: there a training job's start-up pays those imports, whatever mtbioner does.
EAGER_SKLEARN = "\nif is_sklearn_available():\n    from sklearn" in Path(
    importlib.util.find_spec("transformers.generation.candidate_generator").origin).read_text(encoding="utf-8")


@pytest.mark.xfail(EAGER_SKLEARN, strict=True,
                   reason="this transformers imports scikit-learn and pandas with its generation utilities")
def test_train_command_path_imports_no_scoring_or_report_libraries():
    # exactly what `mtbioner train` imports before it trains: the CLI app with every verb, and the train verb's
    # own imports (cli/train.py imports them inside the verb)
    code = ("import sys, json; import mtbioner.cli; from mtbioner.run.config import RunConfig; "
            "from mtbioner.training.trainer import train_run; "
            f"print(json.dumps(sorted(m for m in {NOT_AT_STARTUP!r} if m in sys.modules)))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert json.loads(result.stdout.strip().splitlines()[-1]) == []


def _corrupt(tags: list[str], types: list[str], rng: random.Random) -> list[str]:
    """A plausible wrong prediction: tags flipped between B/I/O, types swapped, stray I- tags."""
    out = []
    for tag in tags:
        roll = rng.random()
        if roll < 0.08:
            out.append("O")
        elif roll < 0.14:
            out.append(f"I-{rng.choice(types)}")
        elif roll < 0.18:
            out.append(f"B-{rng.choice(types)}")
        else:
            out.append(tag)
    return out


def _corpus_tags(dataset: str, limit: int) -> list[list[str]]:
    path = CORPUS_MIRROR / f"{dataset}-IOB" / "test.tsv"
    if not path.is_file():
        pytest.fail(f"corpus mirror not available at {path}; set MTBIONER_MIRROR")
    return [list(sentence.tags) for sentence in read_iob(path)][:limit]


def _seqeval(gold: list[list[str]], pred: list[list[str]]) -> dict[str, float]:
    return {"precision": float(precision_score(gold, pred, zero_division=0)),
            "recall": float(recall_score(gold, pred, zero_division=0)),
            "f1": float(f1_score(gold, pred, zero_division=0))}


@pytest.mark.parametrize("dataset", ["NCBI-disease", "BC5CDR-chem", "BC2GM"])
def test_sequence_metrics_equal_seqeval_bit_for_bit_on_real_tags(dataset):
    gold = _corpus_tags(dataset, 600)
    mt_gold = [list(get_task("mt").gold(tags)) for tags in gold]
    rng = random.Random(13)
    for trial in range(6):
        pred = [_corrupt(tags, ["Disease", "Chemical", "GENE"], rng) for tags in gold]
        mt_pred = [_corrupt(tags, ["Single", "Multi"], rng) for tags in mt_gold]
        assert sequence_metrics(gold, pred) == _seqeval(gold, pred)  # ==, not approx
        assert sequence_metrics(mt_gold, mt_pred) == _seqeval(mt_gold, mt_pred)
    assert sequence_metrics(gold, [["O"] * len(tags) for tags in gold]) == _seqeval(
        gold, [["O"] * len(tags) for tags in gold])


@pytest.mark.parametrize("dataset", ["NCBI-disease", "BC5CDR-chem", "BC2GM"])
def test_the_one_chunker_finds_seqevals_entities_on_real_and_malformed_tags(dataset):
    # the corpus's own tags, and predictions of them with I- without B-, type switches inside an entity and
    # B- after B-: every sentence's entities as seqeval reads them (span view included), joined ones too
    gold = _corpus_tags(dataset, 2000)
    rng = random.Random(29)
    pred = [_corrupt(tags, ["Disease", "Chemical", "GENE"], rng) for tags in gold]
    assert sum(tag.startswith("I-") and (i == 0 or tags[i - 1] == "O") for tags in pred
               for i, tag in enumerate(tags)) > 100  # plenty of I- without B-
    for tags in gold + pred:
        assert get_entities(tags) == seqeval_get_entities(tags)
        assert [(span.type, span.start, span.end - 1) for span in entity_spans(tags)] == get_entities(tags)
    assert get_entities(pred) == seqeval_get_entities(pred)


def test_get_entities_follows_seqeval_on_every_prefix_scheme():
    # IOB2 as the corpus writes it, plus the IOBES prefixes, untyped tags and dots seqeval's rules also cover
    rng = random.Random(7)
    vocabulary = ["O", "B-A", "I-A", "B-B", "I-B", "E-A", "S-B", "B", "I", "E", "S", ".", "I-", "B-A-x"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # seqeval warns about "." and bare tags; the entities are compared
        for _ in range(3000):
            tags = [rng.choice(vocabulary) for _ in range(rng.randint(0, 12))]
            assert get_entities(tags) == seqeval_get_entities(tags)
        sentences = [[rng.choice(vocabulary[:5]) for _ in range(rng.randint(1, 6))] for _ in range(50)]
        assert get_entities(sentences) == seqeval_get_entities(sentences)


def test_classification_metrics_equal_scikit_learn_bit_for_bit():
    rng = random.Random(3)
    for classes in (2, 4):
        for n in (1, 5, 48, 940, 5038):
            gold = [rng.randrange(classes) for _ in range(n)]
            pred = [g if rng.random() < 0.7 else rng.randrange(classes) for g in gold]
            expected = {"accuracy": float(accuracy_score(gold, pred)),
                        "macro_f1": float(sklearn_f1(gold, pred, average="macro", zero_division=0))}
            assert classification_metrics(gold, pred) == expected
    # one class only in gold and prediction, and a class only predicted
    assert classification_metrics([0, 0, 0], [0, 0, 0]) == {"accuracy": 1.0, "macro_f1": 1.0}
    assert classification_metrics([0, 0, 1], [0, 3, 1]) == {
        "accuracy": float(accuracy_score([0, 0, 1], [0, 3, 1])),
        "macro_f1": float(sklearn_f1([0, 0, 1], [0, 3, 1], average="macro", zero_division=0))}
