"""Prediction with a trained `MultiTaskModel`: used by the trainer's per-epoch evaluation and by `predict`.

Sentences are encoded (long ones into windows, see `mtbioner.model.tokenization`), sorted by length so a batch
carries little padding, run in batches without gradients, and the results are put back in input order. Word
tags are read from each word's first sub-token. A sentence split into windows gets bCLS = 1 if any window
predicts 1 and mCLS = the sum of its windows' counts capped at 3.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import torch
from tqdm.auto import tqdm
from transformers import AutoTokenizer, PreTrainedTokenizerBase

from mtbioner.errors import MtbionerError
from mtbioner.model.precision import autocast_context
from mtbioner.tasks import MCLS_CLASSES, MT_LABELS
from mtbioner.model.tokenization import Features, collate, encode_sentences



@dataclass
class SentencePrediction:
    ner: list[str] | None = None
    mt: list[str] | None = None
    bcls: int | None = None
    mcls: int | None = None


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
    predictions = [SentencePrediction(ner=[None] * len(sentence) if "ner" in model.tasks else None,
                                      mt=[None] * len(sentence) if "mt" in model.tasks else None,
                                      bcls=0 if "bcls" in model.tasks else None,
                                      mcls=0 if "mcls" in model.tasks else None)
                   for sentence in sentences]
    label_maps = {"ner": list(model.ner_labels), "mt": list(MT_LABELS)}
    batches = length_sorted_batches(features, batch_size)
    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
    try:
        for batch_indices in tqdm(batches, desc="predict", disable=not progress, leave=False):
            batch_features = [features[index] for index in batch_indices]
            batch = collate(batch_features, pad_id)
            with autocast_context(target, precision):
                logits = model(batch["input_ids"].to(target), batch["attention_mask"].to(target))
            best = {task: task_logits.argmax(dim=-1).cpu().tolist() for task, task_logits in logits.items()}
            for row, feature in enumerate(batch_features):
                prediction = predictions[feature.sentence_index]
                for task in ("ner", "mt"):
                    if task in best:
                        tags = getattr(prediction, task)
                        for offset, position in enumerate(feature.word_starts):
                            tags[feature.first_word + offset] = label_maps[task][best[task][row][position]]
                if "bcls" in best:
                    prediction.bcls = max(prediction.bcls, best["bcls"][row])
                if "mcls" in best:
                    prediction.mcls = min(prediction.mcls + best["mcls"][row], MCLS_CLASSES[-1])
    finally:
        model.train(was_training)
    return predictions


def load_trained(path: str | Path):
    """`(model, tokenizer)` from a trained model directory (`MultiTaskModel.save_pretrained`; a run's
    model directory is `mtbioner.run.directory.model_directory(run)`)."""
    from mtbioner.model.multitask import MTBIONER_FILE, MultiTaskModel

    directory = Path(path)
    if not (directory / MTBIONER_FILE).is_file():
        kept = ("; this run finished without keeping its model: train.keep_models: needed keeps one only where "
                "something reads it (per dataset joint-max at its largest fraction, first seed, and the "
                "single-task runs); use one of those, or set train.keep_models: all and rerun"
                if (directory.parent / "metrics.json").is_file() else "")
        raise MtbionerError(f"{path}: neither a trained model directory nor a run directory with model/{kept}")
    model = MultiTaskModel.from_pretrained(directory)
    tokenizer = AutoTokenizer.from_pretrained(directory)
    model.eval()
    return model, tokenizer
