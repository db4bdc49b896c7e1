"""The multi-task model: an HF encoder, dropout, and one linear head per enabled task (SPEC section 3).

NER and mtCLS classify every token; bCLS and mCLS classify a pooled sentence vector (`cls`: the first token's
hidden state; `mean` / `max`: over the real tokens only, padding masked out). Only the enabled tasks get a
head, so a single-task run is exactly "encoder + one linear layer".

On disk (`save_pretrained`) a model directory is a plain HF encoder directory (config.json + weights, loadable
with `AutoModel.from_pretrained`), the tokenizer, `heads.safetensors` and `mtbioner.json` (tasks, label maps,
pooling, max length).
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path

import torch
import torch.nn.functional as F
from safetensors.torch import load_file, save_file
from torch import nn
from transformers import AutoModel, PreTrainedModel, PreTrainedTokenizerBase
from transformers.utils import logging as hf_logging

from mtbioner.atomicio import atomic_directory
from mtbioner.errors import MtbionerError
from mtbioner.params import param_default
from mtbioner.tasks import BCLS_CLASSES, MCLS_CLASSES, MT_LABELS, TASKS, TOKEN_TASKS
from mtbioner.model.encoders import LOAD_DTYPE
from mtbioner.model.tokenization import IGNORE_INDEX

MODEL_FORMAT_VERSION = 1
MTBIONER_FILE = "mtbioner.json"
HEADS_FILE = "heads.safetensors"
POOLINGS = ("cls", "mean", "max")


def masked_mean_pool(hidden: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
    """Mean over the positions where `attention_mask` is 1; padding contributes nothing."""
    mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
    return (hidden * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1.0)


def masked_max_pool(hidden: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
    """Element-wise max over the real positions; padded positions are set to the lowest value first."""
    lowest = torch.finfo(hidden.dtype).min
    return hidden.masked_fill(attention_mask.unsqueeze(-1) == 0, lowest).max(dim=1).values


def pool(hidden: torch.Tensor, attention_mask: torch.Tensor, mode: str) -> torch.Tensor:
    if mode == "cls":
        return hidden[:, 0]
    if mode == "mean":
        return masked_mean_pool(hidden, attention_mask)
    if mode == "max":
        return masked_max_pool(hidden, attention_mask)
    raise ValueError(f"unknown pooling {mode!r}; expected one of {POOLINGS}")


def num_classes(task: str, ner_labels: Sequence[str]) -> int:
    return {"ner": len(ner_labels), "mt": len(MT_LABELS), "bcls": len(BCLS_CLASSES),
            "mcls": len(MCLS_CLASSES)}[task]


@contextlib.contextmanager
def _quiet_progress() -> Iterator[None]:
    """transformers 5 shows a "Writing model shards" bar per save; in a training log that is noise."""
    enabled = hf_logging.is_progress_bar_enabled()
    hf_logging.disable_progress_bar()
    try:
        yield
    finally:
        if enabled:
            hf_logging.enable_progress_bar()


class MultiTaskModel(nn.Module):
    def __init__(self, encoder: PreTrainedModel, tasks: Sequence[str], ner_labels: Sequence[str],
                 pooling: str = "max", dropout: float | None = None, max_length: int | None = None) -> None:
        """`dropout` and `max_length` None: the schema defaults (model.dropout, model.max_length)."""
        super().__init__()
        dropout = param_default("model", "dropout") if dropout is None else dropout
        max_length = param_default("model", "max_length") if max_length is None else max_length
        unknown = [task for task in tasks if task not in TASKS]
        if unknown or not tasks:
            raise ValueError(f"tasks must be a non-empty subset of {TASKS}, got {list(tasks)}")
        if pooling not in POOLINGS:
            raise ValueError(f"unknown pooling {pooling!r}; expected one of {POOLINGS}")
        self.encoder = encoder
        # canonical order, so heads (and their random init) do not depend on how the config lists tasks
        self.tasks: tuple[str, ...] = tuple(task for task in TASKS if task in tasks)
        self.ner_labels: tuple[str, ...] = tuple(ner_labels)
        self.pooling = pooling
        self.dropout_rate = dropout
        self.max_length = max_length
        self.dropout = nn.Dropout(dropout)
        hidden_size = encoder.config.hidden_size
        self.heads = nn.ModuleDict({task: nn.Linear(hidden_size, num_classes(task, self.ner_labels))
                                    for task in self.tasks})

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor,
                tasks: Sequence[str] | None = None, **_labels: torch.Tensor) -> dict[str, torch.Tensor]:
        """Logits per task: `[batch, seq, classes]` for token tasks, `[batch, classes]` for sentence tasks.

        `tasks` restricts the heads computed (the alternating strategy needs one per step); extra keyword
        arguments (the label tensors of a collated batch) are ignored so `model(**batch)` works.
        """
        wanted = self.tasks if tasks is None else tasks
        hidden = self.encoder(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
        hidden = self.dropout(hidden)
        logits: dict[str, torch.Tensor] = {}
        pooled = None
        for task in wanted:
            if task in TOKEN_TASKS:
                logits[task] = self.heads[task](hidden)
            else:
                if pooled is None:
                    pooled = pool(hidden, attention_mask, self.pooling)
                logits[task] = self.heads[task](pooled)
        return logits

    def compute_losses(self, batch: Mapping[str, torch.Tensor],
                       tasks: Sequence[str] | None = None) -> dict[str, torch.Tensor]:
        """Per-task mean cross-entropy against the batch's gold labels (`<task>_labels`, IGNORE_INDEX ignored)."""
        logits = self.forward(batch["input_ids"], batch["attention_mask"], tasks=tasks)
        losses: dict[str, torch.Tensor] = {}
        for task, task_logits in logits.items():
            labels = batch[f"{task}_labels"]
            flat_logits = task_logits.float().reshape(-1, task_logits.shape[-1])
            flat_labels = labels.reshape(-1)
            if (flat_labels != IGNORE_INDEX).any():
                losses[task] = F.cross_entropy(flat_logits, flat_labels, ignore_index=IGNORE_INDEX)
            else:  # nothing to learn in this batch for this task: a zero that keeps the graph intact
                losses[task] = flat_logits.sum() * 0.0
        return losses

    # ----------------------------------------------------------------------------------------- persistence
    def metadata(self) -> dict:
        return {"format_version": MODEL_FORMAT_VERSION, "tasks": list(self.tasks),
                "ner_labels": list(self.ner_labels), "mt_labels": list(MT_LABELS),
                "bcls_classes": list(BCLS_CLASSES), "mcls_classes": list(MCLS_CLASSES),
                "pooling": self.pooling, "dropout": self.dropout_rate, "max_length": self.max_length}

    def save_pretrained(self, directory: str | Path, tokenizer: PreTrainedTokenizerBase | None = None) -> None:
        """Write the model (and `tokenizer`) to `directory`, replacing it atomically as a whole."""
        with atomic_directory(directory) as staging:
            with _quiet_progress():
                self.encoder.save_pretrained(staging)
            if tokenizer is not None:
                tokenizer.save_pretrained(staging)
            heads = {name: tensor.detach().cpu().contiguous() for name, tensor in self.heads.state_dict().items()}
            save_file(heads, staging / HEADS_FILE)
            (staging / MTBIONER_FILE).write_text(json.dumps(self.metadata(), indent=2) + "\n", encoding="utf-8")

    @classmethod
    def from_pretrained(cls, directory: str | Path) -> "MultiTaskModel":
        path = Path(directory)
        try:
            meta = json.loads((path / MTBIONER_FILE).read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as error:
            raise MtbionerError(f"{path}: not an mtbioner model directory ({error})") from None
        if meta.get("format_version") != MODEL_FORMAT_VERSION:
            raise MtbionerError(f"{path / MTBIONER_FILE}: format_version {meta.get('format_version')!r}, "
                                f"expected {MODEL_FORMAT_VERSION}")
        encoder = AutoModel.from_pretrained(path, dtype=LOAD_DTYPE)  # fp32 whatever was saved
        model = cls(encoder, meta["tasks"], meta["ner_labels"], pooling=meta["pooling"],
                    dropout=meta["dropout"], max_length=meta["max_length"])
        model.heads.load_state_dict(load_file(path / HEADS_FILE))
        return model

