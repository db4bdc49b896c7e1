"""mtCLS: per word `O`, `B-Single` for a one-word entity, `B-Multi`/`I-Multi` for the first/other words of a
multi-word entity (SPEC section 2). Scored like NER, with `Single` and `Multi` as the "entity types"."""

from __future__ import annotations

from mtbioner.tasks.labels import entity_spans
from mtbioner.tasks.base import WordTask

#: outside / one-word entity / first word of a multi-word entity / other words of it
LABELS: tuple[str, ...] = ("O", "B-Single", "B-Multi", "I-Multi")


class MtCLS(WordTask):
    name = "mt"
    display = "mtCLS"
    colour = "#E69F00"

    def classes(self, ner_labels):
        return LABELS

    def gold(self, ner_tags):
        tags = ["O"] * len(ner_tags)
        for span in entity_spans(ner_tags):
            if span.length == 1:
                tags[span.start] = "B-Single"
            else:
                tags[span.start] = "B-Multi"
                for index in range(span.start + 1, span.end):
                    tags[index] = "I-Multi"
        return tuple(tags)


TASK = MtCLS()
