"""mCLS: the number of entities in the sentence, capped at 3 (class 3 means "3 or more", SPEC section 2). A
split sentence's count is the sum of its windows' counts, capped again."""

from __future__ import annotations

from mtbioner.tasks.labels import get_entities
from mtbioner.tasks.base import SentenceClassTask

CAP = 3


class MCLS(SentenceClassTask):
    name = "mcls"
    display = "mCLS"
    colour = "#CC79A7"

    def classes(self, ner_labels):
        return tuple(range(CAP + 1))

    def gold(self, ner_tags):
        return min(len(get_entities(list(ner_tags))), CAP)

    def merge(self, values):
        return min(sum(values), CAP)


TASK = MCLS()
