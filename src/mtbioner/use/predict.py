"""`mtbioner predict`: tag new text with a trained model and write IOB TSV, JSON lines, BioC or PubTator.

Input is raw text (split into sentences and corpus-style words by `mtbioner.data.textsplit`, keeping
character offsets), pre-tokenised text in the corpus layout (one token per line, the token in the first
tab-separated column, any further columns ignored, a blank line between sentences), or a BioC (XML/JSON) or
PubTator file, whose passages are cut into sentences and words exactly as an own corpus in those formats is
for training (`mtbioner.data.align.document_sentences`). `auto` (the default) tells BioC and PubTator apart by
content, anything else is raw text. The model is a run directory, its `model/` directory, or a directory
written by `mtbioner export`.

Prediction itself is `mtbioner.model.inference.predict` (length-sorted batches, input order kept, long sentences
windowed so every word gets a tag); this module only reads, formats and writes. Character offsets are
indices into the decoded input text as given (a leading UTF-8 byte-order mark removed, line endings not
translated), so ``text[start:end]`` is the entity's surface text; for BioC/PubTator they are the document's
offsets. BioC/PubTator output (`mtbioner.data.standoff.format_standoff`) annotates a BioC input in place (its
infons and annotations kept) and adds one annotation per predicted mention (type, offset, length, text;
infon annotator=mtbioner); bCLS/mCLS go into passage infons (`mtbioner_sentences`) or, for a file's own
<sentence>s, into sentence infons. Raw text becomes one document (id: the file's stem) whose passages are its
blocks between blank lines; as PubTator, its first block is the title.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Literal

from mtbioner.errors import MtbionerError
from mtbioner.params import param_choices
from mtbioner.run.directory import model_directory
from mtbioner.data.iob import parse_iob_text
from mtbioner.data.align import document_sentences, mentions_from_tags
from mtbioner.tasks.labels import entity_spans
from mtbioner.data.standoff import (FORMATS, DocumentLabels, SentenceLabel, SpanLabel, StandoffFile, detect_format,
                                    document_from_text, format_standoff, parse_standoff)
from mtbioner.data.textsplit import split_sentences
from mtbioner.tasks import NER, REGISTRY

#: What a JSON-lines record holds besides NER: the other word-level tasks' tags (when predicted), then every
#: sentence-level task (null when the model has none), in canonical order.
WORD_AUX_TASKS = tuple(task for task in REGISTRY if task.level == "word" and task.name != NER)
SENTENCE_TASKS = tuple(task for task in REGISTRY if task.level == "sentence")

OutputFormat = Literal["iob", "jsonl", "bioc", "bioc-json", "pubtator"]
InputFormat = Literal["auto", "text", "iob", "bioc", "bioc-json", "pubtator"]
OUTPUT_FORMATS: tuple[str, ...] = ("iob", "jsonl", *FORMATS)
INPUT_FORMATS: tuple[str, ...] = ("auto", "text", "iob", *FORMATS)
#: Prediction's precisions: the training values but fp16, which exists for loss scaling in training (CUDA
#: only) and brings nothing to inference that bf16 does not.
PREDICT_PRECISIONS: tuple[str, ...] = tuple(p for p in param_choices("train", "precision") if p != "fp16")
Precision = Literal[PREDICT_PRECISIONS]
#: Sentences per forward pass. On CPU, 16-32 was fastest for MiniLM (larger batches fall out of the caches);
#: on a GPU larger batches pay, so the CLI lets users raise it.
DEFAULT_BATCH_SIZE = 32
STDIN = "-"
_BOM = "\ufeff"


@dataclass(frozen=True)
class InputSentence:
    """One sentence to tag. Raw-text input fills `offsets` (per word) and `span`; IOB input fills `line`; a
    sentence of a BioC/PubTator document also names the `document` and its text (`source`, which the offsets
    index)."""

    words: tuple[str, ...]
    offsets: tuple[tuple[int, int], ...] | None = None
    span: tuple[int, int] | None = None
    line: int | None = None
    document: str | None = None
    source: str | None = None
    document_index: int | None = None


def source_name(source: str | Path) -> str:
    return "<stdin>" if str(source) == STDIN else str(source)


def decode_input(raw: bytes, name: str) -> str:
    """UTF-8 text of `raw`; anything else is one error naming the input, the line and the byte offset."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        line = raw[: error.start].count(b"\n") + 1
        column = error.start - (raw.rfind(b"\n", 0, error.start) + 1) + 1
        raise MtbionerError(f"{name}:{line}: not valid UTF-8 (byte 0x{raw[error.start]:02x} at byte offset "
                            f"{error.start}, column {column}); convert the file to UTF-8") from None
    return text[1:] if text.startswith(_BOM) else text


def read_source(source: str | Path) -> str:
    """The decoded text of a file, or of standard input for ``-``."""
    name = source_name(source)
    if str(source) == STDIN:
        raw = sys.stdin.buffer.read()
    else:
        try:
            raw = Path(source).read_bytes()
        except FileNotFoundError:
            raise MtbionerError(f"{name}: input file not found") from None
        except IsADirectoryError:
            raise MtbionerError(f"{name}: is a directory, expected a text or IOB file") from None
        except PermissionError:
            raise MtbionerError(f"{name}: permission denied") from None
    return decode_input(raw, name)


def sentences_from_text(text: str) -> list[InputSentence]:
    """Raw text -> sentences of corpus-style words with character offsets into `text`."""
    return [InputSentence(words=tuple(token.text for token in sentence.tokens),
                          offsets=tuple((token.start, token.end) for token in sentence.tokens),
                          span=(sentence.start, sentence.end))
            for sentence in split_sentences(text)]


def sentences_from_iob(text: str, name: str = "<text>") -> list[InputSentence]:
    """Token-per-line input, read by the corpus reader in its lenient mode (`mtbioner.data.iob`): the word is the
    first tab-separated column (the first space-separated one in a line without tabs); further columns such as
    gold tags or earlier predictions are ignored, CRLF is accepted, a line with an empty first column is an
    error naming the line."""
    return [InputSentence(sentence.tokens, line=sentence.line) for sentence in parse_iob_text(text, name, lenient=True)]


def sentences_from_documents(source: StandoffFile) -> list[InputSentence]:
    """The sentences of BioC/PubTator documents (or of raw text as one document), as the corpus import cuts them
    (`mtbioner.data.align.document_sentences`), with offsets into each document's text."""
    sentences = []
    for index, document in enumerate(source.documents):
        for _, sentence in document_sentences(document):
            sentences.append(InputSentence(words=tuple(token.text for token in sentence.tokens),
                                           offsets=tuple((token.start, token.end) for token in sentence.tokens),
                                           span=(sentence.start, sentence.end), document=document.id,
                                           source=document.text, document_index=index))
    return sentences


def input_format_of(text: str, input_format: InputFormat) -> str:
    """The input's format: `auto` finds BioC XML, BioC JSON or PubTator by content, else raw text."""
    if input_format == "auto":
        return detect_format(text[:4096].encode("utf-8")) or "text"
    if input_format not in INPUT_FORMATS:
        raise MtbionerError(f"unknown input format {input_format!r}; expected one of {', '.join(INPUT_FORMATS)}")
    return input_format


def read_prediction_input(source: str | Path, input_format: InputFormat = "text",
                          documents: bool = False) -> tuple[str, list[InputSentence], StandoffFile | None]:
    """Decoded input text, its sentences and, for BioC/PubTator input (or raw text when `documents`: a standoff
    output needs documents), the documents the output annotates."""
    text = read_source(source)
    fmt = input_format_of(text, input_format)
    name = source_name(source)
    if fmt in FORMATS:
        standoff = parse_standoff(text.encode("utf-8"), name, fmt)
        return text, sentences_from_documents(standoff), standoff
    if fmt == "text" and documents:
        doc_id = "stdin" if str(source) == STDIN else Path(source).stem
        standoff = StandoffFile(name, "text", [document_from_text(text, doc_id)])
        return text, sentences_from_documents(standoff), standoff
    if fmt == "text":
        return text, sentences_from_text(text), None
    if documents:
        raise MtbionerError(f"{name}: token-per-line input has no character offsets; BioC or PubTator output needs "
                            "raw text, BioC or PubTator input")
    return text, sentences_from_iob(text, name), None


def document_labels(source: StandoffFile, sentences: Sequence[InputSentence], predictions: Sequence) -> list[DocumentLabels]:
    """Per document: the predicted mentions (type and document offsets) and each sentence's sentence-level
    predictions (bCLS, mCLS, ...: the model's)."""
    labels = [DocumentLabels() for _ in source.documents]
    for sentence, prediction in zip(sentences, predictions, strict=True):
        target = labels[sentence.document_index]
        if prediction.ner is not None:
            target.mentions += [SpanLabel(*span) for span in mentions_from_tags(sentence.offsets, prediction.ner)]
        values = {task.name: task.export(prediction.get(task.name)) for task in SENTENCE_TASKS
                  if prediction.get(task.name) is not None}
        if values:
            target.sentences.append(SentenceLabel(sentence.span[0], sentence.span[1], values))
    return labels


def load_model(path: str | Path):
    """`(MultiTaskModel, tokenizer)` from a run dir, its `model/` dir, or an `mtbioner export` directory."""
    from mtbioner.use.export import is_exported_model, load_exported
    from mtbioner.model.inference import load_trained

    if not Path(path).is_dir():
        raise MtbionerError(f"{path}: model directory not found")
    if is_exported_model(path):
        return load_exported(path)
    return load_trained(model_directory(path))


def sentence_record(number: int, sentence: InputSentence, prediction, text: str | None) -> dict:
    """The JSON-lines object of one sentence: words, tags, entity spans, sentence-level predictions."""
    tags = list(prediction.ner) if prediction.ner is not None else None
    record: dict = {"sentence": number}
    if sentence.document is not None:  # BioC/PubTator input: offsets index that document's text
        record["document"], text = sentence.document, sentence.source
    if sentence.span is not None and text is not None:
        record["text"] = text[sentence.span[0]:sentence.span[1]]
        record["start"], record["end"] = sentence.span
    elif sentence.line is not None:
        record["line"] = sentence.line
    record["tokens"] = list(sentence.words)
    if sentence.offsets is not None:
        record["offsets"] = [list(pair) for pair in sentence.offsets]
    record[NER] = tags
    for task in WORD_AUX_TASKS:  # the model's other word-level predictions (mtCLS)
        if prediction.get(task.name) is not None:
            record[task.name] = list(prediction.get(task.name))
    entities = []
    for span in entity_spans(tags or []):
        # token_end and end are exclusive, as in Python slices
        if sentence.offsets is not None and text is not None:
            start, end = sentence.offsets[span.start][0], sentence.offsets[span.end - 1][1]
            entity: dict = {"text": text[start:end], "type": span.type, "start": start, "end": end}
        else:
            entity = {"text": " ".join(sentence.words[span.start:span.end]), "type": span.type}
        entity.update(token_start=span.start, token_end=span.end)
        entities.append(entity)
    record["entities"] = entities
    # every sentence-level task, null where the model has no head for it (mCLS class 3 = "3 or more entities")
    for task in SENTENCE_TASKS:
        record[task.name] = task.export(prediction.get(task.name))
    return record


def format_lines(sentences: Sequence[InputSentence], predictions: Sequence, output_format: OutputFormat,
                 text: str | None = None) -> Iterator[str]:
    """Output lines: IOB `word<TAB>tag` with a blank line after each sentence, or one JSON object per line."""
    for number, (sentence, prediction) in enumerate(zip(sentences, predictions, strict=True), start=1):
        if output_format == "jsonl":
            yield json.dumps(sentence_record(number, sentence, prediction, text), ensure_ascii=False) + "\n"
        elif output_format == "iob":
            if prediction.ner is None:
                raise MtbionerError("the model has no NER head; IOB output needs NER tags (use --format jsonl)")
            for word, tag in zip(sentence.words, prediction.ner, strict=True):
                yield f"{word}\t{tag}\n"
            yield "\n"
        else:
            raise MtbionerError(f"unknown output format {output_format!r}; expected one of "
                                f"{', '.join(OUTPUT_FORMATS)}")


def predict_sentences(model, tokenizer, sentences: Sequence[InputSentence], batch_size: int = DEFAULT_BATCH_SIZE,
                      progress: bool = False, precision: Precision = "auto", device: str | None = None) -> list:
    """`SentencePrediction`s (input order) for `sentences`; no work at all for an empty list.

    `device` None keeps the model where it is; `precision` "auto" is fp32 on CPU and bf16 (where supported) on
    CUDA, "fp32" is exact everywhere, "bf16" is also used on CPU.
    """
    from mtbioner.model.inference import predict

    if not sentences:
        return []
    return predict(model, tokenizer, [list(sentence.words) for sentence in sentences], batch_size=batch_size,
                   device=device, progress=progress, precision=precision)


def write_output(lines: Iterator[str], output: str | Path | None, stdout: IO[str] | None = None) -> None:
    """Write to `output` atomically (readers never see half a file), or stream to stdout."""
    from mtbioner.atomicio import atomic_write

    if output is None or str(output) == STDIN:
        stream = stdout or sys.stdout
        for line in lines:
            stream.write(line)
        stream.flush()
        return
    with atomic_write(output) as handle:
        for line in lines:
            handle.write(line)


def run_predict(model_path: str | Path, source: str | Path, output: str | Path | None = None,
                output_format: OutputFormat = "iob", input_format: InputFormat = "auto",
                batch_size: int = DEFAULT_BATCH_SIZE, progress: bool = True, precision: Precision = "auto",
                device: str | None = "auto", stats: str | Path | None = None) -> int:
    """Everything `mtbioner predict` does; returns the number of sentences tagged.

    `device` "auto" uses CUDA when available, else the CPU. `stats` names a JSON file for the input's figures
    (documents, sentences, mentions per type, seconds: `mtbioner.use.tagstats`), written after the output.
    """
    import time

    from mtbioner.model.precision import resolve_device

    if precision not in PREDICT_PRECISIONS:
        raise MtbionerError(f"unknown precision {precision!r}; expected {', '.join(PREDICT_PRECISIONS)}")
    if batch_size < 1:
        raise MtbionerError(f"--batch-size must be at least 1, got {batch_size}")
    if output_format not in OUTPUT_FORMATS:
        raise MtbionerError(f"unknown output format {output_format!r}; expected one of {', '.join(OUTPUT_FORMATS)}")
    model, tokenizer = load_model(model_path)  # first, so a wrong --model fails before reading stdin
    started = time.perf_counter()
    text, sentences, documents = read_prediction_input(source, input_format, documents=output_format in FORMATS)
    if not sentences:
        print(f"{source_name(source)}: no words in the input; nothing to tag", file=sys.stderr)
    predictions = predict_sentences(model, tokenizer, sentences, batch_size=batch_size, progress=progress,
                                    precision=precision, device=str(resolve_device(device)))
    raw_text = text if input_format_of(text, input_format) == "text" else None
    # Formatting is done before anything is written, so an output-format error leaves no partial file.
    if output_format in FORMATS:
        lines = [format_standoff(documents, document_labels(documents, sentences, predictions), output_format)]
    else:
        lines = list(format_lines(sentences, predictions, output_format, raw_text))
    write_output(iter(lines), output)
    if stats is not None:
        from mtbioner.atomicio import write_json
        from mtbioner.use.tagstats import file_stats

        count = len(documents.documents) if documents is not None else 1
        write_json(stats, file_stats(source_name(source), count, predictions, time.perf_counter() - started))
    return len(sentences)
