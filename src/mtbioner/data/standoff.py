"""BioC (XML, JSON) and PubTator files: documents with passages and mentions in, annotated documents out.

The field's formats are read and written by its own library, `bioc` (>= 2.1): `bioc.biocxml` and
`bioc.biocjson` parse and serialise collections, `bioc.pubtator` holds PubTator's data structures and parses its
annotation lines. This module turns what the library read into `StandoffDocument`s (the text of each passage
at its offset, the mentions with document offsets and types) and writes mentions and sentence-level labels
back through the library. It never parses XML or JSON itself.

Two deliberate departures from the library's conveniences, both to keep offsets exact and errors one line:

* PubTator: `bioc.pubtator.iterparse_s` strips every line (a title with leading or trailing blanks would
  shift every abstract offset), prints lines it cannot parse to stdout instead of failing, and reads an
  annotation line whose last field (the concept id) is empty as a relation. So this module walks the lines
  itself, with line numbers for errors, and hands each one to the library's own pieces (`TITLE_PATTERN`,
  `ABSTRACT_PATTERN`, `loads_ann`, `PubTator`, `PubTatorRel`). An annotation line with an empty id reads as
  id ``-``; our own annotations carry ``-`` (no concept id), so the library reads them back as annotations.
* A document's text is its passages at their offsets. PubTator's is ``title + "\\n" + abstract`` (offset of
  the abstract = len(title) + 1), as in `PubTator.text`. The library's `pubtator2bioc` puts that text on the
  document instead of in passages; here a PubTator document becomes two BioC passages (title at 0, abstract
  at len(title) + 1), so offsets stay the same in both formats.

Malformed input is one `StandoffFormatError` naming the file, the document and what is wrong (bad XML or
JSON, an element the library cannot read, a passage or mention beyond the text, overlapping passages, a
PubTator line with too few fields, a mention without a type). What is well-formed but cannot become BIO
tags (overlaps, boundaries inside words, ...) is not an error: `mtbioner.data.align` counts it.

brat standoff: `bioc` also reads and writes brat (`bioc.brat`, and its `brat2bioc` console script). We do not
take brat directly: its reader reports malformed lines with ``assert`` (a bare AssertionError, or nothing
under ``python -O``) and pulls in tqdm, so a brat folder is converted once with ``brat2bioc`` and the BioC
imported; everything past that (alignment, report, errors naming document and offsets) is then ours.
"""

from __future__ import annotations

import io
import json
import re
from bisect import bisect_right
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any, Literal

from mtbioner.errors import MtbionerError, StandoffFormatError

StandoffFormat = Literal["bioc", "bioc-json", "pubtator"]
FORMATS: tuple[str, ...] = ("bioc", "bioc-json", "pubtator")
#: The infon our sentence-level labels of a passage go into (a JSON list, one object per sentence).
SENTENCES_INFON = "mtbioner_sentences"
#: Concept id of a PubTator annotation that has none (an empty last field is lost to readers that strip lines).
NO_CONCEPT_ID = "-"
_PUBTATOR_LINE = re.compile(r"[^\t|]+\|[ta]\|")


@dataclass(frozen=True)
class Mention:
    """An annotated span of a document: ``document.text[start:end]``, in document offsets."""

    start: int
    end: int
    type: str
    text: str | None = None  # the file's own copy of the mention's text, checked against the document
    id: str | None = None
    pieces: int = 1  # BioC locations that do not touch: > 1 is a discontinuous mention


@dataclass(frozen=True)
class Segment:
    """A piece of a document's text at its offset: a passage's text, or one BioC <sentence> of a passage that
    is given as sentences (`presplit`: the file's own sentence, kept as one sentence)."""

    offset: int
    text: str
    passage: int
    presplit: bool = False

    @property
    def end(self) -> int:
        return self.offset + len(self.text)


@dataclass
class StandoffDocument:
    id: str
    segments: list[Segment]
    mentions: list[Mention] = field(default_factory=list)

    def text_at(self, start: int, end: int) -> str | None:
        """``text[start:end]`` when the span lies inside one segment, else None."""
        index = bisect_right([segment.offset for segment in self.segments], start) - 1
        if index >= 0 and end <= self.segments[index].end:
            segment = self.segments[index]
            return segment.text[start - segment.offset:end - segment.offset]
        return None

    @cached_property
    def text(self) -> str:
        """The document's text: its segments at their offsets, gaps filled with spaces (BioC passages need not
        touch). Every offset of the document indexes it."""
        parts: list[str] = []
        position = 0
        for segment in self.segments:
            parts.append(" " * (segment.offset - position))
            parts.append(segment.text)
            position = segment.end
        return "".join(parts)


@dataclass
class StandoffFile:
    """A file's documents, and the library's own objects (`native`: a `BioCCollection` or a list of
    `PubTator`) that writing annotates in place; None for documents made from raw text."""

    name: str
    format: str
    documents: list[StandoffDocument]
    native: Any = None


# ----------------------------------------------------------------------------------------------- detection
def detect_format(raw: bytes) -> str | None:
    """"bioc", "bioc-json" or "pubtator" by content (extensions vary: PubTator ships as .txt, .PubTator,
    .pubtator), or None (token-per-line or raw text)."""
    head = raw[:4096].removeprefix(b"\xef\xbb\xbf").lstrip()
    if head.startswith(b"<"):
        return "bioc"
    if head.startswith(b"{"):
        return "bioc-json"
    first = head.split(b"\n", 1)[0].decode("utf-8", errors="replace")
    if _PUBTATOR_LINE.match(first):
        return "pubtator"
    return None


def _decode(raw: bytes, name: str) -> str:
    try:
        return raw.decode("utf-8").removeprefix("\ufeff")
    except UnicodeDecodeError as error:
        line = raw[: error.start].count(b"\n") + 1
        raise StandoffFormatError(name, f"not valid UTF-8 (byte 0x{raw[error.start]:02x})", line=line) from None


def read_bytes(path: str | Path) -> bytes:
    try:
        return Path(path).read_bytes()
    except FileNotFoundError:
        raise MtbionerError(f"{path}: file not found") from None
    except IsADirectoryError:
        raise MtbionerError(f"{path}: is a directory, expected a BioC or PubTator file") from None


def read_standoff(path: str | Path, file_format: str = "auto") -> StandoffFile:
    """A BioC XML, BioC JSON or PubTator file (`file_format` "auto": detected from its content)."""
    return parse_standoff(read_bytes(path), str(path), file_format)


def parse_standoff(raw: bytes, name: str, file_format: str = "auto") -> StandoffFile:
    fmt = detect_format(raw) if file_format == "auto" else file_format
    if fmt == "bioc":
        return _bioc_file(_load_bioc_xml(raw, name), name, fmt)
    if fmt == "bioc-json":
        return _bioc_file(_load_bioc_json(_decode(raw, name), name), name, fmt)
    if fmt == "pubtator":
        return _pubtator_file(_decode(raw, name), name)
    if fmt is None:
        raise StandoffFormatError(name, "neither BioC XML, BioC JSON nor PubTator (give the format explicitly)")
    raise MtbionerError(f"unknown standoff format {fmt!r}; expected one of {', '.join(FORMATS)}")


# --------------------------------------------------------------------------------------------------- BioC
def _load_bioc_xml(raw: bytes, name: str):
    import bioc
    import bioc.biocjson
    import bioc.pubtator
    from lxml import etree

    try:
        collection = bioc.biocxml.load(io.BytesIO(raw))  # bytes: lxml honours the declared encoding
    except etree.XMLSyntaxError as error:
        raise StandoffFormatError(name, f"bad XML: {error.msg}", line=error.lineno) from None
    except (KeyError, TypeError, ValueError, AttributeError) as error:
        raise _locate_bioc_problem(name, error, _xml_documents(raw)) from None
    if not collection.documents:
        raise StandoffFormatError(name, "no <document> in the file (not a BioC collection?)")
    return collection


def _xml_documents(raw: bytes):
    """(id, loader) of each <document> element: each loads alone through the library (to find a bad one)."""
    import bioc
    import bioc.biocjson
    import bioc.pubtator
    from lxml import etree

    root = etree.parse(io.BytesIO(raw)).getroot()
    for element in root.iter("document"):
        text = etree.tostring(element, encoding="unicode")
        yield element.findtext("id"), lambda text=text: bioc.biocxml.loads(f"<collection>{text}</collection>")


def _load_bioc_json(text: str, name: str):
    import bioc
    import bioc.biocjson
    import bioc.pubtator

    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        raise StandoffFormatError(name, f"bad JSON: {error.msg} (column {error.colno})", line=error.lineno) from None
    if not isinstance(data, dict) or not isinstance(data.get("documents"), list):
        raise StandoffFormatError(name, "not a BioC JSON collection (an object with a 'documents' list)")
    for key in ("source", "date", "key", "infons"):
        data.setdefault(key, {} if key == "infons" else "")
    try:
        collection = bioc.biocjson.decoder.parse_collection(data)
    except (KeyError, TypeError, ValueError, AttributeError) as error:
        documents = ((doc.get("id") if isinstance(doc, dict) else None,
                      lambda doc=doc: bioc.biocjson.fromJSON(doc, "BioCDocument")) for doc in data["documents"])
        raise _locate_bioc_problem(name, error, documents) from None
    if not collection.documents:
        raise StandoffFormatError(name, "no document in the collection")
    return collection


def _locate_bioc_problem(name: str, error: Exception, documents) -> StandoffFormatError:
    """The library failed on a structurally wrong element: load the documents one at a time to name the one."""
    what = f"{type(error).__name__}: {error}"
    for number, (doc_id, load) in enumerate(documents, start=1):
        try:
            load()
        except (KeyError, TypeError, ValueError, AttributeError) as found:
            what = f"{type(found).__name__}: {found}"
            return StandoffFormatError(name, f"not valid BioC, an element lacks a required part or holds a "
                                             f"non-integer offset/length ({what})", document=doc_id or f"#{number}")
    return StandoffFormatError(name, f"not valid BioC ({what})")


def _integer(value: Any, what: str, name: str, document: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        try:
            return int(str(value))
        except ValueError:
            raise StandoffFormatError(name, f"{what} is not an integer: {value!r}", document=document) from None
    return value


def _bioc_mention(annotation, name: str, document: str, within: tuple[int, int], where: str) -> Mention:
    """A BioC annotation as a Mention; it must lie inside `within` (its passage, or the document's text)."""
    label = f"annotation {annotation.id!r}"
    if not annotation.locations:
        raise StandoffFormatError(name, f"{label} has no location", document=document)
    spans = sorted((_integer(loc.offset, f"{label}: location offset", name, document),
                    _integer(loc.length, f"{label}: location length", name, document))
                   for loc in annotation.locations)
    pieces = 1
    for (offset, length), (next_offset, _) in zip(spans, spans[1:]):
        pieces += next_offset != offset + length  # locations that touch are one span
    start, end = spans[0][0], max(offset + length for offset, length in spans)
    if any(length <= 0 for _, length in spans):
        raise StandoffFormatError(name, f"{label} has a location of length <= 0", document=document)
    if start < within[0] or end > within[1]:
        raise StandoffFormatError(name, f"{label} at {start}..{end} lies beyond {where} ({within[0]}..{within[1]})",
                                  document=document)
    entity_type = (annotation.infons or {}).get("type")
    if not entity_type:
        raise StandoffFormatError(name, f"{label} has no 'type' infon", document=document)
    return Mention(start, end, str(entity_type), annotation.text, annotation.id, pieces)


def _bioc_file(collection, name: str, fmt: str) -> StandoffFile:
    documents = []
    for number, document in enumerate(collection.documents, start=1):
        doc_id = str(document.id) if document.id not in (None, "") else f"#{number}"
        segments: list[Segment] = []
        mentions: list[Mention] = []
        for index, passage in enumerate(document.passages):
            offset = _integer(passage.offset, "passage offset", name, doc_id)
            if passage.text or not passage.sentences:
                segments.append(Segment(offset, passage.text or "", index))
            else:  # no text of its own: the passage is its <sentence>s (the library reads a missing text as "")
                for sentence in passage.sentences:
                    start = _integer(sentence.offset, "sentence offset", name, doc_id)
                    segments.append(Segment(start, sentence.text or "", index, presplit=True))
                    mentions += [_bioc_mention(a, name, doc_id, (start, start + len(sentence.text or "")),
                                               "its sentence") for a in sentence.annotations]
            own = [s for s in segments if s.passage == index]
            span = (offset, max([s.end for s in own], default=offset))
            mentions += [_bioc_mention(a, name, doc_id, span, "its passage") for a in passage.annotations]
        segments.sort(key=lambda segment: segment.offset)
        for before, after in zip(segments, segments[1:]):
            if after.offset < before.end:
                raise StandoffFormatError(name, f"passages overlap: text at {after.offset} starts before the text "
                                                f"at {before.offset} ends ({before.end})", document=doc_id)
        extent = (segments[0].offset if segments else 0, segments[-1].end if segments else 0)
        mentions += [_bioc_mention(a, name, doc_id, extent, "the document's text") for a in document.annotations]
        documents.append(StandoffDocument(doc_id, segments, mentions))
    return StandoffFile(name, fmt, documents, collection)


# ----------------------------------------------------------------------------------------------- PubTator
def _pubtator_file(text: str, name: str) -> StandoffFile:
    """PubTator documents, line by line (module docstring: why not `iterparse_s`)."""
    from bioc.pubtator import PubTator, PubTatorRel, loads_ann
    from bioc.pubtator.decoder import ABSTRACT_PATTERN, TITLE_PATTERN

    natives: list = []
    first_lines: list[int] = []
    current = None
    for number, line in enumerate(text.split("\n"), start=1):
        line = line.removesuffix("\r")
        if not line.strip():
            current = None
            continue
        title, abstract = TITLE_PATTERN.fullmatch(line), ABSTRACT_PATTERN.fullmatch(line)
        if title or abstract:
            pmid, body = (title or abstract).groups()
            if current is None or current.pmid != pmid or (title and current.title is not None):
                current = PubTator(pmid, None, None)
                natives.append(current)
                first_lines.append(number)
            if title:
                current.title = body
            else:
                current.abstract = body
            continue
        fields = line.split("\t")
        document = current.pmid if current is not None else None
        if current is None:
            raise StandoffFormatError(name, "annotation line outside a document (no |t| or |a| line before it)",
                                      line=number)
        if fields[0] != current.pmid:
            raise StandoffFormatError(name, f"line of document {fields[0]!r} inside document {current.pmid!r} "
                                            "(a blank line must separate documents)", document=document, line=number)
        is_mention = len(fields) >= 3 and fields[1].lstrip("-").isdigit() and fields[2].lstrip("-").isdigit()
        if is_mention:
            if len(fields) < 6:
                raise StandoffFormatError(name, f"PubTator annotation line has {len(fields)} tab-separated fields, "
                                                "expected 6 (pmid, start, end, text, type, concept id)",
                                          document=document, line=number)
            if fields[5] == "":
                fields[5] = NO_CONCEPT_ID
            try:
                current.add_annotation(loads_ann(fields if len(fields) <= 7 else fields[:7]))
            except ValueError as error:
                raise StandoffFormatError(name, f"PubTator annotation line not readable: {error}", document=document,
                                          line=number) from None
            current.annotations[-1].line = number  # for the messages below
        elif len(fields) in (4, 5):
            current.add_relation(PubTatorRel(*fields))
        else:
            raise StandoffFormatError(name, f"line has {len(fields)} tab-separated field(s): neither a title (|t|), "
                                            "an abstract (|a|), an annotation (6 fields) nor a relation (4-5 fields)",
                                      document=document, line=number)
    if not natives:
        raise StandoffFormatError(name, "no PubTator document (pmid|t|title lines) in the file")
    documents = [_pubtator_document(native, name, line) for native, line in zip(natives, first_lines)]
    return StandoffFile(name, "pubtator", documents, natives)


def _pubtator_document(native, name: str, line: int) -> StandoffDocument:
    if native.title is None:
        native.title = ""  # an abstract without a title: an empty title still takes its 1 offset (the "\n")
    segments = [Segment(0, native.title, 0)]
    if native.abstract is not None:
        segments.append(Segment(len(native.title) + 1, native.abstract, 1))
    end = segments[-1].end
    mentions = []
    for annotation in native.annotations:
        if not 0 <= annotation.start < annotation.end <= end:
            raise StandoffFormatError(name, f"annotation {annotation.start}..{annotation.end} "
                                            f"{annotation.text!r} lies beyond the text (0..{end}) or is empty",
                                      document=native.pmid, line=annotation.line)
        mentions.append(Mention(annotation.start, annotation.end, annotation.type, annotation.text, annotation.id))
    return StandoffDocument(native.pmid, segments, mentions)


# ----------------------------------------------------------------------------------------- raw text, IOB
def document_from_text(text: str, doc_id: str) -> StandoffDocument:
    """Raw text as one document: each block between blank lines (`textsplit.blocks`) is a passage at its offset
    in `text`, without its surrounding whitespace, so offsets are those of the raw text."""
    from mtbioner.data.textsplit import blocks

    segments = []
    for start, end in blocks(text):
        piece = text[start:end]
        stripped = piece.strip()
        if stripped:
            segments.append(Segment(start + len(piece) - len(piece.lstrip()), stripped, len(segments)))
    return StandoffDocument(doc_id, segments)


def documents_from_sentences(sentences, per_document: int, prefix: str = "doc") -> list[StandoffDocument]:
    """Standoff documents from tokenised, BIO-tagged sentences (e.g. a corpus split read by `read_iob`): every
    `per_document` sentences make a document whose first sentence is the title passage and the rest the
    abstract, words joined by single spaces, mentions at the offsets of their words."""
    from mtbioner.tasks.labels import entity_spans

    documents = []
    for first in range(0, len(sentences), per_document):
        group = sentences[first:first + per_document]
        segments, mentions = [], []
        for part in ([group[0]], group[1:]):
            if not part:
                continue
            offset = segments[-1].end + 1 if segments else 0
            pieces, position = [], offset
            for sentence in part:
                starts = []
                for token in sentence.tokens:
                    starts.append(position)
                    position += len(token) + 1
                pieces.append(" ".join(sentence.tokens))
                for span in entity_spans(sentence.tags):
                    start = starts[span.start]
                    end = starts[span.end - 1] + len(sentence.tokens[span.end - 1])
                    mentions.append(Mention(start, end, span.type))
            segments.append(Segment(offset, " ".join(pieces), len(segments)))
        document = StandoffDocument(f"{prefix}{first // per_document + 1}", segments)
        document.mentions = [Mention(m.start, m.end, m.type, document.text_at(m.start, m.end)) for m in mentions]
        documents.append(document)
    return documents


# --------------------------------------------------------------------------------------------------- writing
@dataclass(frozen=True)
class SpanLabel:
    """A mention to write: type at document offsets."""

    start: int
    end: int
    type: str


@dataclass(frozen=True)
class SentenceLabel:
    """Sentence-level labels to write (e.g. bCLS/mCLS): the sentence's span and its values."""

    start: int
    end: int
    values: dict[str, Any]  # a task name -> its exported prediction (a class, a list of types)


@dataclass
class DocumentLabels:
    mentions: list[SpanLabel] = field(default_factory=list)
    sentences: list[SentenceLabel] = field(default_factory=list)


def format_standoff(source: StandoffFile, labels: list[DocumentLabels], output_format: str, *,
                    replace: bool = False, annotator: str | None = "mtbioner") -> str:
    """The text of `source` with `labels` (one per document) written in `output_format`.

    BioC (XML or JSON): a BioC input is annotated in place (its infons, passages and other annotations kept,
    or its annotations and relations removed first with `replace`); mentions go into the passage (or the
    BioC sentence) holding them, sentence labels into that sentence's infons or, for a passage that is one
    text, into the passage infon `mtbioner_sentences` (a JSON list of {offset, length, <label>...}).
    PubTator: mentions become annotation lines; PubTator has no place for sentence labels. A BioC document
    becomes title = its first passage, abstract = the other passages joined by single spaces (line breaks
    and tabs turned into spaces: same length), and every offset is moved with its passage."""
    if len(labels) != len(source.documents):
        raise ValueError("one DocumentLabels per document")
    if output_format in ("bioc", "bioc-json"):
        return _format_bioc(source, labels, output_format, replace, annotator)
    if output_format == "pubtator":
        return _format_pubtator(source, labels, replace)
    raise MtbionerError(f"unknown standoff format {output_format!r}; expected one of {', '.join(FORMATS)}")


def _bioc_collection(source: StandoffFile):
    """`source` as a BioCCollection: the native one, or one made from PubTator documents or raw text."""
    import bioc
    import bioc.biocjson
    import bioc.pubtator

    if source.native is not None and source.format in ("bioc", "bioc-json"):
        return source.native
    collection = bioc.BioCCollection()
    collection.source = "mtbioner"
    pubtator = source.native if source.format == "pubtator" and source.native is not None else None
    for index, document in enumerate(source.documents):
        native = pubtator[index] if pubtator else None
        converted = bioc.BioCDocument()
        converted.id = document.id
        for segment in document.segments:
            passage = bioc.BioCPassage.of_text(segment.text, segment.offset)
            if native is not None:
                passage.infons["type"] = "title" if segment.passage == 0 else "abstract"
            converted.add_passage(passage)
        for number, mention in enumerate(document.mentions, start=1):
            kept = bioc.BioCAnnotation()
            kept.id = f"T{number}"
            kept.infons["type"] = mention.type
            if mention.id is not None:
                kept.infons["identifier"] = mention.id
            kept.text = document.text_at(mention.start, mention.end)
            kept.add_location(bioc.BioCLocation(mention.start, mention.end - mention.start))
            (_passage_at(converted, mention.start, mention.end) or converted).add_annotation(kept)
        for number, relation in enumerate(native.relations if native is not None else [], start=1):
            kept = bioc.BioCRelation()
            kept.id = f"R{number}"
            kept.infons["type"] = relation.type
            if relation.neg is not None:
                kept.infons["neg"] = relation.neg
            kept.add_node(bioc.BioCNode(relation.id1, "arg1"))
            kept.add_node(bioc.BioCNode(relation.id2, "arg2"))
            converted.add_relation(kept)
        collection.add_document(converted)
    return collection


def _passage_at(document, start: int, end: int):
    """The passage holding the span, or None (the annotation then belongs to the document)."""
    for passage in document.passages:
        if passage.offset <= start and end <= passage.offset + len(passage.text or ""):
            return passage
    return None


def _annotation_holders(document) -> list:
    """Every BioC object of a document that holds annotations: itself, its passages, their sentences."""
    return [document, *document.passages, *(s for p in document.passages for s in p.sentences)]


def _clear_annotations(document) -> None:
    for holder in _annotation_holders(document):
        holder.clear_annotations()
        holder.clear_relations()


def _format_bioc(source: StandoffFile, labels: list[DocumentLabels], output_format: str, replace: bool,
                 annotator: str | None) -> str:
    import bioc
    import bioc.biocjson
    import bioc.pubtator

    collection = _bioc_collection(source)
    for document, native, doc_labels in zip(source.documents, collection.documents, labels):
        if replace:
            _clear_annotations(native)
        holders = _segment_holders(document, native)
        used = {a.id for holder in _annotation_holders(native) for a in holder.annotations}
        number = 0
        for span in doc_labels.mentions:
            number += 1
            while f"M{number}" in used:
                number += 1
            annotation = bioc.BioCAnnotation()
            annotation.id = f"M{number}"
            annotation.infons["type"] = span.type
            if annotator:
                annotation.infons["annotator"] = annotator
            annotation.text = document.text_at(span.start, span.end)
            annotation.add_location(bioc.BioCLocation(span.start, span.end - span.start))
            holders[_segment_index(document, span.start)].add_annotation(annotation)
        passage_sentences: dict[int, list[dict]] = {}
        for sentence in doc_labels.sentences:
            index = _segment_index(document, sentence.start)
            if document.segments[index].presplit:
                # infons hold strings: a class as its text ("1"), a set of types (tCLS) as a JSON list
                holders[index].infons.update({f"mtbioner_{key}": value if isinstance(value, str) else json.dumps(value)
                                              for key, value in sentence.values.items()})
            else:
                passage_sentences.setdefault(index, []).append(
                    {"offset": sentence.start, "length": sentence.end - sentence.start, **sentence.values})
        for index, rows in passage_sentences.items():
            holders[index].infons[SENTENCES_INFON] = json.dumps(rows)
    try:
        if output_format == "bioc":
            collection.encoding, collection.standalone = "utf-8", True  # what we write (atomically, as UTF-8)
            return bioc.biocxml.dumps(collection)
        return bioc.biocjson.dumps(collection, indent=2, ensure_ascii=False) + "\n"
    except ValueError as error:  # lxml: a character XML 1.0 cannot hold (e.g. a control character)
        raise MtbionerError(f"{source.name}: cannot be written as BioC XML: {error}") from None


def _segment_holders(document: StandoffDocument, native) -> list:
    """The BioC object each segment's annotations go into: its passage, or its BioC sentence."""
    holders = []
    for segment in document.segments:
        passage = native.passages[segment.passage]
        if segment.presplit:
            passage = next(s for s in passage.sentences if int(s.offset) == segment.offset)
        holders.append(passage)
    return holders


def _segment_index(document: StandoffDocument, offset: int) -> int:
    return bisect_right([segment.offset for segment in document.segments], offset) - 1


#: Characters a PubTator line cannot hold (line breaks, tabs: str.splitlines' separators), each replaced by a
#: space, which keeps every offset.
_LINE_BREAKING = re.compile(r"[\t\n\r\v\f\x1c\x1d\x1e\x85\u2028\u2029]")


def _pubtator_layout(document: StandoffDocument):
    """(title, abstract, map) of a document written as PubTator: title = its first passage, abstract = the
    others joined by single spaces; `map(offset)` moves a document offset to the PubTator text (None for an
    offset in no passage). Each passage's surrounding whitespace is left out (PubTator readers strip lines)."""
    passages: dict[int, list[Segment]] = {}
    for segment in document.segments:
        passages.setdefault(segment.passage, []).append(segment)
    pieces, bases = [], []  # bases: (document start, document end, PubTator start)
    position = 0
    for number, segments in enumerate(passages.values()):
        start, end = segments[0].offset, segments[-1].end
        text = "".join(" " * (s.offset - (segments[i - 1].end if i else start)) + s.text
                       for i, s in enumerate(segments))
        lead = len(text) - len(text.lstrip())
        text = _LINE_BREAKING.sub(" ", text.strip())
        if not text and number:
            continue
        if number and pieces:
            position += 1  # "\n" after the title, " " between abstract passages
        bases.append((start + lead, start + lead + len(text), position))
        pieces.append(text)
        position += len(text)

    def move(offset: int) -> int | None:
        for doc_start, doc_end, target in bases:
            if doc_start <= offset <= doc_end:
                return target + offset - doc_start
        return None

    return (pieces[0] if pieces else ""), (" ".join(pieces[1:]) if len(pieces) > 1 else None), move


def _format_pubtator(source: StandoffFile, labels: list[DocumentLabels], replace: bool) -> str:
    from bioc.pubtator import PubTator, PubTatorAnn, dumps

    natives = []
    skipped = 0
    for index, (document, doc_labels) in enumerate(zip(source.documents, labels)):
        if source.format == "pubtator" and source.native is not None:
            native = source.native[index]
            if replace:
                native.annotations, native.relations = [], []
            move = lambda offset: offset  # noqa: E731 (PubTator in, PubTator out: offsets stay)
        else:
            title, abstract, move = _pubtator_layout(document)
            native = PubTator(document.id, title, abstract)
            for mention in [] if replace else document.mentions:
                start, end = move(mention.start), move(mention.end)
                if mention.pieces > 1 or start is None or end is None or end <= start:
                    skipped += 1  # discontinuous, or across passages: no PubTator line can hold it
                    continue
                native.add_annotation(PubTatorAnn(document.id, start, end, _pubtator_text(native, start, end),
                                                  mention.type, mention.id or NO_CONCEPT_ID))
        for span in doc_labels.mentions:
            start, end = move(span.start), move(span.end)
            native.add_annotation(PubTatorAnn(document.id, start, end, _pubtator_text(native, start, end), span.type,
                                              NO_CONCEPT_ID))
        natives.append(native)
    if skipped:
        import sys

        print(f"{source.name}: {skipped} existing annotation(s) left out of the PubTator output (discontinuous, or "
              "across passages)", file=sys.stderr)
    return dumps(natives)


def _pubtator_text(native, start: int, end: int) -> str:
    return _LINE_BREAKING.sub(" ", native.text[start:end])
