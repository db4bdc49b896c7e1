"""TaskEmb task embeddings (Vu et al. 2020) exactly as SPEC section 5 defines them.

For one task's fine-tuned model: one pass over the task's training data (batches of 32, no weight update),
loss = the task's own mean cross-entropy on the gold labels. Per batch and per encoder layer the gradient of
that loss is taken with respect to
  (a) the self-attention context before its output projection (the input of `attention.output.dense`), and
  (b) the layer output after its final LayerNorm (the output of the layer's `output` block);
each gradient is summed over the batch's real (attention-masked) tokens, squared, and divided by that
batch's number of real tokens, giving one hidden-size vector per batch — as Vu et al.'s run_taskemb_SL.py
does (`score.sum(0).sum(0) ** 2 / total_tokens`, total_tokens = the batch's attention-mask sum, special
tokens included). Those vectors are summed over batches and divided by the number of examples; the embedding
concatenates, layer by layer, (a) then (b) — 2 × layers × hidden values — and is L2-normalised.

Dropout is off: the pass runs in eval mode (and restores the caller's mode afterwards). This follows the
AdapterHub port of TaskEmb, which turns dropout off; the reference run_taskemb_SL.py calls `model.train()`
before every batch, so its gradients carry dropout noise. Eval mode makes the embedding deterministic.

SPEC's definition is the one implemented; issue 5's looser wording (diagonal Fisher of the encoder parameters
with the model's *predicted* labels) survives only as the optional extension (`fisher=True`, gold labels:
squared parameter gradients summed over batches and divided by the number of examples; as in the reference
script, parameter gradients are not divided by a batch's token count), so the two can be compared.

Gradients are taken with `torch.autograd.grad` on activations captured by hooks, so nothing accumulates in
the parameters' `.grad` and the weights are never touched. Works for every encoder with BERT's module layout
(`encoder.layer[i].attention.output.dense`, `encoder.layer[i].output`): BERT, BioBERT, MiniLM, RoBERTa.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np
import torch
from torch import nn

from mtbioner.errors import MtbionerError
from mtbioner.report.defaults import TASKEMB_BATCH_SIZE

if TYPE_CHECKING:
    from mtbioner.run.directory import FinishedRun


class LossModel(Protocol):
    encoder: nn.Module

    def compute_losses(self, batch: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]: ...


@dataclass
class TaskEmbedding:
    """The embedding and the raw (unnormalised) per-layer pieces it was built from."""

    vector: np.ndarray  # (2 * layers * hidden,), L2-normalised
    attention: np.ndarray  # (layers, hidden): (a), per-batch scores summed over batches / n_examples
    output: np.ndarray  # (layers, hidden): (b), likewise
    n_examples: int
    n_batches: int
    fisher: dict[str, np.ndarray] | None = field(default=None, repr=False)  # optional extension

    @property
    def layers(self) -> int:
        return int(self.attention.shape[0])

    @property
    def hidden_size(self) -> int:
        return int(self.attention.shape[1])


def encoder_layers(encoder: nn.Module) -> Sequence[nn.Module]:
    """The transformer layers of a BERT-style encoder, checked to have the two modules TaskEmb hooks."""
    layers = getattr(getattr(encoder, "encoder", None), "layer", None)
    if layers is None or len(layers) == 0:
        raise MtbionerError(f"TaskEmb needs a BERT-style encoder (encoder.layer[...]); got {type(encoder).__name__}")
    for layer in layers:
        if not (hasattr(layer, "attention") and hasattr(layer.attention, "output")
                and hasattr(layer.attention.output, "dense") and hasattr(layer, "output")):
            raise MtbionerError(f"TaskEmb: {type(layer).__name__} lacks attention.output.dense / output")
    return layers


class _ActivationCapture:
    """Hooks that keep, per layer, the attention context (input of attention.output.dense) and the layer
    output (output of layer.output) of the current forward pass."""

    def __init__(self, layers: Sequence[nn.Module]) -> None:
        self.attention: list[torch.Tensor | None] = [None] * len(layers)
        self.output: list[torch.Tensor | None] = [None] * len(layers)
        self._handles = []
        for index, layer in enumerate(layers):
            self._handles.append(layer.attention.output.dense.register_forward_pre_hook(self._keep_input(index)))
            self._handles.append(layer.output.register_forward_hook(self._keep_output(index)))

    def _keep_input(self, index: int):
        def hook(_module: nn.Module, args: tuple[Any, ...]) -> None:
            self.attention[index] = args[0]
        return hook

    def _keep_output(self, index: int):
        def hook(_module: nn.Module, _args: tuple[Any, ...], output: Any) -> None:
            self.output[index] = output[0] if isinstance(output, tuple) else output
        return hook

    def tensors(self) -> list[torch.Tensor]:
        missing = [i for i, t in enumerate(self.attention + self.output) if t is None]
        if missing:
            raise MtbionerError("TaskEmb: a hooked activation was not computed (unexpected encoder layout)")
        return [t for t in self.attention + self.output if t is not None]

    def reset(self) -> None:
        self.attention = [None] * len(self.attention)
        self.output = [None] * len(self.output)

    def remove(self) -> None:
        for handle in self._handles:
            handle.remove()


def _batch_score(gradient: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """One batch's piece of the embedding: a (batch, seq, hidden) gradient summed over the batch's real tokens,
    squared, and divided by the batch's number of real tokens (mask: (batch, seq, 1) of 0/1): a (hidden,)
    vector."""
    return (gradient.float() * mask).sum(dim=(0, 1)).pow(2) / mask.sum()


def task_embedding(model: LossModel, task: str, batches: Iterable[Mapping[str, torch.Tensor]], n_examples: int,
                   device: torch.device | str = "cpu", fisher: bool = False) -> TaskEmbedding:
    """TaskEmb of `task` for `model` over `batches` (collated dicts with input_ids, attention_mask, labels).

    `n_examples` is the number of training examples the batches cover (the divisor of SPEC's average).
    `fisher=True` also returns the optional diagonal Fisher of every encoder parameter (squared parameter
    gradients, same averaging), keyed by parameter name.
    """
    if n_examples < 1:
        raise MtbionerError("TaskEmb needs at least one training example")
    device = torch.device(device)
    was_training = model.training if isinstance(model, nn.Module) else False
    if isinstance(model, nn.Module):
        model.to(device)
        model.eval()  # dropout off (SPEC); weights are never stepped
    layers = encoder_layers(model.encoder)
    capture = _ActivationCapture(layers)
    named_params = [(n, p) for n, p in model.encoder.named_parameters() if p.requires_grad] if fisher else []
    attention_sum: torch.Tensor | None = None
    output_sum: torch.Tensor | None = None
    fisher_sum = [torch.zeros_like(p, dtype=torch.float32) for _, p in named_params]
    n_batches = 0
    try:
        for batch in batches:
            batch = {k: v.to(device) if isinstance(v, torch.Tensor) else v for k, v in batch.items()}
            capture.reset()
            losses = model.compute_losses(batch)
            if task not in losses:
                raise MtbionerError(f"TaskEmb: the model has no {task!r} head (heads: {sorted(losses)})")
            activations = capture.tensors()
            targets = activations + [p for _, p in named_params]
            gradients = torch.autograd.grad(losses[task], targets, allow_unused=True)
            mask = batch["attention_mask"].unsqueeze(-1).float()
            count = len(layers)
            pieces = [
                _batch_score(g if g is not None else torch.zeros_like(a), mask)
                for g, a in zip(gradients[: 2 * count], activations)
            ]
            attention = torch.stack(pieces[:count])
            output = torch.stack(pieces[count:])
            attention_sum = attention if attention_sum is None else attention_sum + attention
            output_sum = output if output_sum is None else output_sum + output
            for total, gradient in zip(fisher_sum, gradients[2 * count:]):
                if gradient is not None:
                    total += gradient.float().pow(2)
            n_batches += 1
    finally:
        capture.remove()
        if isinstance(model, nn.Module) and was_training:
            model.train()
    if attention_sum is None or output_sum is None:
        raise MtbionerError("TaskEmb: no batches (empty training data)")
    attention_mean = (attention_sum / n_examples).cpu().double().numpy()
    output_mean = (output_sum / n_examples).cpu().double().numpy()
    vector = np.concatenate([np.concatenate([a, o]) for a, o in zip(attention_mean, output_mean)])
    norm = float(np.linalg.norm(vector))
    if norm > 0:
        vector = vector / norm
    fisher_out = ({name: (total / n_examples).cpu().numpy() for (name, _), total in zip(named_params, fisher_sum)}
                  if fisher else None)
    return TaskEmbedding(vector, attention_mean, output_mean, n_examples, n_batches, fisher_out)


def embed_run(model_dir: str, train_file: str, labels_file: str, task: str, max_length: int,
              batch_size: int = TASKEMB_BATCH_SIZE, max_examples: int | None = None,
              device: str | None = None, fisher: bool = False) -> tuple[TaskEmbedding, dict[str, Any]]:
    """TaskEmb of a trained single-task model over its training file; returns the embedding and metadata."""
    from mtbioner.data.examples import read_examples, read_label_file
    from mtbioner.model.inference import load_trained
    from mtbioner.model.tokenization import collate, encode_examples

    started = time.perf_counter()
    model, tokenizer = load_trained(model_dir)
    examples = read_examples(train_file)
    if max_examples is not None:
        examples = examples[:max_examples]
    ner_labels = read_label_file(labels_file)
    features = encode_examples(examples, tokenizer, ner_labels, max_length)
    pad = tokenizer.pad_token_id or 0
    # In corpus order, no shuffling: the sum over batches does not depend on the order, and the same
    # sentences share a batch in every run, so the embedding is deterministic.
    batches = (collate(features[i : i + batch_size], pad_token_id=pad) for i in range(0, len(features), batch_size))
    chosen = torch.device(device) if device else torch.device("cuda" if torch.cuda.is_available() else "cpu")
    embedding = task_embedding(model, task, batches, n_examples=len(examples), device=chosen, fisher=fisher)
    meta = {
        "task": task, "model_dir": str(model_dir), "train_file": str(train_file),
        "n_examples": embedding.n_examples, "n_windows": len(features), "n_batches": embedding.n_batches,
        "batch_size": batch_size, "layers": embedding.layers, "hidden_size": embedding.hidden_size,
        "dimensions": int(embedding.vector.shape[0]), "layout": "per layer: attention context (a), then layer output (b)",
        "device": str(chosen), "seconds": round(time.perf_counter() - started, 2),
    }
    return embedding, meta


def write_taskemb(record: FinishedRun, out_prefix: str | Path, *, task: str | None, batch_size: int,
                  max_examples: int | None, device: str | None, fisher_out: str | Path | None) -> dict[str, Any]:
    """TaskEmb of a finished single-task run over the training file its config.json names, written as
    `<prefix>.npy` (float32 vector) and `<prefix>.json` (metadata, returned); with `fisher_out` also the
    diagonal Fisher as safetensors. `task` None: the run's main task; `max_examples` None: the
    whole training file; `device` None: CUDA if available."""
    from mtbioner.atomicio import atomic_write, write_json

    config = record.config
    embedding, meta = embed_run(str(record.files.model), config.train_file, config.labels_file,
                                task or config.main_task, config.model.max_length, batch_size=batch_size,
                                max_examples=max_examples, device=device, fisher=fisher_out is not None)
    meta.update({"dataset": record.dataset, "experiment": record.experiment, "seed": record.seed,
                 "run_dir": str(record.run_dir)})
    with atomic_write(Path(f"{out_prefix}.npy"), "wb") as handle:
        np.save(handle, embedding.vector.astype(np.float32))
    write_json(Path(f"{out_prefix}.json"), meta)
    if fisher_out is not None and embedding.fisher is not None:
        from safetensors.torch import save_file

        fisher_out = Path(fisher_out)
        fisher_out.parent.mkdir(parents=True, exist_ok=True)
        tmp = fisher_out.with_name(f".tmp-{fisher_out.name}")
        save_file({k: torch.from_numpy(v) for k, v in embedding.fisher.items()}, str(tmp))
        tmp.replace(fisher_out)
    return meta
