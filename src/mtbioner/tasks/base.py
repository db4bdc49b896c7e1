"""What a task is: the interface every task module fills in (docs/design.md, "How to add an auxiliary task").

A task is one object: its name and report name, its level (a label per word, or one per sentence), its label
set, how its gold labels derive from a sentence's BIO tags, how its head's output becomes a prediction and its
loss, how the windows of a split sentence merge back into one prediction, and its metric. The model, the
trainer, evaluation, prediction, the grid and the report only call these; none of them names a task.

Why torch is imported inside the methods and not here: the grid (`mtbioner.plan`, parsed by Snakemake for
every job) and the report read the registry for names, levels and metric keys, and must not load torch for it.
The methods that take tensors run inside the model, where torch is loaded already.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar, Literal

#: Label of positions and sentences the loss skips (special tokens, non-first sub-tokens, padding); also
#: PyTorch's cross-entropy default.
IGNORE_INDEX = -100


class Task:
    """Base of every task. A subclass sets the class attributes and, where its kind needs it, the methods."""

    name: ClassVar[str]  #: key in params (grid.tasks, loss_weights), run configs, metrics files, heads
    display: ClassVar[str]  #: how tables and figures name it
    colour: ClassVar[str]  #: its colour in figures (Okabe-Ito palette, distinct for colour-blind readers)
    level: ClassVar[Literal["word", "sentence"]]
    #: keys of `score`'s dict, in report order (flat report columns are `<name>.<metric>`)
    metrics: ClassVar[tuple[str, ...]]
    #: the metric Figures 4/5 draw for a word-level task; a sentence-level one draws the report's sentence
    #: metric (`report.sentence_metric`: macro_f1 or accuracy), which every sentence task therefore scores
    headline: ClassVar[str] = "f1"

    # ------------------------------------------------------------------------------------------- labels
    def classes(self, ner_labels: Sequence[str]) -> tuple:
        """The head's classes for a dataset with these NER labels (labels.json): one logit each."""
        raise NotImplementedError

    def gold(self, ner_tags: Sequence[str]) -> Any:
        """The task's gold label(s) of a sentence (or window) with these BIO tags: a tuple of word labels
        for a word-level task, one value for a sentence-level task."""
        raise NotImplementedError

    def target(self, value: Any, classes: Sequence) -> Any:
        """A sentence-level gold value as the loss reads it (a class id, or a multi-hot list of floats).
        Word-level tasks map each word label to its class id instead (`classes.index`)."""
        return list(classes).index(value)

    # ------------------------------------------------------------------------------------------- the head
    def loss(self, logits, labels):
        """Mean cross-entropy over the labelled positions/sentences (IGNORE_INDEX skipped); a batch with
        nothing to learn for this task gives a zero that keeps the graph intact."""
        import torch.nn.functional as F

        flat_logits = logits.float().reshape(-1, logits.shape[-1])
        flat_labels = labels.reshape(-1)
        if (flat_labels != IGNORE_INDEX).any():
            return F.cross_entropy(flat_logits, flat_labels, ignore_index=IGNORE_INDEX)
        return flat_logits.sum() * 0.0

    def decode(self, logits) -> list:
        """Per row of a batch's logits (`[batch, seq, classes]` or `[batch, classes]`), the predicted class
        ids, as Python lists (argmax)."""
        return logits.argmax(dim=-1).cpu().tolist()

    def value(self, decoded: Any, classes: Sequence) -> Any:
        """One word's or one window's decoded output as a label value."""
        return classes[decoded]

    # ------------------------------------------------------------------------------------------- prediction
    def merge(self, values: Sequence[Any]) -> Any:
        """A sentence-level prediction from its windows' predictions, in window order (a word-level task's
        windows simply hold different words)."""
        raise NotImplementedError(f"{self.name}: a sentence-level task says how its windows merge")

    def export(self, value: Any) -> Any:
        """A prediction as JSON holds it (`mtbioner predict`, test_sentences.jsonl)."""
        return list(value) if isinstance(value, tuple) else value

    # ------------------------------------------------------------------------------------------- metric
    def score(self, gold: Sequence[Any], pred: Sequence[Any], classes: Sequence) -> dict[str, float]:
        """The task's metrics over sentences (`classes`: this dataset's, `classes()`): the keys of `metrics`."""
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"<task {self.name} ({self.display}, {self.level} level)>"


class WordTask(Task):
    """A label per word, scored as entities (seqeval's default mode): NER and mtCLS."""

    level = "word"
    metrics = ("precision", "recall", "f1")

    def score(self, gold, pred, classes):
        from mtbioner.tasks.scoring import sequence_metrics

        return sequence_metrics(gold, pred)


class SentenceClassTask(Task):
    """One class per sentence out of a fixed set, scored by accuracy and macro-F1: bCLS and mCLS."""

    level = "sentence"
    metrics = ("accuracy", "macro_f1")

    def score(self, gold, pred, classes):
        from mtbioner.tasks.scoring import classification_metrics

        return classification_metrics(gold, pred)
