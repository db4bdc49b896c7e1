"""Sentence splitting and corpus-style tokenisation of raw text (mtbioner.data.textsplit)."""

from __future__ import annotations

import pytest

from conftest import CORPUS_MIRROR
from mtbioner.data.iob import read_iob
from mtbioner.data.textsplit import split_sentences, tokenize


def words(text: str) -> list[str]:
    return [token.text for token in tokenize(text)]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # hyphens, slashes, parentheses and decimal points are words of their own, as in the corpus files
        ("TGF-beta1", ["TGF", "-", "beta1"]),
        ("the 2.2-kb class", ["the", "2", ".", "2", "-", "kb", "class"]),
        ("(IL-2)/IL-2R", ["(", "IL", "-", "2", ")", "/", "IL", "-", "2R"]),
        ("90% of 10, and 5'-UTR", ["90", "%", "of", "10", ",", "and", "5", "'", "-", "UTR"]),
        ("PI3K_68D cDNA", ["PI3K", "_", "68D", "cDNA"]),
        ("+/- 3.5 mg/kg", ["+", "/", "-", "3", ".", "5", "mg", "/", "kg"]),
        # any script: letters and digits run together, other symbols stand alone, accents stay attached
        ("TGF-β1 at 37°C in Zürich", ["TGF", "-", "β1", "at", "37", "°", "C", "in", "Zürich"]),
        ("cafe\u0301 e\u0301te\u0301", ["cafe\u0301", "e\u0301te\u0301"]),
        ("", []),
        ("  \n\t ", []),
    ],
)
def test_tokenize_like_the_corpus(text: str, expected: list[str]) -> None:
    assert words(text) == expected


def test_offsets_slice_back_to_every_word() -> None:
    text = "  Lithium-induced polyuria (LiP)\twas treated with 0.5 mg/kg\nindomethacin.  "
    tokens = tokenize(text)
    assert tokens and all(text[t.start:t.end] == t.text for t in tokens)
    # only whitespace lies between consecutive words: nothing else of the text is dropped
    covered = "".join(text[a.end:b.start] for a, b in zip(tokens, tokens[1:]))
    assert covered.strip() == ""


def test_offset_shift() -> None:
    assert [(t.start, t.end) for t in tokenize("a-b", offset=10)] == [(10, 11), (11, 12), (12, 13)]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Clonidine lowers pressure. Naloxone reverses it.",
         ["Clonidine lowers pressure.", "Naloxone reverses it."]),
        # abbreviations, dotted acronyms, decimals and lower-case continuations do not end a sentence
        ("As shown in Fig. 3, the U.S. FDA (e.g. Smith et al. 2001) used 2.5 mg. Then it stopped.",
         ["As shown in Fig. 3, the U.S. FDA (e.g. Smith et al. 2001) used 2.5 mg.", "Then it stopped."]),
        ("Dose was approx. 5 mg vs. 10 mg. p53 mutants were seen. cDNA was cloned.",
         ["Dose was approx. 5 mg vs. 10 mg. p53 mutants were seen. cDNA was cloned."]),
        # closing brackets/quotes after the period stay with the sentence; ! and ? end sentences
        ('It was "positive." (See above.) Was it? Yes!', ['It was "positive."', "(See above.)", "Was it?", "Yes!"]),
        # a blank line always ends a sentence (titles); a single line break does not
        ("A title without period\n\nThe abstract starts\nand goes on. 5 patients died.",
         ["A title without period", "The abstract starts\nand goes on.", "5 patients died."]),
        ("No terminal punctuation at all", ["No terminal punctuation at all"]),
        ("...", ["..."]),
        ("", []),
    ],
)
def test_split_sentences(text: str, expected: list[str]) -> None:
    sentences = split_sentences(text)
    assert [text[s.start:s.end] for s in sentences] == expected
    for sentence in sentences:
        assert sentence.words == words(text[sentence.start:sentence.end])
        assert all(text[t.start:t.end] == t.text for t in sentence.tokens)


def test_long_text_without_sentence_end_keeps_every_word() -> None:
    text = " ".join(f"w{index}-x" for index in range(2000))
    (sentence,) = split_sentences(text)
    assert len(sentence.tokens) == 6000


def _detokenize(tokens: tuple[str, ...]) -> str:
    """Plausible raw text for a corpus sentence: no space before closing punctuation, none around hyphens and
    slashes, none after an opening bracket, decimals written together."""
    out = ""
    for index, token in enumerate(tokens):
        previous = tokens[index - 1] if index else ""
        glued = (token in ".,;:)]%-/" or previous in ("(", "[", "-", "/")
                 or (previous == "." and token[:1].isdigit()))
        out += token if (not index or glued) else " " + token
    return out


@pytest.mark.parametrize("dataset", ["NCBI-disease", "BC5CDR-chem"])
def test_corpus_sentences_round_trip(dataset: str) -> None:
    """On consecutive test sentences of the corpus written as raw text, the tokenizer gives back exactly the
    corpus words and the splitter finds the corpus sentence boundary (measured: 96.8 % of 10,772 pairs of
    NCBI-disease, BC5CDR-chem and BC2GM test; most misses are titles without a period or corpus sentences
    that themselves hold two sentences)."""
    path = CORPUS_MIRROR / f"{dataset}-IOB" / "test.tsv"
    if not path.is_file():
        pytest.skip(f"corpus mirror not available at {path}")
    sentences = [sentence.tokens for sentence in read_iob(path)[:600]]
    exact = 0
    for first, second in zip(sentences, sentences[1:]):
        text = _detokenize(first) + " " + _detokenize(second)
        found = [sentence.words for sentence in split_sentences(text)]
        assert [word for sentence in found for word in sentence] == list(first + second)
        exact += found == [list(first), list(second)]
    assert exact / (len(sentences) - 1) >= 0.93
