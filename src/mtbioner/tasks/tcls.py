"""tCLS: which entity types the sentence holds (multi-label, sentence level) — a task the paper did not have.

Its classes are the dataset's entity types (labels.json: one logit each), its gold label the set of types of
the sentence's entities, its loss binary cross-entropy with logits over the types (each type a yes/no
question), a type is predicted where its logit is above 0 (probability above 1/2), a split sentence holds the
union of its windows' types, and it is scored by exact-match accuracy and micro/macro F1 over the types. On a
single-type corpus it says what bCLS says; it is meant for corpora with several types (BC5CDR: Chemical and
Disease; config/tcls.yaml). Whether it helps NER is not a claim until a finding tests it (config/README.md, presets).
"""

from __future__ import annotations

from mtbioner.tasks.labels import get_entities
from mtbioner.tasks.base import IGNORE_INDEX, Task


class TCLS(Task):
    name = "tcls"
    display = "tCLS"
    colour = "#D55E00"
    level = "sentence"
    metrics = ("accuracy", "micro_f1", "macro_f1")

    def classes(self, ner_labels):
        # labels.json lists `O`, then B-/I- per type sorted by type: the types in that order
        return tuple(label[2:] for label in ner_labels if label.startswith("B-"))

    def gold(self, ner_tags):
        return tuple(sorted({entity_type for entity_type, _, _ in get_entities(list(ner_tags))}))

    def target(self, value, classes):
        return [1.0 if entity_type in value else 0.0 for entity_type in classes]

    def loss(self, logits, labels):
        import torch.nn.functional as F

        labelled = labels[:, 0] != IGNORE_INDEX  # a sentence without labels (none in training) is skipped
        if not labelled.any():
            return logits.float().sum() * 0.0
        return F.binary_cross_entropy_with_logits(logits.float()[labelled], labels[labelled].float())

    def decode(self, logits):
        return (logits > 0).cpu().tolist()

    def value(self, decoded, classes):
        return tuple(entity_type for entity_type, present in zip(classes, decoded) if present)

    def merge(self, values):
        return tuple(sorted({entity_type for value in values for entity_type in value}))

    def score(self, gold, pred, classes):
        from mtbioner.tasks.scoring import multilabel_metrics

        return multilabel_metrics(gold, pred, classes)


TASK = TCLS()
