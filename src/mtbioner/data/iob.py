"""The one reader (and the writer) of the token-per-line TSV format: `token<TAB>tag` per line, a blank line
between sentences. Corpus files, a run's `test_predictions.tsv` (token, gold, predicted: `columns=3`) and
`mtbioner predict`'s pre-tokenised input (`lenient=True`) are all read here.

The strict reader keeps every word and refuses anything it cannot read unambiguously, with one error naming
the file and the 1-based line: a silently mangled corpus (tabs turned into spaces, CRLF, an HTML error page
saved as TSV, collapsed types) is the classic way a BioNER run gets F1 = 0 or a wrong F1 without any warning.

The lenient mode reads only the token column, so that any token-per-line file can be tagged, a run's
`test_predictions.tsv` included: further columns are ignored, CRLF line ends and whitespace-only sentence
breaks are accepted, a line without a tab gives its first space-separated word (as in CoNLL files), and an
input without words gives no sentences. A line whose first column is empty is still an error naming the line:
dropping it would shift every tag after it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Sequence

from mtbioner.atomicio import atomic_write
from mtbioner.errors import CorpusFormatError

#: IOB2 tags: `O`, or `B-`/`I-` and an entity type (letters, digits, `_`, `-`, `.`, `/`).
TAG_PATTERN = re.compile(r"O|[BI]-[A-Za-z0-9_./-]+")
_HTML_START = re.compile(r"\s*<(!doctype|html|head|body|\?xml)", re.IGNORECASE)


@dataclass(frozen=True)
class Sentence:
    """One sentence of a corpus file; `line` is the 1-based line of its first word (for messages)."""

    tokens: tuple[str, ...]
    tags: tuple[str, ...]  # the second column; empty in lenient mode (tokens only)
    line: int
    #: Tag columns after the second (e.g. the predicted tags of test_predictions.tsv), one tuple per column.
    more_tags: tuple[tuple[str, ...], ...] = ()


def _decode(path: Path, raw: bytes, lenient: bool = False) -> str:
    if lenient:
        raw = raw.removeprefix(b"\xef\xbb\xbf")
    elif not raw:
        raise CorpusFormatError(path, None, "file is empty (expected token<TAB>tag lines)")
    elif raw.startswith(b"\xef\xbb\xbf"):
        raise CorpusFormatError(path, 1, "file starts with a UTF-8 byte-order mark (BOM); save it without BOM")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as error:
        line = raw[: error.start].count(b"\n") + 1
        raise CorpusFormatError(path, line, f"not valid UTF-8 (byte 0x{raw[error.start]:02x})") from None


def _strict_fields(line: str, path: str | Path, number: int, columns: int) -> list[str]:
    """The `columns` fields of one line: a token, then IOB2 tags."""
    fields = line.split("\t")
    if len(fields) == 1:
        hint = " (columns separated by spaces?)" if " " in line.strip() else ""
        raise CorpusFormatError(path, number, f"missing tab between token and tag{hint}: {line[:60]!r}")
    if len(fields) != columns:
        raise CorpusFormatError(path, number, f"expected {columns} tab-separated columns, found {len(fields)}: "
                                f"{line[:60]!r}")
    token = fields[0]
    if token == "":
        raise CorpusFormatError(path, number, "empty token before the tab")
    if token != token.strip():
        raise CorpusFormatError(path, number, f"token has leading or trailing whitespace: {token!r}")
    for tag in fields[1:]:
        if not TAG_PATTERN.fullmatch(tag):
            raise CorpusFormatError(path, number, f"unknown tag {tag!r} (expected O, B-<type> or I-<type>)")
    return fields


def _lenient_fields(line: str, path: str | Path, number: int) -> list[str]:
    """The token of one line: its first tab-separated column, or first space-separated word without a tab."""
    token = line.split("\t", 1)[0].strip() if "\t" in line else line.split()[0]
    if not token:
        raise CorpusFormatError(path, number, "empty token in the first column (expected token[<TAB>tag])")
    return [token]


def _sentence(rows: list[list[str]], line: int) -> Sentence:
    tokens, *tags = (tuple(column) for column in zip(*rows))
    return Sentence(tokens, tags[0] if tags else (), line, tuple(tags[1:]))


def parse_iob_text(text: str, path: str | Path = "<text>", *, columns: int = 2,
                   lenient: bool = False) -> list[Sentence]:
    """Parse token-per-line text. Strict (default): every line holds exactly `columns` tab-separated fields,
    a token and IOB2 tags, and the first problem raises `CorpusFormatError` naming `path:line`. Lenient: only
    the tokens are read (module docstring)."""
    if not lenient and _HTML_START.match(text):
        raise CorpusFormatError(path, 1, "looks like an HTML page, not token<TAB>tag lines (a failed download?)")
    sentences: list[Sentence] = []
    rows: list[list[str]] = []
    first_line = 0
    for number, line in enumerate(text.split("\n"), start=1):
        if line.endswith("\r"):
            if not lenient:
                raise CorpusFormatError(path, number, "Windows line ending (CRLF); convert the file to LF line endings")
            line = line.rstrip("\r")
        if line.strip() == "":
            if line and not lenient:
                raise CorpusFormatError(path, number,
                                        "line holds only whitespace; a sentence break must be an empty line")
            if rows:
                sentences.append(_sentence(rows, first_line))
                rows = []
            continue
        if not rows:
            first_line = number
        rows.append(_lenient_fields(line, path, number) if lenient else _strict_fields(line, path, number, columns))
    if rows:  # a last sentence without the closing blank line is still a sentence
        sentences.append(_sentence(rows, first_line))
    if not sentences and not lenient:
        raise CorpusFormatError(path, None, "file holds no sentences (only blank lines)")
    return sentences


def read_iob(path: str | Path, *, columns: int = 2, lenient: bool = False) -> list[Sentence]:
    """Read a token-per-line file (`parse_iob_text`); raises `CorpusFormatError` naming `path:line` on the first
    problem. Lenient mode also drops a leading byte-order mark."""
    source = Path(path)
    try:
        raw = source.read_bytes()
    except FileNotFoundError:
        raise CorpusFormatError(source, None, "file not found") from None
    except IsADirectoryError:
        raise CorpusFormatError(source, None, "is a directory, expected a token<TAB>tag file") from None
    return parse_iob_text(_decode(source, raw, lenient), source, columns=columns, lenient=lenient)


def format_iob(rows: Iterable[Sequence[Sequence[str]]]) -> str:
    """Render sentences given as column lists (e.g. tokens, gold, predicted) as TSV, blank line after each."""
    parts = []
    for columns in rows:
        parts.extend("\t".join(cells) + "\n" for cells in zip(*columns, strict=True))
        parts.append("\n")
    return "".join(parts)


def write_iob(path: str | Path, rows: Iterable[Sequence[Sequence[str]]]) -> None:
    with atomic_write(path) as handle:
        handle.write(format_iob(rows))
