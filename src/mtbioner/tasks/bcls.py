"""bCLS: does the sentence hold at least one entity (SPEC section 2). A split sentence does if any window does."""

from __future__ import annotations

from mtbioner.tasks.labels import get_entities
from mtbioner.tasks.base import SentenceClassTask


class BCLS(SentenceClassTask):
    name = "bcls"
    display = "bCLS"
    colour = "#009E73"

    def classes(self, ner_labels):
        return (0, 1)

    def gold(self, ner_tags):
        return int(bool(get_entities(list(ner_tags))))

    def merge(self, values):
        return max(values)


TASK = BCLS()
