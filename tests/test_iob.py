"""The strict corpus reader: every bad-input kind gives one clear error naming file and line."""

import subprocess
import sys

import pytest

from mtbioner.errors import CorpusFormatError
from mtbioner.data.iob import read_iob, write_iob

GOOD = "IL-2\tB-GENE\ngene\tI-GENE\n.\tO\n\nNo\tO\nentity\tO\n\n"

BAD_INPUTS = {
    # kind: (bytes, expected line, words in the message)
    "missing tab": (b"IL-2\tB-GENE\ngene I-GENE\n\n", 2, "missing tab"),
    "unknown tag": (b"IL-2\tB-GENE\ngene\tGENE\n\n", 2, "unknown tag"),
    "garbled tag": (b"IL-2\tB_GENE\n\n", 1, "unknown tag"),
    "lowercase tag": (b"IL-2\tb-GENE\n\n", 1, "unknown tag"),
    "empty token": (b"IL-2\tB-GENE\n\tO\n\n", 2, "empty token"),
    "stray whitespace line": (b"IL-2\tB-GENE\n \n\nx\tO\n", 2, "only whitespace"),
    "CRLF": (b"IL-2\tB-GENE\r\ngene\tO\r\n\r\n", 1, "CRLF"),
    "BOM": (b"\xef\xbb\xbfIL-2\tB-GENE\n\n", 1, "byte-order mark"),
    "empty file": (b"", None, "empty"),
    "only blank lines": (b"\n\n\n", None, "no sentences"),
    "HTML page": (b"<!DOCTYPE html>\n<html><body>404: Not Found</body></html>\n", 1, "HTML page"),
    "trailing garbage column": (b"IL-2\tB-GENE\tjunk\n\n", 1, "3"),
    "token with trailing space": (b"IL-2 \tB-GENE\n\n", 1, "whitespace"),
    "not UTF-8": (b"IL-2\tB-GENE\n\xff\xfe\tO\n\n", 2, "UTF-8"),
    "tag with trailing space": (b"IL-2\tB-GENE \n\n", 1, "unknown tag"),
}


def test_reads_sentences_and_keeps_every_word(tmp_path):
    path = tmp_path / "ok.tsv"
    path.write_text(GOOD + "last\tO\nsentence\tB-GENE")  # no final newline: still kept
    sentences = read_iob(path)
    assert [s.tokens for s in sentences] == [("IL-2", "gene", "."), ("No", "entity"), ("last", "sentence")]
    assert sentences[0].tags == ("B-GENE", "I-GENE", "O")
    assert [s.line for s in sentences] == [1, 5, 8]


@pytest.mark.parametrize("kind", sorted(BAD_INPUTS))
def test_bad_input_names_file_and_line(tmp_path, kind):
    data, line, words = BAD_INPUTS[kind]
    path = tmp_path / "bad.tsv"
    path.write_bytes(data)
    with pytest.raises(CorpusFormatError) as caught:
        read_iob(path)
    message = str(caught.value)
    expected_where = f"{path}:{line}:" if line else f"{path}:"
    assert message.startswith(expected_where)
    assert words in message
    assert "\n" not in message


def test_cli_reports_bad_input_in_one_line_without_traceback(tmp_path):
    raw = tmp_path / "raw"
    raw.mkdir()
    (raw / "train.tsv").write_bytes(b"a\tO\n\n")
    (raw / "test.tsv").write_bytes(b"a\tO\nb I-X\n\n")
    result = subprocess.run([sys.executable, "-m", "mtbioner", "prepare", "--raw-dir", str(raw), "--out-dir",
                             str(tmp_path / "out")], capture_output=True, text=True)
    assert result.returncode == 2
    assert result.stderr.strip() == f"error: {raw / 'test.tsv'}:2: missing tab between token and tag (columns separated by spaces?): 'b I-X'"
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "out" / "train.jsonl").exists()


def test_write_then_read_round_trip(tmp_path):
    path = tmp_path / "out.tsv"
    write_iob(path, [(["a", "b"], ["B-X", "I-X"]), (["c"], ["O"])])
    assert [s.tags for s in read_iob(path)] == [("B-X", "I-X"), ("O",)]


def test_every_corpus_file_of_the_mirror_reads(mirror_data):
    # The reader must accept all 93 real files (it is strict, not picky): spot-check the largest ones fully.
    for dataset in ("BC2GM", "BC5CDR-chem", "NCBI-disease"):
        for split in ("train", "devel", "test"):
            assert read_iob(mirror_data / f"{dataset}-IOB" / f"{split}.tsv")


def test_three_columns_read_a_runs_predictions(tmp_path):
    """test_predictions.tsv (word, gold, predicted) goes through the same strict reader, `columns=3`."""
    path = tmp_path / "test_predictions.tsv"
    write_iob(path, [(["IL-2", "gene"], ["B-GENE", "I-GENE"], ["B-GENE", "O"]), (["ok"], ["O"], ["B-GENE"])])
    sentences = read_iob(path, columns=3)
    assert [(s.tokens, s.tags, s.more_tags, s.line) for s in sentences] == [
        (("IL-2", "gene"), ("B-GENE", "I-GENE"), (("B-GENE", "O"),), 1), (("ok",), ("O",), (("B-GENE",),), 4)]
    path.write_text("a\tO\tO\nb\tO\n\n", encoding="utf-8")
    with pytest.raises(CorpusFormatError, match=r":2: expected 3 tab-separated columns, found 2"):
        read_iob(path, columns=3)


def test_lenient_mode_reads_the_tokens_of_any_token_per_line_file(tmp_path):
    """What `mtbioner predict --input-format iob` reads: a run's predictions fed back in, CRLF, a BOM, CoNLL."""
    path = tmp_path / "in.tsv"
    path.write_bytes("\ufeffIL-2\tB-GENE\tO\r\ngene\tI-GENE\tO\r\n \r\nIL-2 B-GENE\nok\n".encode())
    sentences = read_iob(path, lenient=True)
    assert [(s.tokens, s.tags, s.line) for s in sentences] == [(("IL-2", "gene"), (), 1), (("IL-2", "ok"), (), 4)]
    path.write_bytes(b"")
    assert read_iob(path, lenient=True) == []
    path.write_bytes(b"a\tO\n\tO\n")
    with pytest.raises(CorpusFormatError, match=r"in\.tsv:2: empty token in the first column"):
        read_iob(path, lenient=True)
