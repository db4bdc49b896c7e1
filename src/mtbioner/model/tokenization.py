"""Word / sub-token alignment and windows for long sentences.

Alignment follows HF `run_ner.py`: the first sub-token of a word carries the word's label of each word-level
task (NER, mtCLS), the other sub-tokens and the special tokens get IGNORE_INDEX (ignored by the loss);
predictions are read from the first sub-token.

A sentence whose sub-tokens (plus the tokenizer's special tokens) exceed `max_length` is split into
consecutive, non-overlapping windows of whole words, each at most `max_length` long, so every word is
predicted exactly once and nothing is truncated away (the trap of `truncation=True`). A single word longer
than a whole window keeps only its first pieces; its label and prediction sit on the first one, so it is still
predicted.

Every label of a window is derived from the NER tags of *its own words* (`Task.gold`), which for a window
that is the whole sentence is the sentence's label. Sentence labels of a window of a split sentence (bCLS,
mCLS, tCLS) are therefore the window's, because the model only sees that window: labelling an entity-free
window "has an entity" would teach the sentence heads something the input does not show. At prediction time
each sentence task merges its windows back per sentence (`Task.merge`, called by `mtbioner.model.inference`).
The mtCLS labels of a split sentence are likewise derived per window, so an entity cut by a window border is
a complete (shorter) entity in each window.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import torch
from transformers import PreTrainedTokenizerBase

from mtbioner.errors import MtbionerError
from mtbioner.data.examples import Example
from mtbioner.tasks import IGNORE_INDEX, NER, TASKS
from mtbioner.tasks import get as get_task


@dataclass
class Features:
    """One model input (a sentence or a window of one) with its labels, ready for `collate`."""

    input_ids: list[int]
    word_starts: list[int]  # position of the first sub-token of each word of this window, in order
    sentence_index: int  # index of the sentence in the encoded list
    first_word: int  # index in the sentence of this window's first word
    #: per task: a word-level task's class id per sub-token (IGNORE_INDEX where unlabelled), a sentence-level
    #: task's `Task.target`; empty for unlabelled input (prediction)
    labels: dict[str, list | int] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.input_ids)


def _printable_words(tokenizer: PreTrainedTokenizerBase, words: Sequence[str]) -> list[str]:
    """Words the tokenizer turns into no sub-token at all (e.g. a lone zero-width space) become its unknown
    token, so that they still own a position and get a prediction."""
    encoded = tokenizer(list(words), is_split_into_words=True, add_special_tokens=False)
    seen = set(encoded.word_ids())
    if len(seen) == len(words):
        return list(words)
    unknown = tokenizer.unk_token or tokenizer.pad_token
    return [word if index in seen else unknown for index, word in enumerate(words)]


def _windows(piece_counts: list[int], budget: int) -> list[tuple[int, int]]:
    """Greedy split of words into consecutive [start, end) ranges whose piece counts fit `budget`."""
    windows, start, used = [], 0, 0
    for index, count in enumerate(piece_counts):
        count = min(count, budget)  # an over-long word is cut to the budget (its first piece is kept)
        if index > start and used + count > budget:
            windows.append((start, index))
            start, used = index, 0
        used += count
    windows.append((start, len(piece_counts)))
    return windows


def _encode_window(tokenizer: PreTrainedTokenizerBase, words: list[str],
                   max_length: int) -> tuple[list[int], list[int]]:
    encoded = tokenizer(words, is_split_into_words=True, truncation=True, max_length=max_length)
    starts = _word_starts(encoded.word_ids())
    if len(starts) != len(words):  # cannot happen when windows respect the budget; guard the invariant
        raise RuntimeError(f"window of {len(words)} words aligned to {len(starts)} sub-token starts")
    return list(encoded["input_ids"]), starts


def _word_starts(word_ids: list[int | None]) -> list[int]:
    starts: list[int] = []
    previous = None
    for position, word_id in enumerate(word_ids):
        if word_id is not None and word_id != previous:
            starts.append(position)
        previous = word_id
    return starts


def encode_sentences(sentences: Sequence[Sequence[str]], tokenizer: PreTrainedTokenizerBase,
                     max_length: int) -> list[Features]:
    """Encode unlabelled sentences (lists of words) into features; long ones become several windows."""
    budget = max_length - tokenizer.num_special_tokens_to_add(pair=False)
    if budget < 1:
        raise ValueError(f"max_length {max_length} leaves no room for words")
    features: list[Features] = []
    if not sentences:
        return features
    # Fast path: one batched call; only sentences that are too long or lose a word take the slow path.
    batch = tokenizer([list(sentence) for sentence in sentences], is_split_into_words=True, verbose=False)
    for sentence_index, sentence in enumerate(sentences):
        ids = list(batch["input_ids"][sentence_index])
        starts = _word_starts(batch.word_ids(sentence_index))
        if len(starts) == len(sentence) and len(ids) <= max_length:
            features.append(Features(ids, starts, sentence_index, 0))
            continue
        words = _printable_words(tokenizer, sentence)
        word_ids = tokenizer(words, is_split_into_words=True, add_special_tokens=False, verbose=False).word_ids()
        counts = [0] * len(words)
        for word_id in word_ids:
            counts[word_id] += 1
        for start, end in _windows(counts, budget):
            ids, starts = _encode_window(tokenizer, words[start:end], max_length)
            features.append(Features(ids, starts, sentence_index, start))
    return features


def encode_examples(examples: Sequence[Example], tokenizer: PreTrainedTokenizerBase, ner_labels: Sequence[str],
                    max_length: int, tasks: Sequence[str] = TASKS) -> list[Features]:
    """Encode labelled examples with the labels of `tasks` (default: every registered task): word labels on
    first sub-tokens, sentence labels per window (see module doc)."""
    features = encode_sentences([example.tokens for example in examples], tokenizer, max_length)
    encoded = [(task, task.classes(ner_labels)) for task in (get_task(name) for name in tasks)]
    ids = {task.name: {label: index for index, label in enumerate(classes)}
           for task, classes in encoded if task.level == "word"}
    for feature in features:
        example = examples[feature.sentence_index]
        ner = example.ner[feature.first_word:feature.first_word + len(feature.word_starts)]
        for task, classes in encoded:
            gold = task.gold(ner)
            if task.level == "sentence":
                feature.labels[task.name] = task.target(gold, classes)
                continue
            labels = [IGNORE_INDEX] * len(feature.input_ids)
            for position, tag in zip(feature.word_starts, gold):
                try:
                    labels[position] = ids[task.name][tag]
                except KeyError:
                    if task.name != NER:
                        raise
                    raise MtbionerError(f"sentence {example.id}: NER tag {tag!r} is not in the dataset's "
                                        f"labels.json ({list(ner_labels)})") from None
            feature.labels[task.name] = labels
    return features


def collate(features: Sequence[Features], pad_token_id: int = 0) -> dict[str, torch.Tensor]:
    """Dynamic padding: pad to the longest input of this batch; `<task>_labels` of every task the features
    are labelled for (word labels padded with IGNORE_INDEX; sentence targets as ints or multi-hot floats)."""
    width = max(len(feature) for feature in features)
    size = len(features)
    input_ids = torch.full((size, width), pad_token_id, dtype=torch.long)
    attention_mask = torch.zeros((size, width), dtype=torch.long)
    for row, feature in enumerate(features):
        length = len(feature)
        input_ids[row, :length] = torch.tensor(feature.input_ids)
        attention_mask[row, :length] = 1
    batch = {"input_ids": input_ids, "attention_mask": attention_mask}
    for name in features[0].labels:
        if get_task(name).level == "word":
            labels = torch.full((size, width), IGNORE_INDEX, dtype=torch.long)
            for row, feature in enumerate(features):
                labels[row, :len(feature)] = torch.tensor(feature.labels[name])
        else:
            targets = [feature.labels[name] for feature in features]
            labels = torch.tensor(targets, dtype=torch.float if isinstance(targets[0], list) else torch.long)
        batch[f"{name}_labels"] = labels
    return batch
