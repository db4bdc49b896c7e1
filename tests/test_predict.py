"""`mtbioner predict` on a real (tiny, briefly trained) run: raw text with offsets, IOB in/out, long and empty
inputs, encoding errors, stdin, atomic output."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import pytest

from mtbioner.run.directory import RunFiles
from mtbioner.cli import main
from mtbioner.data.examples import read_examples
from mtbioner.model.inference import load_trained, predict
from mtbioner.use.predict import decode_input, read_prediction_input, run_predict, sentences_from_iob

# Chemicals of the BC5CDR-chem training slice the tiny model has seen as entities many times.
RAW_TEXT = (
    "Naloxone reverses the antihypertensive effect of clonidine. In spontaneously hypertensive rats the "
    "decrease in blood pressure produced by intravenous clonidine, 5 to 20 micrograms/kg, was inhibited by "
    "naloxone (0.2 to 2 mg/kg).\n\nLithium-induced polyuria was treated with indomethacin and lithium.\n"
)


def run_cli(args: list[str], capsys: pytest.CaptureFixture, stdin: bytes | None = None,
            monkeypatch: pytest.MonkeyPatch | None = None) -> tuple[int, str, str]:
    if stdin is not None:
        assert monkeypatch is not None
        monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(stdin), encoding="utf-8"))
    try:
        main(args)
        code = 0
    except SystemExit as stop:
        code = stop.code or 0
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def read_jsonl(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def test_raw_text_entities_slice_back_to_their_text(trained_run: Path, tmp_path: Path, capsys) -> None:
    source = tmp_path / "abstract.txt"
    source.write_text(RAW_TEXT, encoding="utf-8")
    code, out, err = run_cli(["predict", "--model", str(trained_run), "--format", "jsonl", "--no-progress",
                              str(source)], capsys)
    assert code == 0, err
    records = read_jsonl(out)
    assert [r["sentence"] for r in records] == [1, 2, 3]
    assert [r["text"] for r in records] == [
        "Naloxone reverses the antihypertensive effect of clonidine.",
        "In spontaneously hypertensive rats the decrease in blood pressure produced by intravenous clonidine, "
        "5 to 20 micrograms/kg, was inhibited by naloxone (0.2 to 2 mg/kg).",
        "Lithium-induced polyuria was treated with indomethacin and lithium."]
    entities = [entity for record in records for entity in record["entities"]]
    assert entities, "the trained model should find some of the chemicals it was trained on"
    for record in records:
        assert RAW_TEXT[record["start"]:record["end"]] == record["text"]
        assert len(record["tokens"]) == len(record["offsets"]) == len(record["ner"]) == len(record["mt"])
        assert [RAW_TEXT[start:end] for start, end in record["offsets"]] == record["tokens"]
        assert record["bcls"] in (0, 1) and record["mcls"] in (0, 1, 2, 3)
        for entity in record["entities"]:
            assert entity["type"] == "Chemical"
            assert RAW_TEXT[entity["start"]:entity["end"]] == entity["text"]
            span_tokens = record["tokens"][entity["token_start"]:entity["token_end"]]
            assert entity["text"].replace(" ", "") == "".join(span_tokens)
            assert record["ner"][entity["token_start"]] in ("B-Chemical", "I-Chemical")
    # hyphenated words are split as in the corpus: "Lithium-induced" -> Lithium - induced
    assert records[2]["tokens"][:3] == ["Lithium", "-", "induced"]


def test_iob_output_matches_inference_and_batching_keeps_order(trained_run: Path, tmp_path: Path,
                                                              capsys) -> None:
    source = tmp_path / "abstract.txt"
    source.write_text(RAW_TEXT, encoding="utf-8")
    outputs = []
    for batch_size in ("1", "64"):
        target = tmp_path / f"tags{batch_size}.tsv"
        code, out, err = run_cli(["predict", "--model", str(trained_run), "--batch-size", batch_size,
                                  "--output", str(target), str(source)], capsys)
        assert code == 0 and out == "", err
        assert "3 sentences tagged" in err
        outputs.append(target.read_text(encoding="utf-8"))
    assert outputs[0] == outputs[1]
    blocks = [block.splitlines() for block in outputs[0].strip("\n").split("\n\n")]
    model, tokenizer = load_trained(RunFiles(trained_run).model)
    _, sentences, _ = read_prediction_input(source, "text")
    expected = predict(model, tokenizer, [list(s.words) for s in sentences])
    assert [[line.split("\t") for line in block] for block in blocks] == [
        [[word, tag] for word, tag in zip(s.words, p.ner)] for s, p in zip(sentences, expected)]


def test_iob_input_with_gold_and_extra_columns(trained_run: Path, chem_slice, tmp_path: Path, capsys) -> None:
    examples = read_examples(chem_slice["test_file"])[:12]
    lines = []
    for example in examples:  # three columns (token, gold, something else) and CRLF line ends: all accepted
        lines += [f"{token}\t{tag}\tX\r" for token, tag in zip(example.tokens, example.ner)] + ["  "]
    source = tmp_path / "test.tsv"
    source.write_text("\n".join(lines) + "\n", encoding="utf-8")
    code, out, err = run_cli(["predict", "--model", str(trained_run / "model"), "--input-format", "iob",
                              "--format", "jsonl", "--no-progress", str(source)], capsys)
    assert code == 0, err
    records = read_jsonl(out)
    assert [r["tokens"] for r in records] == [list(e.tokens) for e in examples]
    assert records[1]["line"] == len(examples[0].tokens) + 2
    for record in records:
        assert "offsets" not in record and "text" not in record
        for entity in record["entities"]:
            assert "start" not in entity
            assert entity["text"] == " ".join(record["tokens"][entity["token_start"]:entity["token_end"]])


def test_iob_input_space_separated_and_empty_token(tmp_path: Path) -> None:
    assert [s.words for s in sentences_from_iob("IL-2 B-GENE\nis O\n\n\nok\n")] == [("IL-2", "is"), ("ok",)]
    with pytest.raises(Exception, match=r"in\.tsv:2: empty token"):
        sentences_from_iob("a\tO\n\tO\n", "in.tsv")


def test_two_thousand_word_paragraph_loses_no_word(trained_run: Path, chem_slice, tmp_path: Path,
                                                   capsys) -> None:
    vocabulary = [token for e in read_examples(chem_slice["train_file"]) for token in e.tokens if token.isalnum()]
    paragraph = " ".join(vocabulary[index % len(vocabulary)] for index in range(2000))  # no sentence end
    source = tmp_path / "long.txt"
    source.write_text(paragraph, encoding="utf-8")
    code, out, err = run_cli(["predict", "--model", str(trained_run), "--format", "jsonl", "--no-progress",
                              str(source)], capsys)
    assert code == 0, err
    (record,) = read_jsonl(out)  # one 2,000-word sentence, far beyond max_length 64: windowed, not truncated
    assert len(record["tokens"]) == len(record["ner"]) == 2000
    assert record["tokens"] == paragraph.split()
    assert all(tag in ("O", "B-Chemical", "I-Chemical") for tag in record["ner"])
    code, out, err = run_cli(["predict", "--model", str(trained_run), "--no-progress", str(source)], capsys)
    assert code == 0 and len([line for line in out.splitlines() if line]) == 2000


@pytest.mark.parametrize("content", [b"", b"   \n\n\t\n"])
@pytest.mark.parametrize("input_format", ["text", "iob"])
def test_empty_input(trained_run: Path, tmp_path: Path, capsys, content: bytes, input_format: str) -> None:
    source = tmp_path / "empty.txt"
    source.write_bytes(content)
    target = tmp_path / "out.jsonl"
    code, out, err = run_cli(["predict", "--model", str(trained_run), "--input-format", input_format,
                              "--format", "jsonl", "--output", str(target), str(source)], capsys)
    assert code == 0
    assert "no words in the input" in err and "0 sentences tagged" in err
    assert target.read_text(encoding="utf-8") == ""


def test_stdin(trained_run: Path, capsys, monkeypatch) -> None:
    code, out, err = run_cli(["predict", "--model", str(trained_run), "--no-progress", "-"], capsys,
                             stdin="\ufeffTGF-beta1 was given.".encode(), monkeypatch=monkeypatch)
    assert code == 0, err
    assert [line.split("\t")[0] for line in out.splitlines() if line] == ["TGF", "-", "beta1", "was", "given", "."]
    code, out, err = run_cli(["predict", "--model", str(trained_run), "-"], capsys, stdin=b"",
                             monkeypatch=monkeypatch)
    assert code == 0 and out == "" and "<stdin>: no words" in err


def test_non_utf8_input_is_one_clear_error(trained_run: Path, tmp_path: Path) -> None:
    source = tmp_path / "latin1.txt"
    source.write_bytes("Aspirin was given.\nCaf\u00e9ine too.\n".encode("latin-1"))
    target = tmp_path / "out.tsv"
    target.write_text("previous result\n", encoding="utf-8")
    # the real entry point, as a user runs it: one line on stderr, exit status 2, no traceback
    result = subprocess.run([sys.executable, "-m", "mtbioner", "predict", "--model", str(trained_run),
                             "--output", str(target), str(source)], capture_output=True, text=True)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines()[-1] == (
        f"error: {source}:2: not valid UTF-8 (byte 0xe9 at byte offset 22, column 4); convert the file to UTF-8")
    assert "Traceback" not in result.stderr
    assert target.read_text(encoding="utf-8") == "previous result\n"  # an earlier output is left untouched


def test_decode_input_messages() -> None:
    assert decode_input("\ufeffok".encode(), "x") == "ok"
    with pytest.raises(Exception, match=r"^<stdin>:1: not valid UTF-8 \(byte 0xff at byte offset 0"):
        decode_input(b"\xff\xfeh\x00i\x00", "<stdin>")


def test_bad_model_and_input_paths(trained_run: Path, tmp_path: Path, capsys) -> None:
    code, _, err = run_cli(["predict", "--model", str(tmp_path / "nope"), str(tmp_path)], capsys)
    assert code == 2 and err.strip() == f"error: {tmp_path / 'nope'}: model directory not found"
    code, _, err = run_cli(["predict", "--model", str(tmp_path), "x.txt"], capsys)
    assert code == 2 and "neither a trained model directory nor a run directory" in err
    code, _, err = run_cli(["predict", "--model", str(trained_run), str(tmp_path / "missing.txt")], capsys)
    assert code == 2 and err.strip() == f"error: {tmp_path / 'missing.txt'}: input file not found"


def test_run_predict_returns_sentence_count(trained_run: Path, tmp_path: Path) -> None:
    source = tmp_path / "in.txt"
    source.write_text(RAW_TEXT, encoding="utf-8")
    assert run_predict(trained_run, source, tmp_path / "o.tsv", progress=False) == 3


def test_bf16_on_cpu_tags_every_word(trained_run: Path, chem_slice) -> None:
    import torch

    from mtbioner.use.predict import InputSentence, predict_sentences

    if not torch.backends.mkldnn.is_available():
        pytest.skip("no oneDNN on this torch build")
    model, tokenizer = load_trained(RunFiles(trained_run).model)
    sentences = [InputSentence(e.tokens) for e in read_examples(chem_slice["test_file"])]
    exact = predict_sentences(model, tokenizer, sentences, precision="fp32", device="cpu")
    fast = predict_sentences(model, tokenizer, sentences, precision="bf16", device="cpu")
    pairs = [(a, b) for x, y in zip(exact, fast) for a, b in zip(x.ner, y.ner, strict=True)]
    assert len(pairs) == sum(len(s.words) for s in sentences)
    assert sum(a == b for a, b in pairs) / len(pairs) > 0.97  # bf16 rounding may flip a few borderline words


def test_throughput_benchmark_runs(tmp_path: Path) -> None:
    """The benchmark script itself (tiny encoder, 20 sentences): it trains, exports, times, and agrees."""
    repo = Path(__file__).resolve().parents[1]
    result = subprocess.run([sys.executable, str(repo / "benchmarks" / "predict_throughput.py"), "--encoder", "tiny",
                             "--train-sentences", "40", "--sentences", "20", "--repeats", "1",
                             "--json", str(tmp_path / "bench.json")], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    numbers = json.loads((tmp_path / "bench.json").read_text(encoding="utf-8"))
    assert numbers["sentences"] == 20 and numbers["sentences_with_identical_tags"] == 20
    assert numbers["ratio_vs_pipeline_default"] > 0
    assert "ratio vs baseline" in result.stdout
