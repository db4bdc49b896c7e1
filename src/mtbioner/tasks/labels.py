"""Entities of a sentence's NER tags: the one chunker every task's labels are derived through (SPEC section 2).

`get_entities` is the one entity chunker of mtbioner: the training scores, Table 1, `mtbioner predict`'s
entity spans, the report's per-sentence counts and these auxiliary labels all read entities through it. It is
seqeval 1.2.2's default-mode chunker (`seqeval.metrics.sequence_labeling.get_entities`, the conlleval rule)
rule for rule: an entity starts at `B-X`, or at an `I-X` that does not continue an entity of type X, and
continues over following `I-X`; IOBES prefixes, untyped tags and `.` follow seqeval's rules too.
tests/test_light_imports.py checks it against seqeval on real corpus tags, malformed predictions and every
prefix scheme. Why our own copy and not seqeval's: importing seqeval imports scikit-learn, pandas and scipy
(measured in docs/design.md, "One entity chunker"), which a training job otherwise never loads.

The auxiliary tasks' labels are derived from these entities by the tasks themselves (`mtbioner.tasks`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

Entity = tuple[str, int, int]  # (type, first position, last position), as seqeval's get_entities gives them


@dataclass(frozen=True)
class EntitySpan:
    type: str
    start: int  # index of the first word
    end: int  # index after the last word

    @property
    def length(self) -> int:
        return self.end - self.start


#: (prefix, type) of each tag string seen: a corpus has a handful of distinct tags, so splitting each once
#: makes the chunker ~2x faster than seqeval's per-tag split (docs/design.md).
_SPLIT: dict[str, tuple[str, str]] = {}


def _split_tag(tag: str) -> tuple[str, str]:
    """Prefix (O, B, I, E, S) and type of a tag in seqeval's default (prefix) notation; '_' when untyped."""
    parts = _SPLIT.get(tag)
    if parts is None:
        parts = _SPLIT[tag] = (tag[0], tag[1:].split("-", maxsplit=1)[-1] or "_")
    return parts


def get_entities(tags: Sequence[str] | Sequence[Sequence[str]]) -> list[Entity]:
    """Entities of a tag sequence (or of sentences joined with an `O` between them, as seqeval joins them),
    in order, as (type, first position, last position)."""
    sequence = list(tags)
    if any(isinstance(item, (list, tuple)) for item in sequence):
        sequence = [tag for sentence in sequence for tag in [*sentence, "O"]]
    prev_tag, prev_type, begin, chunks = "O", "", 0, []
    for index, chunk in enumerate([*sequence, "O"]):
        tag, type_ = _SPLIT.get(chunk) or _split_tag(chunk)
        if tag == "O" and prev_tag == "O":  # neither rule below can fire: the common case, decided at once
            prev_type = type_
            continue
        # seqeval.metrics.sequence_labeling.end_of_chunk
        if (prev_tag in ("E", "S") or (prev_tag in ("B", "I") and tag in ("B", "S", "O"))
                or (prev_tag != "O" and prev_tag != "." and prev_type != type_)):
            chunks.append((prev_type, begin, index - 1))
        # seqeval.metrics.sequence_labeling.start_of_chunk
        if (tag in ("B", "S") or (prev_tag in ("E", "S", "O") and tag in ("E", "I"))
                or (tag != "O" and tag != "." and prev_type != type_)):
            begin = index
        prev_tag, prev_type = tag, type_
    return chunks


def entity_spans(tags: Sequence[str]) -> list[EntitySpan]:
    """The entities of one sentence as spans with an exclusive end (Python slices)."""
    return [EntitySpan(entity_type, first, last + 1) for entity_type, first, last in get_entities(tags)]
