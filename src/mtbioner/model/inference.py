"""Prediction with a trained `MultiTaskModel`: used by the trainer's per-epoch evaluation and by `predict`.

Sentences are encoded (long ones into windows, see `mtbioner.model.tokenization`), sorted by length so a batch
carries little padding, run in batches without gradients, and the results are put back in input order. Word
tags are read from each word's first sub-token. A sentence split into windows gets, per sentence-level task,
its windows' predictions merged as the task says (`Task.merge`: bCLS = 1 if any window predicts 1, mCLS = the
sum of the windows' counts capped at 3, tCLS = the union of their types).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import torch
from tqdm.auto import tqdm
from transformers import AutoTokenizer, PreTrainedTokenizerBase

from mtbioner.errors import MtbionerError
from mtbioner.model.precision import autocast_context
from mtbioner.tasks import NER
from mtbioner.model.tokenization import Features, collate, encode_sentences


@dataclass
class SentencePrediction:
    """The predictions of one sentence, by task (the model's tasks only): a list of word labels for a
    word-level task, the merged value for a sentence-level one."""

    labels: dict = field(default_factory=dict)

    def get(self, task: str):
        """The prediction of `task`, None when the model has no such head."""
        return self.labels.get(task)

    @property
    def ner(self) -> list[str] | None:
        """The NER tags (the main task's, which the IOB outputs, export and entity spans read)."""
        return self.labels.get(NER)


def length_sorted_batches(features: Sequence[Features], batch_size: int) -> list[list[int]]:
    order = sorted(range(len(features)), key=lambda index: len(features[index]))
    return [order[start:start + batch_size] for start in range(0, len(order), batch_size)]


@torch.inference_mode()
def predict(model, tokenizer: PreTrainedTokenizerBase, sentences: Sequence[Sequence[str]], batch_size: int = 64,
            device: str | torch.device | None = None, progress: bool = False, precision: str = "auto",
            max_length: int | None = None) -> list[SentencePrediction]:
    """Predict every enabled task for `sentences` (lists of words); results in input order.

    `device` None keeps the model where it is. `max_length` defaults to the model's training max length.
    """
    if device is not None:
        model.to(device)
    target = next(model.parameters()).device
    was_training = model.training
    model.eval()
    features = encode_sentences(sentences, tokenizer, max_length or model.max_length)
    tasks = model.task_objects
    classes = {task.name: model.classes(task.name) for task in tasks}
    words = [task for task in tasks if task.level == "word"]
    predictions = [SentencePrediction({task.name: [None] * len(sentence) for task in words})
                   for sentence in sentences]
    windows: list[dict[str, list]] = [{} for _ in sentences]  # per sentence-level task, its windows' values
    batches = length_sorted_batches(features, batch_size)
    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
    try:
        for batch_indices in tqdm(batches, desc="predict", disable=not progress, leave=False):
            batch_features = [features[index] for index in batch_indices]
            batch = collate(batch_features, pad_id)
            with autocast_context(target, precision):
                logits = model(batch["input_ids"].to(target), batch["attention_mask"].to(target))
            best = {task.name: task.decode(logits[task.name]) for task in tasks}
            for row, feature in enumerate(batch_features):
                prediction = predictions[feature.sentence_index]
                for task in tasks:
                    if task.level == "word":
                        tags = prediction.labels[task.name]
                        for offset, position in enumerate(feature.word_starts):
                            tags[feature.first_word + offset] = task.value(best[task.name][row][position],
                                                                           classes[task.name])
                    else:
                        value = task.value(best[task.name][row], classes[task.name])
                        windows[feature.sentence_index].setdefault(task.name, []).append(
                            (feature.first_word, value))
    finally:
        model.train(was_training)
    for prediction, by_task in zip(predictions, windows):
        for task in tasks:
            if task.level == "sentence":  # windows in sentence order, whatever order the batches ran in
                prediction.labels[task.name] = task.merge([value for _, value in sorted(by_task[task.name],
                                                                                      key=lambda pair: pair[0])])
    return predictions


def load_trained(path: str | Path):
    """`(model, tokenizer)` from a trained model directory (`MultiTaskModel.save_pretrained`; a run's
    model directory is `mtbioner.run.directory.model_directory(run)`)."""
    from mtbioner.model.multitask import MTBIONER_FILE, MultiTaskModel
    from mtbioner.run.directory import RunFiles

    directory = Path(path)
    if not (directory / MTBIONER_FILE).is_file():
        kept = ("; this run finished without keeping its model: train.keep_models: needed keeps one only where "
                "something reads it (per dataset joint-max at its largest fraction, first seed, and the "
                "single-task runs); use one of those, or set train.keep_models: all and rerun"
                if RunFiles(directory.parent).metrics.is_file() else "")
        raise MtbionerError(f"{path}: neither a trained model directory nor a run directory with model/{kept}")
    model = MultiTaskModel.from_pretrained(directory)
    tokenizer = AutoTokenizer.from_pretrained(directory)
    model.eval()
    return model, tokenizer
