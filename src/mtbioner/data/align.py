"""Standoff mentions onto words: BIO-tagged sentences from BioC/PubTator documents, with every problem counted.

A document is cut into sentences and words by the rules `mtbioner predict` uses (`textsplit`), passage by
passage (a sentence never crosses a passage; a BioC passage given as <sentence>s keeps the file's sentences).
Then each mention becomes B-/I- tags on the words it covers. What cannot be carried over as it is, is handled
by one stated policy per kind, and every case is counted in the `ConversionReport` with its file, document,
offsets, type and text; nothing is dropped silently (`POLICIES`: each kind and its policy, also written
into every report).

The type of a mention is first mapped (`TypeMap`): a type named in `types` becomes its target (or is dropped on
purpose, target null); with `entity_types` given, any other type is an error naming it (a typo in the
configuration must not quietly empty a corpus); without it, every type is kept.

The round trip is exact: `mentions_from_tags` turns the tags of an aligned sentence back into character spans,
and those are the kept mentions' offsets (tests/test_standoff.py writes the prepared gold back as BioC and PubTator).
"""

from __future__ import annotations

import re
from bisect import bisect_left, bisect_right
from dataclasses import dataclass, field
from typing import Iterable, Sequence

from mtbioner.tasks.labels import entity_spans
from mtbioner.data.standoff import Mention, StandoffDocument, StandoffFile
from mtbioner.data.textsplit import TextSentence, Token, split_sentences, tokenize
from mtbioner.errors import StandoffFormatError

#: Each kind of alignment problem and what is done about it (written into every conversion report).
POLICIES: dict[str, str] = {
    "boundary_inside_word": "kept exact: the word is split at the mention's boundary (e.g. 'TNFalpha' with a "
                            "mention 'TNF' becomes the words 'TNF' 'alpha')",
    "crosses_sentence": "kept: the sentences it spans are joined into one (the sentence split was wrong there)",
    "whitespace_trimmed": "kept: its offsets began or ended on whitespace and are trimmed to the words it covers",
    "overlapping": "dropped: of overlapping or nested mentions the longest is kept (ties: the earlier start, then "
                   "the first in the file); 'detail' names the kept one",
    "duplicate": "dropped: the same span and type as a kept mention",
    "discontinuous": "dropped: a mention in several pieces (BioC locations that do not touch) has no BIO form",
    "crosses_passage": "dropped: it spans two passages (title and abstract are separate texts)",
    "outside_text": "dropped: it covers no word (only whitespace, or the gap between passages)",
    "text_mismatch": "dropped: the file's own text of the mention differs from the document's text at its "
                     "offsets (offsets or text are wrong; neither is trusted)",
    "dropped_type": "dropped on purpose: its type is mapped to null in `types`",
}
_TAG_TYPE = re.compile(r"[A-Za-z0-9_./-]+")


@dataclass(frozen=True)
class TypeMap:
    """Which mention types become which entity types: `rename` maps a file's type to ours (None = drop it);
    `entity_types`, when given, lists every type to keep (after renaming); any other type is an error."""

    entity_types: tuple[str, ...] | None = None
    rename: tuple[tuple[str, str | None], ...] = ()

    @classmethod
    def from_options(cls, entity_types: Iterable[str] | None = None,
                     rename: dict[str, str | None] | None = None) -> "TypeMap":
        mapping = cls(tuple(entity_types) if entity_types else None, tuple((rename or {}).items()))
        for target in [*(mapping.entity_types or ()), *(t for _, t in mapping.rename if t)]:
            if not _TAG_TYPE.fullmatch(target):
                raise StandoffFormatError("entity types", f"{target!r} cannot be a tag's type (letters, digits, "
                                                          "'_', '.', '/', '-' only); rename it in `types`")
        return mapping

    def resolve(self, entity_type: str, name: str, document: str) -> str | None:
        renamed = dict(self.rename)
        target = renamed.get(entity_type, entity_type)
        if target is None:
            return None
        if self.entity_types is not None and target not in self.entity_types:
            raise StandoffFormatError(name, f"unknown entity type {entity_type!r}: keep it in entity_types "
                                            f"({', '.join(self.entity_types)}), or map it in types "
                                            "(to another type, or to null to drop it)", document=document)
        if not _TAG_TYPE.fullmatch(target):
            raise StandoffFormatError(name, f"entity type {target!r} cannot be a tag's type (letters, digits, "
                                            "'_', '.', '/', '-' only); rename it in types", document=document)
        return target


@dataclass(frozen=True)
class AlignedSentence:
    document: str
    tokens: tuple[Token, ...]
    tags: tuple[str, ...]


@dataclass
class ConversionReport:
    """What a conversion did, per file and per kind of problem (POLICIES); `to_json` is conversion.json."""

    files: list[dict] = field(default_factory=list)
    problems: dict[str, list[dict]] = field(default_factory=lambda: {kind: [] for kind in POLICIES})

    def add(self, kind: str, name: str, document: StandoffDocument, mention: Mention, detail: str = "") -> None:
        entry = {"file": name, "document": document.id, "start": mention.start, "end": mention.end,
                 "type": mention.type, "text": document.text_at(mention.start, mention.end)}
        if detail:
            entry["detail"] = detail
        self.problems[kind].append(entry)

    def counts(self) -> dict[str, int]:
        return {kind: len(entries) for kind, entries in self.problems.items()}

    def summary(self) -> str:
        """One line for the log: documents, sentences, mentions kept, then each kind that occurred."""
        standoff = [f for f in self.files if "documents" in f]  # token<TAB>tag files are copied, not aligned
        if not standoff:
            return f"{sum(f['sentences'] for f in self.files)} token<TAB>tag sentences copied as they are"
        kept = sum(sum(f["kept"].values()) for f in standoff)
        read = sum(f["mentions"] for f in standoff)
        found = ", ".join(f"{kind} {count}" for kind, count in self.counts().items() if count)
        return (f"{sum(f['documents'] for f in standoff)} documents, {sum(f['sentences'] for f in standoff)} "
                f"sentences, {kept} of {read} mentions kept; {found or 'no alignment problems'}")

    def to_json(self) -> dict:
        return {"format_version": 1, "summary": self.summary(), "counts": self.counts(), "policies": POLICIES,
                "files": self.files, "problems": self.problems}


def document_sentences(document: StandoffDocument) -> list[tuple[int, TextSentence]]:
    """(segment index, sentence) of a document in order: `split_sentences` per passage text at its offset, or
    the file's own sentence as one (BioC <sentence>s). The sentences `mtbioner predict` tags."""
    sentences = []
    for index, segment in enumerate(document.segments):
        if segment.presplit:
            tokens = tuple(tokenize(segment.text, offset=segment.offset))
            if tokens:
                sentences.append((index, TextSentence(tokens, tokens[0].start, tokens[-1].end)))
        else:
            sentences += [(index, sentence) for sentence in split_sentences(segment.text, offset=segment.offset)]
    return sentences


def _passage_of(document: StandoffDocument, position: int) -> int | None:
    index = bisect_right([segment.offset for segment in document.segments], position) - 1
    if index >= 0 and position < document.segments[index].end:
        return document.segments[index].passage
    return None


def _select(document: StandoffDocument, types: TypeMap, name: str, report: ConversionReport) -> list[Mention]:
    """The mentions that can become tags, each with its mapped type; the others counted (module docstring)."""
    candidates = []
    for order, mention in enumerate(document.mentions):
        target = types.resolve(mention.type, name, document.id)
        if target is None:
            report.add("dropped_type", name, document, mention)
            continue
        if mention.pieces > 1:
            report.add("discontinuous", name, document, mention, f"{mention.pieces} pieces")
            continue
        first, last = _passage_of(document, mention.start), _passage_of(document, mention.end - 1)
        if first is None and last is None and document.text[mention.start:mention.end].strip() == "":
            report.add("outside_text", name, document, mention)
            continue
        if first != last:
            report.add("crosses_passage", name, document, mention)
            continue
        actual = document.text_at(mention.start, mention.end)
        if mention.text and actual is not None and mention.text != actual:  # no text (None, ""): nothing to check
            report.add("text_mismatch", name, document, mention, f"the file says {mention.text!r}")
            continue
        candidates.append((order, Mention(mention.start, mention.end, target, mention.text, mention.id)))
    # Longest first (ties: earlier start, then file order); a mention overlapping a kept one is dropped.
    candidates.sort(key=lambda item: (item[1].start - item[1].end, item[1].start, item[0]))
    kept: list[Mention] = []
    starts: list[int] = []
    for _, mention in candidates:
        at = bisect_left(starts, mention.start)
        neighbours = kept[max(0, at - 1):at + 1]
        clash = next((k for k in neighbours if k.start < mention.end and mention.start < k.end), None)
        if clash is None:
            kept.insert(at, mention)
            starts.insert(at, mention.start)
        elif (clash.start, clash.end, clash.type) == (mention.start, mention.end, mention.type):
            report.add("duplicate", name, document, mention)
        else:
            report.add("overlapping", name, document, mention, f"kept {clash.start}..{clash.end} {clash.type}")
    return kept


def _split_words(tokens: Sequence[Token], cuts: list[int], used: set[int]) -> list[Token]:
    """`tokens` with every word that a position in `cuts` (sorted) falls strictly inside split there; the
    positions that split a word are added to `used`."""
    words = []
    for token in tokens:
        inside = cuts[bisect_right(cuts, token.start):bisect_left(cuts, token.end)]
        used.update(inside)
        edges = [token.start, *inside, token.end]
        words += [Token(token.text[a - token.start:b - token.start], a, b) for a, b in zip(edges, edges[1:])]
    return words


def align_document(document: StandoffDocument, types: TypeMap, name: str,
                   report: ConversionReport) -> list[AlignedSentence]:
    """The document's sentences with BIO tags of its kept mentions (module docstring: policies)."""
    mentions = _select(document, types, name, report)
    cuts = sorted({position for m in mentions for position in (m.start, m.end)})
    words: list[Token] = []
    sentence_of: list[int] = []
    used: set[int] = set()
    for number, (_, sentence) in enumerate(document_sentences(document)):
        split = _split_words(sentence.tokens, cuts, used)
        words += split
        sentence_of += [number] * len(split)
    word_starts = [word.start for word in words]
    tags = ["O"] * len(words)
    joined: set[int] = set()  # sentence k is joined with sentence k + 1
    for mention in mentions:
        first = bisect_left(word_starts, mention.start)
        last = bisect_right(word_starts, mention.end - 1) - 1
        if last < first:
            report.add("outside_text", name, document, mention)
            continue
        if mention.start in used or mention.end in used:
            report.add("boundary_inside_word", name, document, mention)
        if (words[first].start, words[last].end) != (mention.start, mention.end):
            report.add("whitespace_trimmed", name, document, mention,
                       f"aligned to {words[first].start}..{words[last].end}")
        if sentence_of[first] != sentence_of[last]:
            report.add("crosses_sentence", name, document, mention)
            joined.update(range(sentence_of[first], sentence_of[last]))
        tags[first] = f"B-{mention.type}"
        for index in range(first + 1, last + 1):
            tags[index] = f"I-{mention.type}"
    sentences: list[AlignedSentence] = []
    begin = 0
    for index in range(1, len(words) + 1):
        if index == len(words) or (sentence_of[index] != sentence_of[index - 1]
                                   and sentence_of[index - 1] not in joined):
            sentences.append(AlignedSentence(document.id, tuple(words[begin:index]), tuple(tags[begin:index])))
            begin = index
    return sentences


def align_file(source: StandoffFile, types: TypeMap, report: ConversionReport) -> list[AlignedSentence]:
    """Every document of a file, aligned; the file's line in the report (documents, sentences, kept types)."""
    sentences: list[AlignedSentence] = []
    for document in source.documents:
        sentences += align_document(document, types, source.name, report)
    kept: dict[str, int] = {}
    for sentence in sentences:
        for span in entity_spans(sentence.tags):
            kept[span.type] = kept.get(span.type, 0) + 1
    report.files.append({"file": source.name, "format": source.format, "documents": len(source.documents),
                         "sentences": len(sentences), "words": sum(len(s.tokens) for s in sentences),
                         "mentions": sum(len(d.mentions) for d in source.documents), "kept": dict(sorted(kept.items()))})
    return sentences


def mentions_from_tags(offsets: Sequence[Sequence[int]], tags: Sequence[str]) -> list[tuple[int, int, str]]:
    """(start, end, type) of each entity of a tagged sentence, from its words' character offsets: the inverse of
    the alignment (and how predicted tags become standoff mentions)."""
    return [(offsets[span.start][0], offsets[span.end - 1][1], span.type) for span in entity_spans(tags)]
