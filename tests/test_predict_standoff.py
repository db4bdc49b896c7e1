"""`mtbioner predict --format bioc|bioc-json|pubtator`: raw text, a BioC collection (annotated in place) or a
PubTator file in; every predicted mention read back by the `bioc` library sits at offsets whose text is the
mention's, with Unicode before it and across title + abstract; bCLS/mCLS as infons; atomic output."""

from __future__ import annotations

import json
from pathlib import Path

import bioc
import bioc.biocjson
import bioc.pubtator
import pytest

from mtbioner.cli import main

# Chemicals the tiny model saw in its BC5CDR-chem slice, after non-ASCII text (Greek letters, accented names,
# typographic quotes) so that an offset counted in bytes or UTF-16 units would land elsewhere.
TITLE = "Naloxone reverses the β-adrenergic effect of clonidine in Müller’s rats"
ABSTRACT = ("In spontaneously hypertensive rats (Ångström-Søren strain) the decrease in blood pressure produced by "
            "intravenous clonidine, 5 to 20 µg/kg, was inhibited by naloxone. Lithium-induced polyuria was "
            "treated with indomethacin and lithium.")


def predict(args: list[str], capsys) -> tuple[int, str]:
    try:
        main(["predict", "--no-progress", *args])
        code = 0
    except SystemExit as stop:
        code = stop.code or 0
    return code, capsys.readouterr().err


def read_bioc(path: Path, fmt: str):
    with open(path, encoding="utf-8") as handle:
        return bioc.biocjson.load(handle) if fmt == "bioc-json" else bioc.biocxml.load(handle)


def check_bioc_spans(collection) -> list:
    """Every annotation's text is its passage's text at its offsets; returns our annotations."""
    ours = []
    for document in collection.documents:
        for passage in document.passages:
            holders = [passage, *passage.sentences]
            for holder in holders:
                for annotation in holder.annotations:
                    (location,) = annotation.locations
                    base = holder.offset  # a passage's, or a BioC sentence's own text and offset
                    assert holder.text[location.offset - base:location.end - base] == annotation.text
                    if annotation.infons.get("annotator") == "mtbioner":
                        ours.append(annotation)
    return ours


@pytest.mark.parametrize("fmt", ["bioc", "bioc-json"])
def test_raw_text_to_bioc_offsets_are_exact(trained_run: Path, tmp_path: Path, fmt: str, capsys) -> None:
    source = tmp_path / "abstract.txt"
    text = f"{TITLE}\n\n{ABSTRACT}\n"
    source.write_text(text, encoding="utf-8")
    out = tmp_path / f"out.{fmt}"
    code, err = predict(["--model", str(trained_run), "--format", fmt, "--output", str(out), str(source)], capsys)
    assert code == 0, err
    collection = read_bioc(out, fmt)
    (document,) = collection.documents
    assert document.id == "abstract"
    assert [(p.offset, p.text) for p in document.passages] == [(0, TITLE), (len(TITLE) + 2, ABSTRACT)]
    ours = check_bioc_spans(collection)
    assert ours, "the trained model should find some of the chemicals it was trained on"
    for annotation in ours:  # offsets into the raw text file as well: one passage per block, at its offset
        (location,) = annotation.locations
        assert text[location.offset:location.end] == annotation.text
        assert annotation.infons["type"] == "Chemical"
    for passage in document.passages:
        rows = json.loads(passage.infons["mtbioner_sentences"])
        assert rows and all(row["bcls"] in (0, 1) and row["mcls"] in (0, 1, 2, 3) for row in rows)
        for row in rows:  # each sentence lies inside its passage
            assert passage.offset <= row["offset"] and row["offset"] + row["length"] <= passage.offset + len(
                passage.text)


def test_pubtator_in_and_out_keeps_offsets_and_existing_lines(trained_run: Path, tmp_path: Path, capsys) -> None:
    text = f"{TITLE}\n{ABSTRACT}"
    gold = text.index("polyuria")
    source = tmp_path / "in.pubtator"
    source.write_text(f"99|t|{TITLE}\n99|a|{ABSTRACT}\n99\t{gold}\t{gold + 8}\tpolyuria\tDisease\tD011141\n"
                      "99\tCID\tD008094\tD011141\n", encoding="utf-8")
    out = tmp_path / "out.pubtator"
    code, err = predict(["--model", str(trained_run), "--format", "pubtator", "--output", str(out), str(source)],
                        capsys)
    assert code == 0, err
    (document,) = bioc.pubtator.loads(out.read_text(encoding="utf-8"))
    assert (document.title, document.abstract) == (TITLE, ABSTRACT)
    assert [(a.start, a.type, a.id) for a in document.annotations if a.type == "Disease"] == [
        (gold, "Disease", "D011141")]
    assert [(r.type, r.id1, r.id2) for r in document.relations] == [("CID", "D008094", "D011141")]
    predicted = [a for a in document.annotations if a.type == "Chemical"]
    assert predicted and all(a.id == "-" for a in predicted)
    assert any(a.start > len(TITLE) for a in predicted)  # in the abstract: past the title and its join
    for annotation in document.annotations:
        assert document.text[annotation.start:annotation.end] == annotation.text == text[annotation.start:
                                                                                         annotation.end]


def test_bioc_collection_is_annotated_in_place(trained_run: Path, tmp_path: Path, capsys) -> None:
    collection = bioc.BioCCollection()
    collection.source, collection.infons["project"] = "PubMed", "kept"
    document = bioc.BioCDocument()
    document.id = "123"
    document.infons["journal"] = "J Ünïcode"
    title = bioc.BioCPassage.of_text(TITLE, 0)
    title.infons["type"] = "title"
    existing = bioc.BioCAnnotation()
    existing.id = "M1"  # our ids must not collide with it
    existing.infons.update(type="Gene", identifier="348")
    existing.text = "Müller’s"
    start = TITLE.index("Müller’s")
    existing.add_location(bioc.BioCLocation(start, len("Müller’s")))
    title.add_annotation(existing)
    document.add_passage(title)
    abstract = bioc.BioCPassage()  # given as sentences: our labels go into the sentences
    abstract.offset = len(TITLE) + 1
    first, second = ABSTRACT.split(". Lithium")
    abstract.add_sentence(bioc.BioCSentence.of_text(first + ".", abstract.offset))
    abstract.add_sentence(bioc.BioCSentence.of_text("Lithium" + second, abstract.offset + len(first) + 2))
    document.add_passage(abstract)
    collection.add_document(document)
    source = tmp_path / "in.xml"
    source.write_text(bioc.biocxml.dumps(collection), encoding="utf-8")
    out = tmp_path / "out.xml"
    code, err = predict(["--model", str(trained_run), "--format", "bioc", "--output", str(out), str(source)], capsys)
    assert code == 0, err
    result = read_bioc(out, "bioc")
    assert (result.source, result.infons["project"]) == ("PubMed", "kept")
    (document,) = result.documents
    assert document.infons["journal"] == "J Ünïcode" and document.passages[0].infons["type"] == "title"
    kept = document.passages[0].annotations[0]
    assert (kept.id, kept.infons["identifier"], kept.text) == ("M1", "348", "Müller’s")
    ours = check_bioc_spans(result)
    assert ours and len({a.id for a in ours} | {"M1"}) == len(ours) + 1
    sentences = document.passages[1].sentences
    assert [s.text for s in sentences] == [first + ".", "Lithium" + second]
    assert all(s.infons["mtbioner_bcls"] in ("0", "1") and "mtbioner_mcls" in s.infons for s in sentences)


def test_token_input_cannot_become_bioc_and_nothing_is_written(trained_run: Path, tmp_path: Path, capsys) -> None:
    source = tmp_path / "tokens.tsv"
    source.write_text("Aspirin\tB-Chemical\nhelps\tO\n", encoding="utf-8")
    out = tmp_path / "out.xml"
    code, err = predict(["--model", str(trained_run), "--input-format", "iob", "--format", "bioc", "--output",
                         str(out), str(source)], capsys)
    assert code == 2 and err.strip().endswith("BioC or PubTator output needs raw text, BioC or PubTator input")
    assert not out.exists() and not list(tmp_path.glob(".tmp-*"))


def test_bioc_input_jsonl_records_index_the_document_text(trained_run: Path, tmp_path: Path) -> None:
    from mtbioner.use.predict import run_predict

    source = tmp_path / "in.pubtator"
    source.write_text(f"7|t|{TITLE}\n7|a|{ABSTRACT}\n", encoding="utf-8")
    out = tmp_path / "out.jsonl"
    run_predict(trained_run, source, out, output_format="jsonl", progress=False, device="cpu")
    records = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    text = f"{TITLE}\n{ABSTRACT}"
    assert records[0]["document"] == "7" and records[0]["text"] == TITLE
    for record in records:
        assert text[record["start"]:record["end"]] == record["text"]
        assert all(text[e["start"]:e["end"]] == e["text"] for e in record["entities"])


def test_sentence_infons_hold_a_set_of_types_as_json(tmp_path: Path) -> None:
    """A sentence given in the input holds our sentence-level values as infons (strings): a class as its text, a
    multi-label prediction (tCLS: the entity types of the sentence) as a JSON list, readable by any BioC tool."""
    from mtbioner.data.standoff import DocumentLabels, SentenceLabel, format_standoff, read_standoff

    collection = bioc.BioCCollection()
    document = bioc.BioCDocument()
    document.id = "7"
    passage = bioc.BioCPassage()
    passage.offset = 0
    passage.add_sentence(bioc.BioCSentence.of_text(TITLE, 0))
    document.add_passage(passage)
    collection.add_document(document)
    source = tmp_path / "in.xml"
    source.write_text(bioc.biocxml.dumps(collection), encoding="utf-8")
    labels = [DocumentLabels(sentences=[SentenceLabel(0, len(TITLE), {"bcls": 1, "tcls": ["Chemical", "Disease"]})])]
    written = bioc.biocxml.loads(format_standoff(read_standoff(source), labels, "bioc"))
    infons = written.documents[0].passages[0].sentences[0].infons
    assert infons["mtbioner_bcls"] == "1"
    assert json.loads(infons["mtbioner_tcls"]) == ["Chemical", "Disease"]
