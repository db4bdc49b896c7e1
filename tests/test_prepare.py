"""prepare / import-corpus: train ∪ devel merged in corpus order, labels derived, own corpora without devel."""

import json
import subprocess
import sys

from mtbioner.data.examples import read_examples, read_label_file
from mtbioner.data.prepare import prepare_dataset


def run_cli(*args):
    return subprocess.run([sys.executable, "-m", "mtbioner", *map(str, args)], capture_output=True, text=True)


def test_prepare_merges_train_and_devel_with_aux_labels(prepared_paper_datasets):
    train = read_examples(prepared_paper_datasets / "NCBI-disease" / "train.jsonl")
    test = read_examples(prepared_paper_datasets / "NCBI-disease" / "test.jsonl")
    assert len(train) == 5424 + 923 and len(test) == 940
    assert train[0].id == "train:1" and train[5424].id == "devel:1"
    assert train[0].tokens[:3] == ("Identification", "of", "APC2")
    assert train[0].gold("mt")[8:12] == ("B-Multi", "I-Multi", "I-Multi", "I-Multi")
    assert (train[0].gold("bcls"), train[0].gold("mcls")) == (1, 1)
    # format 1 still stores the paper's derived labels, the same the tasks derive
    stored = json.loads((prepared_paper_datasets / "NCBI-disease" / "train.jsonl").read_text().splitlines()[0])
    assert list(stored) == ["id", "tokens", "ner", "mt", "bcls", "mcls"]
    assert (stored["mt"], stored["bcls"], stored["mcls"]) == (list(train[0].gold("mt")), 1, 1)
    assert sum(len(e.tokens) for e in test) == 24497  # every word of test.tsv is kept (lines minus blanks)
    assert read_label_file(prepared_paper_datasets / "NCBI-disease" / "labels.json") == ["O", "B-Disease", "I-Disease"]


def test_own_corpus_without_devel(tmp_path):
    (tmp_path / "tr.tsv").write_text("Aspirin\tB-Drug\nhelps\tO\n\nNothing\tO\n\n")
    (tmp_path / "te.tsv").write_text("Ibuprofen\tB-Drug\nand\tO\nparacetamol\tB-Drug\n\n")
    raw = tmp_path / "raw"
    result = run_cli("import-corpus", "mine", "--train", tmp_path / "tr.tsv", "--test", tmp_path / "te.tsv",
                     "--out-dir", raw)
    assert result.returncode == 0, result.stderr
    manifest = json.loads((raw / "manifest.json").read_text())
    assert manifest["files"]["devel"] is None and manifest["dataset"] == "mine"
    counts = prepare_dataset(raw, tmp_path / "mine")
    assert counts == {"train": 2, "test": 1}
    test = read_examples(tmp_path / "mine" / "test.jsonl")
    assert test[0].gold("mt") == ("B-Single", "O", "B-Single") and test[0].gold("mcls") == 2


def test_import_corpus_rejects_bad_files_naming_the_users_file(tmp_path):
    (tmp_path / "tr.tsv").write_text("Aspirin\tB-Drug\nhelps\tX\n\n")
    (tmp_path / "te.tsv").write_text("a\tO\n\n")
    result = run_cli("import-corpus", "mine", "--train", tmp_path / "tr.tsv", "--test", tmp_path / "te.tsv",
                     "--out-dir", tmp_path / "raw")
    assert result.returncode == 2
    assert result.stderr.startswith(f"error: {tmp_path / 'tr.tsv'}:2: unknown tag 'X'")
    assert not (tmp_path / "raw").exists()


def test_subsample_cli_writes_nested_files(prepared_paper_datasets, tmp_path):
    result = run_cli("subsample", "--train", prepared_paper_datasets / "NCBI-disease" / "train.jsonl",
                     "--fractions", "100,10", "--seed", 3, "--max-sentences", 500, "--out-dir", tmp_path)
    assert result.returncode == 0, result.stderr
    full = {e.id for e in read_examples(tmp_path / "train.frac100.jsonl")}
    tenth = {e.id for e in read_examples(tmp_path / "train.frac10.jsonl")}
    assert len(full) == 500 and len(tenth) == 50 and tenth < full
    bad = run_cli("subsample", "--train", tmp_path / "train.frac100.jsonl", "--fractions", "0,x", "--out-dir", tmp_path)
    assert bad.returncode == 2 and bad.stderr.startswith("error: --fractions")
