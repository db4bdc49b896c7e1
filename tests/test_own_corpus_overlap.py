"""Own BioC/PubTator corpora: a document in two splits (the same id, or the same text) stops the import with
one line naming both files and the documents, at import and when the DAG is built; allowed explicitly
(data.custom_datasets.<name>.allow_shared_documents), it is imported and counted in conversion.json, beside
the documents repeated within a split. Built from slices of the real NCBI-disease mirror."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mtbioner.cli import main
from mtbioner.data.corpus import OwnCorpusOptions, check_own_corpora, import_own_corpus
from mtbioner.data.files import CONVERSION_REPORT
from mtbioner.data.iob import read_iob
from mtbioner.data.standoff import DocumentLabels, StandoffFile, documents_from_sentences, format_standoff
from mtbioner.errors import MtbionerError

from conftest import CORPUS_MIRROR

SUFFIX = {"bioc": ".xml", "pubtator": ".txt"}


def _write(path: Path, fmt: str, groups: list[tuple[str, str, int, int]]) -> Path:
    """A BioC or PubTator file of documents of 4 mirror sentences each: per group (id prefix, mirror split,
    first sentence, count)."""
    documents = []
    for prefix, split, first, count in groups:
        sentences = read_iob(CORPUS_MIRROR / "NCBI-disease-IOB" / f"{split}.tsv")[first:first + count]
        documents += documents_from_sentences(sentences, 4, prefix=prefix)
    source = StandoffFile(str(path), "text", documents)
    path.write_text(format_standoff(source, [DocumentLabels() for _ in documents], fmt, annotator=None),
                    encoding="utf-8")
    return path


@pytest.mark.parametrize("fmt", ["bioc", "pubtator"])
def test_a_document_shared_by_train_and_test_is_refused_in_one_line_and_counted_when_allowed(
        fmt: str, tmp_path: Path, capsys, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    # train: 4 documents; test: 2 of its own, then train's first document again under another id (same text)
    train = _write(tmp_path / f"train{SUFFIX[fmt]}", fmt, [("tr", "train", 0, 16)])
    test = _write(tmp_path / f"test{SUFFIX[fmt]}", fmt, [("te", "test", 0, 8), ("copy", "train", 0, 4)])
    ids = [d.id for d in documents_from_sentences(read_iob(CORPUS_MIRROR / "NCBI-disease-IOB" / "train.tsv")[:4],
                                                  4, prefix="tr")] + [
          d.id for d in documents_from_sentences(read_iob(CORPUS_MIRROR / "NCBI-disease-IOB" / "train.tsv")[:4],
                                                 4, prefix="copy")]
    args = ["import-corpus", "Own", "--train", str(train), "--test", str(test), "--entity-types", "Disease",
            "--out-dir", "out"]
    with pytest.raises(SystemExit) as stop:
        main(args)
    assert stop.value.code == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "Traceback" not in err, err
    assert str(train) in err and str(test) in err and f"{ids[0]} = {ids[1]} (same text)" in err
    assert "1 document(s) of train" in err and "allow_shared_documents: true" in err
    assert not (tmp_path / "out").exists()  # nothing written
    # the DAG's build-time check says the same
    entry = {"train": str(train), "test": str(test), "entity_types": ["Disease"]}
    with pytest.raises(MtbionerError, match=r"data\.custom_datasets\.Own: 1 document\(s\) of train"):
        check_own_corpora({"Own": entry})
    # allowed explicitly: imported, and counted in conversion.json
    check_own_corpora({"Own": {**entry, "allow_shared_documents": True}})
    main(args + ["--allow-shared-documents"])
    report = json.loads((tmp_path / "out" / CONVERSION_REPORT).read_text(encoding="utf-8"))
    assert report["shared_documents"]["count"] == 1 and report["shared_documents"]["allowed"] is True
    assert report["shared_documents"]["cases"] == [
        {"splits": ["train", "test"], "document": ids[1], "same_as": ids[0], "same": "text"}]
    assert report["duplicate_documents"]["count"] == 0


def test_the_same_id_across_splits_and_repeats_within_a_split(tmp_path: Path) -> None:
    # test reuses train's document ids for other text (same id), and repeats one of its documents (same text)
    train = _write(tmp_path / "train.txt", "pubtator", [("d", "train", 0, 8)])
    test = _write(tmp_path / "test.txt", "pubtator", [("d", "test", 0, 4), ("e", "test", 100, 4),
                                                      ("f", "test", 100, 4)])
    options = OwnCorpusOptions.from_entry({"entity_types": ["Disease"]})
    with pytest.raises(MtbionerError, match=r"same id\)"):
        import_own_corpus("Own", {"train": train, "devel": None, "test": test}, tmp_path / "raw", options)
    allowed = OwnCorpusOptions.from_entry({"entity_types": ["Disease"], "allow_shared_documents": True})
    assert allowed.cli_args()[-1] == "--allow-shared-documents"
    import_own_corpus("Own", {"train": train, "devel": None, "test": test}, tmp_path / "raw", allowed)
    report = json.loads((tmp_path / "raw" / CONVERSION_REPORT).read_text(encoding="utf-8"))
    assert report["shared_documents"]["count"] == 1 and report["shared_documents"]["cases"][0]["same"] == "id"
    assert report["duplicate_documents"]["per_split"] == {"train": 0, "test": 1}
    assert report["duplicate_documents"]["cases"][0]["same"] == "text"
