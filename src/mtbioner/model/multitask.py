"""The multi-task model: an HF encoder, dropout, and one linear head per enabled task (SPEC section 3).

A word-level task's head classifies every token; a sentence-level task's head classifies a pooled sentence
vector (`cls`: the first token's hidden state; `mean` / `max`: over the real tokens only, padding masked out).
A head is one linear layer with a logit per class of its task (`Task.classes`); the loss is the task's own
(`Task.loss`). Only the enabled tasks get a head, so a single-task run is exactly "encoder + one linear layer".

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
from safetensors.torch import load_file, save_file
from torch import nn
from transformers import AutoModel, PreTrainedModel, PreTrainedTokenizerBase
from transformers.utils import logging as hf_logging

from mtbioner.atomicio import atomic_directory
from mtbioner.errors import MtbionerError
from mtbioner.param_model import POOLINGS
from mtbioner.params import param_default
from mtbioner.tasks import TASKS, ordered
from mtbioner.model.encoders import LOAD_DTYPE

MODEL_FORMAT_VERSION = 1
MTBIONER_FILE = "mtbioner.json"
HEADS_FILE = "heads.safetensors"


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
        #: the enabled tasks' objects, in canonical order, so heads (and their random init) do not depend on
        #: how the config lists tasks
        self.task_objects = ordered(tasks)
        if pooling not in POOLINGS:
            raise ValueError(f"unknown pooling {pooling!r}; expected one of {POOLINGS}")
        self.encoder = encoder
        self.tasks: tuple[str, ...] = tuple(task.name for task in self.task_objects)
        self.ner_labels: tuple[str, ...] = tuple(ner_labels)
        self.pooling = pooling
        self.dropout_rate = dropout
        self.max_length = max_length
        self.dropout = nn.Dropout(dropout)
        hidden_size = encoder.config.hidden_size
        self.heads = nn.ModuleDict({task.name: nn.Linear(hidden_size, len(task.classes(self.ner_labels)))
                                    for task in self.task_objects})

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor,
                tasks: Sequence[str] | None = None, **_labels: torch.Tensor) -> dict[str, torch.Tensor]:
        """Logits per task: `[batch, seq, classes]` for word-level tasks, `[batch, classes]` for sentence tasks.

        `tasks` restricts the heads computed (the alternating strategy needs one per step); extra keyword
        arguments (the label tensors of a collated batch) are ignored so `model(**batch)` works.
        """
        wanted = self.tasks if tasks is None else tasks
        hidden = self.encoder(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
        hidden = self.dropout(hidden)
        logits: dict[str, torch.Tensor] = {}
        pooled = None
        for task in wanted:
            if self._task(task).level == "word":
                logits[task] = self.heads[task](hidden)
            else:
                if pooled is None:
                    pooled = pool(hidden, attention_mask, self.pooling)
                logits[task] = self.heads[task](pooled)
        return logits

    def compute_losses(self, batch: Mapping[str, torch.Tensor],
                       tasks: Sequence[str] | None = None) -> dict[str, torch.Tensor]:
        """Each task's own loss (`Task.loss`: mean cross-entropy, IGNORE_INDEX ignored, for the paper's tasks)
        against the batch's gold labels (`<task>_labels`)."""
        logits = self.forward(batch["input_ids"], batch["attention_mask"], tasks=tasks)
        return {task: self._task(task).loss(task_logits, batch[f"{task}_labels"])
                for task, task_logits in logits.items()}

    def _task(self, name: str):
        return self.task_objects[self.tasks.index(name)]

    def classes(self, name: str) -> tuple:
        """The classes of an enabled task's head (its logits' order)."""
        return self._task(name).classes(self.ner_labels)

    # ----------------------------------------------------------------------------------------- persistence
    def metadata(self) -> dict:
        # `classes`: what each head's logits mean, for readers outside mtbioner (loading reads only the tasks
        # and the NER labels, from which the classes follow)
        return {"format_version": MODEL_FORMAT_VERSION, "tasks": list(self.tasks),
                "ner_labels": list(self.ner_labels),
                "classes": {task: list(self.classes(task)) for task in self.tasks},
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

