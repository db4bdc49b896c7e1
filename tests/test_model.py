"""MultiTaskModel: pooling ignores padding, heads follow the task switches, losses, save/load round trip."""

from __future__ import annotations

import json

import pytest
import torch
from transformers import AutoModel

from mtbioner.model.encoders import build_tiny_encoder, build_wordpiece_tokenizer, load_encoder
from mtbioner.model.multitask import MultiTaskModel, masked_max_pool, masked_mean_pool, pool
from mtbioner.model.tokenization import collate, encode_sentences

NER_LABELS = ["O", "B-Chemical", "I-Chemical"]
SENTENCES = [["aspirin"], ["the", "dose", "of", "aspirin", "was", "reduced", "after", "two", "weeks"]]


@pytest.fixture(scope="module")
def tokenizer():
    return build_wordpiece_tokenizer(SENTENCES * 3)


def make_model(tokenizer, tasks=("ner", "mt", "bcls", "mcls"), pooling="max", seed=0) -> MultiTaskModel:
    torch.manual_seed(seed)
    return MultiTaskModel(build_tiny_encoder(tokenizer, seed), tasks, NER_LABELS, pooling=pooling).eval()


def test_masked_pools_ignore_padded_positions_even_with_extreme_values():
    hidden = torch.randn(1, 4, 8)
    mask = torch.tensor([[1, 1, 0, 0]])
    poisoned = hidden.clone()
    poisoned[:, 2:] = 1e6  # whatever the padding holds...
    for pooled in (masked_max_pool, masked_mean_pool):
        assert torch.equal(pooled(hidden, mask), pooled(poisoned, mask))  # ...it cannot reach the vector
    assert torch.allclose(masked_mean_pool(hidden, mask), hidden[:, :2].mean(dim=1))
    assert torch.equal(masked_max_pool(hidden, mask), hidden[:, :2].max(dim=1).values)
    assert torch.equal(pool(hidden, mask, "cls"), hidden[:, 0])


@pytest.mark.parametrize("pooling", ["cls", "mean", "max"])
def test_padding_cannot_change_the_pooled_sentence_vector(tokenizer, pooling):
    """The short sentence alone vs the same sentence padded inside a batch with a long one."""
    model = make_model(tokenizer, pooling=pooling)
    features = encode_sentences(SENTENCES, tokenizer, max_length=64)
    alone = collate(features[:1], tokenizer.pad_token_id)
    padded = collate(features, tokenizer.pad_token_id)
    assert padded["input_ids"].shape[1] > alone["input_ids"].shape[1]
    with torch.no_grad():
        hidden_alone = model.encoder(input_ids=alone["input_ids"], attention_mask=alone["attention_mask"]).last_hidden_state
        hidden_padded = model.encoder(input_ids=padded["input_ids"],
                                      attention_mask=padded["attention_mask"]).last_hidden_state
        pooled_alone = pool(hidden_alone, alone["attention_mask"], pooling)[0]
        pooled_padded = pool(hidden_padded, padded["attention_mask"], pooling)[0]
        logits_alone = model(**alone)["bcls"][0]
        logits_padded = model(**padded)["bcls"][0]
    assert torch.allclose(pooled_alone, pooled_padded, atol=1e-5)
    assert torch.allclose(logits_alone, logits_padded, atol=1e-5)
    # and the pooled vector really differs from an unmasked pool over the padded batch (the test has teeth)
    if pooling != "cls":
        unmasked = pool(hidden_padded, torch.ones_like(padded["attention_mask"]), pooling)[0]
        assert not torch.allclose(unmasked, pooled_alone, atol=1e-3)


def test_only_enabled_tasks_get_heads_logits_and_losses(tokenizer):
    model = make_model(tokenizer, tasks=("bcls", "ner"))
    assert model.tasks == ("ner", "bcls")  # canonical order whatever the config's order
    assert set(model.heads) == {"ner", "bcls"}
    batch = collate(encode_sentences(SENTENCES, tokenizer, max_length=64), tokenizer.pad_token_id)
    batch["ner_labels"] = torch.full_like(batch["input_ids"], -100)
    batch["ner_labels"][:, 1] = 0
    batch["bcls_labels"] = torch.tensor([0, 1])
    logits = model(**batch)
    assert set(logits) == {"ner", "bcls"}
    assert logits["ner"].shape == (*batch["input_ids"].shape, len(NER_LABELS))
    assert logits["bcls"].shape == (2, 2)
    losses = model.compute_losses(batch)
    assert set(losses) == {"ner", "bcls"}
    assert all(torch.isfinite(loss) and loss > 0 for loss in losses.values())
    assert set(model.compute_losses(batch, tasks=["bcls"])) == {"bcls"}


def test_losses_are_cross_entropy_over_labelled_positions_only(tokenizer):
    model = make_model(tokenizer, tasks=("ner",))
    batch = collate(encode_sentences(SENTENCES, tokenizer, max_length=64), tokenizer.pad_token_id)
    batch["ner_labels"] = torch.full_like(batch["input_ids"], -100)  # unlabelled input: no label tensors
    batch["ner_labels"][1, 2] = 1
    batch["ner_labels"][1, 4] = 0
    logits = model(**batch)["ner"]
    expected = torch.nn.functional.cross_entropy(logits[1, [2, 4]], torch.tensor([1, 0]))
    assert torch.allclose(model.compute_losses(batch)["ner"], expected)
    batch["ner_labels"][:] = -100  # no label at all: a zero loss, not NaN
    assert model.compute_losses(batch)["ner"].item() == 0.0


def test_save_and_load_round_trip(tokenizer, tmp_path):
    model = make_model(tokenizer, pooling="mean")
    model.save_pretrained(tmp_path / "model", tokenizer)
    meta = json.loads((tmp_path / "model" / "mtbioner.json").read_text())
    assert meta["tasks"] == ["ner", "mt", "bcls", "mcls"] and meta["ner_labels"] == NER_LABELS
    assert meta["pooling"] == "mean" and meta["classes"]["mt"] == ["O", "B-Single", "B-Multi", "I-Multi"]
    loaded = MultiTaskModel.from_pretrained(tmp_path / "model").eval()
    batch = collate(encode_sentences(SENTENCES, tokenizer, max_length=64), tokenizer.pad_token_id)
    with torch.no_grad():
        before, after = model(**batch), loaded(**batch)
    for task in model.tasks:
        assert torch.equal(before[task], after[task])
    # the encoder directory is a plain HF model: any transformers user can load it
    encoder = AutoModel.from_pretrained(tmp_path / "model")
    assert encoder.config.hidden_size == model.encoder.config.hidden_size


def test_tiny_encoder_is_fixed_by_its_seed():
    first, _ = load_encoder("tiny", vocab_from=SENTENCES, seed=3)
    second, _ = load_encoder("tiny", vocab_from=SENTENCES, seed=3)
    other, _ = load_encoder("tiny", vocab_from=SENTENCES, seed=4)
    weights = [encoder.embeddings.word_embeddings.weight for encoder in (first, second, other)]
    assert torch.equal(weights[0], weights[1]) and not torch.equal(weights[0], weights[2])


def test_unknown_encoder_is_a_one_line_user_error():
    from mtbioner.errors import MtbionerError

    with pytest.raises(MtbionerError, match="cannot load encoder"):
        load_encoder("/nonexistent/encoder-dir")


def test_an_fp16_checkpoint_loads_as_fp32_weights(tokenizer, tmp_path):
    """transformers 5 loads with dtype="auto": without an explicit dtype an fp16 file (the GPU bundle's MiniLM)
    would give fp16 weights and fp16 AdamW state. Both ways in load fp32: an encoder by path, a trained model."""
    half = build_tiny_encoder(tokenizer, 0).half()
    half.save_pretrained(tmp_path / "encoder")
    tokenizer.save_pretrained(tmp_path / "encoder")
    assert AutoModel.from_pretrained(tmp_path / "encoder").embeddings.word_embeddings.weight.dtype == torch.float16
    encoder, _ = load_encoder(str(tmp_path / "encoder"))
    assert {p.dtype for p in encoder.parameters()} == {torch.float32}
    # the values are the fp16 ones, widened
    assert torch.equal(encoder.embeddings.word_embeddings.weight, half.embeddings.word_embeddings.weight.float())

    model = make_model(tokenizer)
    model.encoder.half()
    model.save_pretrained(tmp_path / "model", tokenizer)
    loaded = MultiTaskModel.from_pretrained(tmp_path / "model")
    assert {p.dtype for p in loaded.parameters()} == {torch.float32}
