"""NER: the main task. A BIO tag per word, the dataset's own tag set (labels.json), scored as entities."""

from __future__ import annotations

from mtbioner.tasks.base import WordTask


class NER(WordTask):
    name = "ner"
    display = "NER"
    colour = "#0072B2"

    def classes(self, ner_labels):
        return tuple(ner_labels)

    def gold(self, ner_tags):
        return tuple(ner_tags)


TASK = NER()
