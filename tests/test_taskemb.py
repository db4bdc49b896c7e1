"""TaskEmb (SPEC section 5) against a hand-computed example and a direct computation on a tiny real
MultiTaskModel."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from mtbioner.model.encoders import load_encoder
from mtbioner.data.examples import Example
from mtbioner.model.multitask import MultiTaskModel
from mtbioner.report.embedding.taskemb import encoder_layers, task_embedding
from mtbioner.report.stats.similarity import cosine_similarity_matrix
from mtbioner.model.tokenization import collate, encode_examples

torch.set_num_threads(1)

NER_LABELS = ["O", "B-Gene", "I-Gene"]
SENTENCES = [
    (["BRCA1", "binds", "p53", "."], ["B-Gene", "O", "B-Gene", "O"]),
    (["No", "entity", "here", "at", "all", "."], ["O", "O", "O", "O", "O", "O"]),
    (["The", "TGF", "-", "beta1", "gene"], ["O", "B-Gene", "I-Gene", "I-Gene", "O"]),
    (["Cells", "grew", "."], ["O", "O", "O"]),
    (["APC2", "and", "APC", "were", "mutated", "in", "tumours", "."], ["B-Gene", "O", "B-Gene", "O", "O", "O", "O", "O"]),
]


def _examples() -> list[Example]:
    out = []
    for i, (tokens, tags) in enumerate(SENTENCES, start=1):
        out.append(Example(f"train:{i}", tuple(tokens), tuple(tags)))
    return out


@pytest.fixture(scope="module")
def setup():
    examples = _examples()
    encoder, tokenizer = load_encoder("tiny", vocab_from=[list(e.tokens) for e in examples], seed=3)
    features = encode_examples(examples, tokenizer, NER_LABELS, max_length=32)
    batches = [collate(features[i : i + 2], pad_token_id=tokenizer.pad_token_id) for i in range(0, len(features), 2)]
    return examples, encoder, batches


def _direct(model: MultiTaskModel, task: str, batches, n_examples: int) -> np.ndarray:
    """Independent computation: add a zero perturbation tensor at each hooked point (the input of
    attention.output.dense and the output of layer.output) and differentiate the loss w.r.t. it with
    torch.autograd.grad, batch by batch; d loss / d perturbation = d loss / d activation."""
    model.eval()
    layers = encoder_layers(model.encoder)
    attention_total = [0.0] * len(layers)
    output_total = [0.0] * len(layers)
    for batch in batches:
        batch_size, width = batch["input_ids"].shape
        hidden = model.encoder.config.hidden_size
        deltas_a = [torch.zeros(batch_size, width, hidden, requires_grad=True) for _ in layers]
        deltas_b = [torch.zeros(batch_size, width, hidden, requires_grad=True) for _ in layers]
        originals = []
        for layer, da, db in zip(layers, deltas_a, deltas_b):
            dense, block = layer.attention.output.dense, layer.output
            originals.append((dense, dense.forward, block, block.forward))
            dense.forward = (lambda f, d: lambda x: f(x + d))(dense.forward, da)
            block.forward = (lambda f, d: lambda *a, **k: f(*a, **k) + d)(block.forward, db)
        try:
            loss = model.compute_losses(batch)[task]
            grads = torch.autograd.grad(loss, deltas_a + deltas_b)
        finally:
            for dense, dense_forward, block, block_forward in originals:
                dense.forward, block.forward = dense_forward, block_forward
        mask = batch["attention_mask"].unsqueeze(-1).float()
        real_tokens = float(batch["attention_mask"].sum())  # this batch's, as run_taskemb_SL.py divides
        for i in range(len(layers)):
            attention_total[i] = attention_total[i] + ((grads[i] * mask).sum(dim=(0, 1)) ** 2).numpy() / real_tokens
            output_total[i] = (output_total[i]
                               + ((grads[len(layers) + i] * mask).sum(dim=(0, 1)) ** 2).numpy() / real_tokens)
    pieces = []
    for a, o in zip(attention_total, output_total):
        pieces += [a / n_examples, o / n_examples]
    vector = np.concatenate(pieces)
    return vector / np.linalg.norm(vector)


@pytest.mark.parametrize("task", ["ner", "mt", "bcls", "mcls"])
def test_taskemb_matches_direct_gradient_computation(setup, task):
    examples, encoder, batches = setup
    assert len({int(b["attention_mask"].sum()) for b in batches}) == len(batches)  # token counts all differ
    model = MultiTaskModel(encoder, [task], NER_LABELS, pooling="max", dropout=0.1)
    weights_before = {k: v.clone() for k, v in model.state_dict().items()}
    result = task_embedding(model, task, batches, n_examples=len(examples))
    expected = _direct(model, task, batches, len(examples))
    layers, hidden = len(encoder_layers(encoder)), encoder.config.hidden_size
    assert result.vector.shape == (2 * layers * hidden,)
    assert result.n_batches == len(batches)
    assert np.linalg.norm(result.vector) == pytest.approx(1.0)
    np.testing.assert_allclose(result.vector, expected, rtol=1e-4, atol=1e-7)
    # no weight update, no gradient left behind, dropout off during the pass
    for key, value in model.state_dict().items():
        assert torch.equal(value, weights_before[key])
    assert all(p.grad is None for p in model.parameters())


def test_taskemb_is_deterministic_and_eval_mode(setup):
    examples, encoder, batches = setup
    model = MultiTaskModel(encoder, ["ner"], NER_LABELS, dropout=0.5)
    model.train()
    a = task_embedding(model, "ner", batches, n_examples=len(examples))
    b = task_embedding(model, "ner", batches, n_examples=len(examples))
    np.testing.assert_array_equal(a.vector, b.vector)  # dropout 0.5 would make them differ if it were on
    assert model.training  # the caller's mode is restored


def test_fisher_extension_is_mean_squared_parameter_gradient(setup):
    examples, encoder, batches = setup
    model = MultiTaskModel(encoder, ["bcls"], NER_LABELS)
    result = task_embedding(model, "bcls", batches, n_examples=len(examples), fisher=True)
    model.eval()  # the direct computation must see the same (dropout-free) forward pass
    name, param = next(iter(model.encoder.named_parameters()))
    expected = 0.0
    for batch in batches:
        (grad,) = torch.autograd.grad(model.compute_losses(batch)["bcls"], [param])
        expected = expected + grad.pow(2).numpy()
    np.testing.assert_allclose(result.fisher[name], expected / len(examples), rtol=1e-5, atol=1e-12)


def test_missing_head_is_a_user_error(setup):
    from mtbioner.errors import MtbionerError

    examples, encoder, batches = setup
    model = MultiTaskModel(encoder, ["ner"], NER_LABELS)
    with pytest.raises(MtbionerError, match="no 'bcls' head"):
        task_embedding(model, "bcls", batches, n_examples=len(examples))


def test_cosine_similarity_matrix():
    vectors = np.array([[1.0, 0.0], [2.0, 0.0], [0.0, 3.0]])
    sim = cosine_similarity_matrix(vectors)
    np.testing.assert_allclose(sim, [[1, 1, 0], [1, 1, 0], [0, 0, 1]], atol=1e-12)


# ------------------------------------------------------------------------------ a hand-computed example
class _Identity(nn.Module):
    def forward(self, x):
        return x


class _HandLayer(nn.Module):
    """BERT's module layout (attention.output.dense, output) with identity maps, so that the loss below has
    known gradients with respect to the two hooked activations."""

    def __init__(self) -> None:
        super().__init__()
        self.attention = nn.Module()
        self.attention.output = nn.Module()
        self.attention.output.dense = _Identity()
        self.output = _Identity()


class _HandModel(nn.Module):
    """loss = Σ grad_a · (a) + Σ grad_b · (b) over every position, padding included: d loss / d (a) = grad_a
    and d loss / d (b) = grad_b, given with each batch; the padding entries (99) must never count."""

    def __init__(self, hidden: int) -> None:
        super().__init__()
        self.encoder = nn.Module()
        self.encoder.encoder = nn.Module()
        self.encoder.encoder.layer = nn.ModuleList([_HandLayer()])
        self.zero = nn.Parameter(torch.zeros(hidden))

    def compute_losses(self, batch):
        layer = self.encoder.encoder.layer[0]
        x = self.zero.expand(*batch["input_ids"].shape, -1)
        context = layer.attention.output.dense(x * 1.0)  # the hook sees its input: activation (a)
        output = layer.output(x * 1.0)  # activation (b)
        return {"ner": (batch["grad_a"] * context).sum() + (batch["grad_b"] * output).sum()}


PAD = [99.0, 99.0]


def _hand_batch(mask, grad_a, grad_b):
    return {"input_ids": torch.zeros(len(mask), len(mask[0]), dtype=torch.long),
            "attention_mask": torch.tensor(mask), "grad_a": torch.tensor(grad_a), "grad_b": torch.tensor(grad_b)}


def test_taskemb_divides_each_batch_by_its_own_real_token_count():
    # batch 1: two sentences, 5 real tokens; batch 2: one sentence, 2 real tokens; 3 examples; hidden size 2
    batches = [
        _hand_batch([[1, 1, 1], [1, 1, 0]],
                    [[[1, 0], [2, 1], [-1, 1]], [[3, -2], [1, 0], PAD]],
                    [[[1, 1], [1, 1], [0, 1]], [[0, 1], [1, -1], PAD]]),
        _hand_batch([[1, 1, 0, 0]],
                    [[[2, 1], [0, 3], PAD, PAD]],
                    [[[1, 0], [1, 2], PAD, PAD]]),
    ]
    # (a): batch 1 sums to (1+2-1+3+1, 0+1+1-2+0) = (6, 0) -> squared (36, 0) -> / 5 = (7.2, 0)
    #      batch 2 sums to (2, 4) -> (4, 16) -> / 2 = (2, 8);       over batches (9.2, 8) / 3 examples
    # (b): batch 1 sums to (3, 3) -> (9, 9) / 5 = (1.8, 1.8); batch 2: (2, 2) -> (4, 4) / 2 = (2, 2)
    #      over batches (3.8, 3.8) / 3 examples
    attention, output = np.array([9.2, 8.0]) / 3, np.array([3.8, 3.8]) / 3
    result = task_embedding(_HandModel(hidden=2), "ner", batches, n_examples=3)
    np.testing.assert_allclose(result.attention, [attention], rtol=1e-6)
    np.testing.assert_allclose(result.output, [output], rtol=1e-6)
    expected = np.array([9.2, 8.0, 3.8, 3.8]) / np.sqrt(9.2**2 + 8.0**2 + 3.8**2 + 3.8**2)
    np.testing.assert_allclose(result.vector, expected, rtol=1e-6)
    assert result.n_batches == 2 and result.n_examples == 3
    # without the per-batch division the pieces would be (36+4, 0+16) and (9+4, 9+4): another direction
    undivided = np.array([40.0, 16.0, 13.0, 13.0]) / np.linalg.norm([40.0, 16.0, 13.0, 13.0])
    assert not np.allclose(result.vector, undivided, rtol=1e-2)
