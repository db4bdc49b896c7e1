"""Raw text -> sentences -> words, the way the MTL-Bioinformatics-2016 files are tokenised, with offsets.

A model trained on the corpus should see new text cut into the same kind of words it was trained on. The
corpus files (all 31 datasets) contain only two kinds of tokens: runs of letters and digits (``beta1``,
``IL``, ``3G4B2``) and single punctuation characters (``-``, ``(``, ``/``, ``.``, ``%``, ``'``, ``_``), so
``TGF-beta1`` is ``TGF - beta1``, ``2.2-kb`` is ``2 . 2 - kb`` and ``(IL-2)`` is ``( IL - 2 )``. (The only
exceptions are a few hundred multi-character symbols such as ``+/-`` in CRAFT and linnaeus.) The tokenizer
below reproduces exactly that rule, extended to Unicode: a word is a maximal run of Unicode letters and
digits (combining accents stay attached), every other non-space character is a word of its own. Greek
letters and accents are kept as written (the corpus spells them out, ``alpha``); the sub-word tokenizer of
the encoder handles either.

Sentences are split with a small rule set (no model, no download), tuned on biomedical abstracts:

* a blank line always ends a sentence (titles, paragraphs); single line breaks are ordinary spaces;
* otherwise a sentence ends after ``.``, ``!`` or ``?`` (optionally followed by closing quotes or
  brackets) when whitespace follows and the next word does not start with a lower-case letter;
* a period after a known abbreviation (``e.g.``, ``i.e.``, ``et al.``, ``Fig.``, ``vs.``, ``approx.``, ...)
  or after a dotted acronym (``U.S.``) does not end a sentence.

Measured on 10,772 pairs of consecutive test sentences of NCBI-disease, BC5CDR-chem and BC2GM written back as
raw text: the words come back exactly as in the corpus in 100 % of pairs, and the pair is split exactly at the
corpus boundary in 96.8 % (misses: titles without a period, corpus "sentences" that hold two sentences).

Every offset is a pair ``(start, end)`` of indices into the text given, so ``text[start:end]`` is the word;
nothing of the text except whitespace is ever dropped.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

#: A word: letters/digits (any script) with attached combining marks; or any single other visible char.
_WORD = re.compile(r"(?:[^\W_]|[\u0300-\u036f])+|\S")

#: Blank line (possibly containing spaces): a hard sentence and paragraph boundary.
_BLANK_LINE = re.compile(r"\n[ \t\r\f\v]*\n\s*")

#: Words after which a period is not a sentence end (compared lower-cased, without the period).
ABBREVIATIONS: frozenset[str] = frozenset(
    """
    al approx ca cf ch chap co corp dept dr e.g eq eqs esp fig figs i.e inc jr ltd mr mrs ms
    no nos nr p pp prof ref refs resp sp sr st subsp suppl tab var viz vol vs
    jan feb mar apr jun jul aug sep sept oct nov dec
    """.split()
)
_DOTTED_ACRONYM = re.compile(r"(?:[A-Za-z]\.)+[A-Za-z]$")


@dataclass(frozen=True)
class Token:
    """One word of the input and where it is: ``text[start:end] == token.text``."""

    text: str
    start: int
    end: int


@dataclass(frozen=True)
class TextSentence:
    """A sentence of the input: its words and its character span in the input text."""

    tokens: tuple[Token, ...]
    start: int
    end: int

    @property
    def words(self) -> list[str]:
        return [token.text for token in self.tokens]


def tokenize(text: str, offset: int = 0) -> list[Token]:
    """Split ``text`` into corpus-style words; offsets are shifted by ``offset``."""
    return [Token(m.group(), m.start() + offset, m.end() + offset) for m in _WORD.finditer(text)]


_CLOSERS = "\"')]\u2019\u201d"
_OPENERS = "\"'([\u2018\u201c"
#: Candidate sentence end: terminal punctuation, optional closers, then whitespace.
_SENTENCE_END = re.compile(rf"[.!?][{re.escape(_CLOSERS)}]*(?=\s)")
_NEXT_CHAR = re.compile(r"\s*(\S)")
#: Abbreviations are short; looking this far back for the word before a period is enough.
_LOOKBACK = 40


def _ends_sentence(text: str, begin: int, end: int, block_end: int) -> bool:
    """Whether the candidate sentence end ``text[begin:end]`` (punctuation + closers) is a real one."""
    following = _NEXT_CHAR.match(text, end, block_end)
    if following and following.group(1).islower():
        return False
    if text[begin] != ".":
        return True  # '!' or '?'
    # The word carrying the period, without it (slicing a bounded window keeps this O(1) per candidate).
    window = text[max(0, begin - _LOOKBACK) : begin]
    word = re.split(r"\s", window)[-1].lstrip(_OPENERS)
    if word.lower() in ABBREVIATIONS or _DOTTED_ACRONYM.match(word):
        return False
    return True


def _split_block(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """Sentence spans inside ``text[start:end]``, a block without blank lines."""
    spans = []
    begin = start
    for match in _SENTENCE_END.finditer(text, start, end):
        if _ends_sentence(text, match.start(), match.end(), end):
            spans.append((begin, match.end()))
            begin = match.end()
    spans.append((begin, end))
    return spans


def blocks(text: str) -> list[tuple[int, int]]:
    """Spans ``(start, end)`` of the blocks of ``text`` between blank lines (paragraphs; a title); a sentence
    never crosses one. They may begin or end with whitespace and may hold no word."""
    spans = []
    block_start = 0
    for blank in _BLANK_LINE.finditer(text):
        spans.append((block_start, blank.start()))
        block_start = blank.end()
    spans.append((block_start, len(text)))
    return spans


def split_sentences(text: str, offset: int = 0) -> list[TextSentence]:
    """Split raw text into sentences of corpus-style words; sentences without words are dropped. Offsets are
    shifted by ``offset`` (a BioC passage's text starts at its offset in the document)."""
    sentences: list[TextSentence] = []
    for block in blocks(text):
        for start, end in _split_block(text, *block):
            tokens = tuple(tokenize(text[start:end], offset=start + offset))
            if tokens:
                sentences.append(TextSentence(tokens, tokens[0].start, tokens[-1].end))
    return sentences
