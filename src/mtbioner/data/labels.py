"""Auxiliary labels derived from NER tags on the word level (SPEC section 2).

An entity starts at `B-X`, or at an `I-X` that does not continue an entity of type X (seqeval's default,
conlleval-compatible rule), and continues over following `I-X`. From the entities of a sentence:
bCLS = has at least one entity; mCLS = number of entities capped at 3; mtCLS = per word `O`, `B-Single` for a
one-word entity, `B-Multi`/`I-Multi` for the first/other words of a multi-word entity.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

MCLS_CAP = 3


@dataclass(frozen=True)
class EntitySpan:
    type: str
    start: int  # index of the first word
    end: int  # index after the last word

    @property
    def length(self) -> int:
        return self.end - self.start


@dataclass(frozen=True)
class AuxLabels:
    mt: tuple[str, ...]
    bcls: int
    mcls: int


def entity_spans(tags: Sequence[str]) -> list[EntitySpan]:
    spans: list[EntitySpan] = []
    current_type: str | None = None
    start = 0
    for index, tag in enumerate(tags):
        prefix, _, entity_type = tag.partition("-")
        continues = prefix == "I" and current_type == entity_type
        if current_type is not None and not continues:
            spans.append(EntitySpan(current_type, start, index))
            current_type = None
        if prefix in ("B", "I") and not continues:
            current_type, start = entity_type, index
    if current_type is not None:
        spans.append(EntitySpan(current_type, start, len(tags)))
    return spans


def mt_tags(length: int, spans: Sequence[EntitySpan]) -> tuple[str, ...]:
    tags = ["O"] * length
    for span in spans:
        if span.length == 1:
            tags[span.start] = "B-Single"
        else:
            tags[span.start] = "B-Multi"
            for index in range(span.start + 1, span.end):
                tags[index] = "I-Multi"
    return tuple(tags)


def derive_aux_labels(tags: Sequence[str]) -> AuxLabels:
    spans = entity_spans(tags)
    return AuxLabels(mt=mt_tags(len(tags), spans), bcls=int(bool(spans)), mcls=min(len(spans), MCLS_CAP))
