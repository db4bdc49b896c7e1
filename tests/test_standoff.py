"""Own corpora in BioC (XML, JSON) and PubTator: NCBI-disease sentences turned into those formats come back as the
same words and tags, gold converted back lands on the same offsets, every alignment problem is counted with
its policy, and each malformed file is one line naming file, document and what is wrong."""

from __future__ import annotations

import json
import re
from pathlib import Path

import bioc
import bioc.biocjson
import bioc.pubtator
import pytest

from mtbioner.cli import main
from mtbioner.data.align import POLICIES, ConversionReport, TypeMap, align_file, mentions_from_tags
from mtbioner.data.corpus import OFFSETS, OwnCorpusOptions, check_own_corpora, import_own_corpus
from mtbioner.data.examples import read_examples
from mtbioner.data.iob import read_iob
from mtbioner.data.prepare import prepare_dataset
from mtbioner.data.standoff import (DocumentLabels, SpanLabel, detect_format, format_standoff, parse_standoff,
                                    read_standoff)
from mtbioner.errors import MtbionerError

from conftest import CORPUS_MIRROR, write_standoff_slice

FORMATS = ("bioc", "bioc-json", "pubtator")
SUFFIX = {"bioc": ".xml", "bioc-json": ".json", "pubtator": ".pubtator"}


def library_mentions(path: Path, fmt: str) -> set[tuple[str, int, int, str]]:
    """(document, start, end, type) of every annotation, read by the `bioc` library itself; each span's text
    is checked against the document's text at its offsets."""
    found = set()
    if fmt == "pubtator":
        for doc in bioc.pubtator.loads(path.read_text(encoding="utf-8")):
            for ann in doc.annotations:
                assert doc.text[ann.start:ann.end] == ann.text
                found.add((doc.pmid, ann.start, ann.end, ann.type))
        return found
    with open(path, encoding="utf-8") as handle:
        collection = bioc.biocjson.load(handle) if fmt == "bioc-json" else bioc.biocxml.load(handle)
    for doc in collection.documents:
        for passage in doc.passages:
            for ann in passage.annotations:
                (location,) = ann.locations
                start = location.offset - passage.offset
                assert passage.text[start:start + location.length] == ann.text
                found.add((doc.id, location.offset, location.end, ann.infons["type"]))
    return found


@pytest.mark.parametrize("fmt", FORMATS)
def test_ncbi_slice_imports_to_the_same_words_and_gold_goes_back_to_the_same_offsets(fmt: str, tmp_path: Path):
    train = write_standoff_slice(tmp_path / f"train{SUFFIX[fmt]}", "NCBI-disease", "train", 0, 60, fmt)
    test = write_standoff_slice(tmp_path / f"test{SUFFIX[fmt]}", "NCBI-disease", "test", 0, 30, fmt)
    assert detect_format(train.read_bytes()) == fmt
    raw = tmp_path / "raw"
    _, summary = import_own_corpus("NCBI-own", {"train": train, "devel": None, "test": test}, raw,
                                   OwnCorpusOptions.from_entry({"entity_types": ["Disease"]}))
    assert summary.endswith("no alignment problems"), summary

    # the words and tags are the corpus' own (sentences may be cut differently: the splitter sees raw text)
    for split, count in (("train", 60), ("test", 30)):
        mirror = read_iob(CORPUS_MIRROR / "NCBI-disease-IOB" / f"{split}.tsv")[:count]
        converted = read_iob(raw / f"{split}.tsv")
        assert [(w, t) for s in converted for w, t in zip(s.tokens, s.tags)] == [
            (w, t) for s in mirror for w, t in zip(s.tokens, s.tags)]
    report = json.loads((raw / "conversion.json").read_text(encoding="utf-8"))
    assert report["policies"] == POLICIES and set(report["counts"].values()) == {0}
    assert report["files"][0]["kept"]["Disease"] == sum(t == "B-Disease" for s in read_iob(raw / "train.tsv")
                                                        for t in s.tags)

    # round trip: the prepared gold, through offsets.jsonl, written back into the source documents
    prepare_dataset(raw, tmp_path / "prepared")
    offsets = {(row["split"], row["sentence"]): row for row in map(json.loads, (raw / OFFSETS).open())}
    for split, source in (("train", train), ("test", test)):
        examples = read_examples(tmp_path / "prepared" / f"{split}.jsonl")
        documents = read_standoff(source)
        labels = {document.id: DocumentLabels() for document in documents.documents}
        for example in examples:
            row = offsets[tuple([example.id.split(":")[0], int(example.id.split(":")[1])])]
            labels[row["document"]].mentions += [SpanLabel(*m) for m in mentions_from_tags(row["offsets"],
                                                                                            example.ner)]
        back = tmp_path / f"back-{split}{SUFFIX[fmt]}"
        back.write_text(format_standoff(documents, list(labels.values()), fmt, replace=True, annotator=None),
                        encoding="utf-8")
        original = {(d.id, m.start, m.end, m.type) for d in documents.documents for m in d.mentions}
        assert original and library_mentions(back, fmt) == original


def edge_case_collection() -> tuple[bioc.BioCCollection, dict[str, tuple[int, int]]]:
    """One hand-made BioC document with one mention per alignment problem (and Unicode text)."""
    title = "TNFalpha and IL-6 in Crohn disease."
    abstract = ("Dr. Müller saw β-thalassemia in Zürich . Breast cancer. Colon cancer spread in mice and "
                "E. coli grew.")
    gap = 2  # passages need not touch: the abstract starts 2 characters after the title ends
    offsets = {}

    def at(text: str, piece: str, base: int, nth: int = 0) -> tuple[int, int]:
        index = -1
        for _ in range(nth + 1):
            index = text.index(piece, index + 1)
        return base + index, base + index + len(piece)

    abstract_at = len(title) + gap
    offsets["TNF"] = at(title, "TNF", 0)  # boundary inside the word TNFalpha
    offsets["IL-6"] = at(title, "IL-6", 0)
    offsets["Crohn disease"] = at(title, "Crohn disease", 0)
    offsets["Crohn"] = at(title, "Crohn", 0)  # nested in the longer one
    offsets["β-thalassemia"] = at(abstract, "β-thalassemia", abstract_at)
    offsets["Müller"] = at(abstract, "Müller", abstract_at)
    offsets["cancer. Colon"] = at(abstract, "cancer. Colon", abstract_at)  # crosses the sentence split
    offsets["mice"] = at(abstract, "mice", abstract_at)
    offsets[" Zürich"] = (at(abstract, "Zürich", abstract_at)[0] - 1, at(abstract, "Zürich", abstract_at)[1])
    offsets["E. coli"] = at(abstract, "E. coli", abstract_at)
    document = bioc.BioCDocument()
    document.id = "edge1"
    for offset, text in ((0, title), (abstract_at, abstract)):
        document.add_passage(bioc.BioCPassage.of_text(text, offset))

    def annotate(holder, key: str, entity_type: str, text: str | None = None, *spans: tuple[int, int]) -> None:
        annotation = bioc.BioCAnnotation()
        annotation.id = f"A{sum(len(p.annotations) for p in document.passages) + len(document.annotations) + 1}"
        annotation.infons["type"] = entity_type
        annotation.text = text if text is not None else key
        for start, end in spans or (offsets[key],):
            annotation.add_location(bioc.BioCLocation(start, end - start))
        holder.add_annotation(annotation)

    title_passage, abstract_passage = document.passages
    annotate(title_passage, "TNF", "GeneOrGeneProduct")
    annotate(title_passage, "IL-6", "GeneOrGeneProduct")
    annotate(title_passage, "IL-6", "GeneOrGeneProduct")  # duplicate
    annotate(title_passage, "Crohn disease", "DiseaseOrPhenotypicFeature")
    annotate(title_passage, "Crohn", "DiseaseOrPhenotypicFeature")
    annotate(abstract_passage, "β-thalassemia", "DiseaseOrPhenotypicFeature")
    annotate(abstract_passage, "Müller", "DiseaseOrPhenotypicFeature", "Mueller")  # text mismatch
    annotate(abstract_passage, "cancer. Colon", "DiseaseOrPhenotypicFeature")
    annotate(abstract_passage, "mice", "OrganismTaxon")  # mapped to null: dropped on purpose
    annotate(abstract_passage, " Zürich", "Location")  # starts on a blank
    annotate(abstract_passage, "E. coli", "OrganismTaxon")
    tnf, crohn = offsets["TNF"], offsets["Crohn disease"]
    annotate(title_passage, "TNF ... disease", "GeneOrGeneProduct", "TNF Crohn disease", tnf, crohn)  # 2 pieces
    offsets["across"] = (crohn[0], abstract_at + 3)
    annotate(document, "across", "DiseaseOrPhenotypicFeature", "whatever")  # title into abstract
    offsets["gap"] = (len(title), abstract_at)
    annotate(document, "gap", "DiseaseOrPhenotypicFeature", "  ")  # between the passages
    collection = bioc.BioCCollection()
    collection.add_document(document)
    return collection, offsets


EDGE_TYPES = {"entity_types": ["Gene", "Disease", "Location", "Species"],
              "types": {"GeneOrGeneProduct": "Gene", "DiseaseOrPhenotypicFeature": "Disease", "OrganismTaxon": None}}


def test_every_alignment_problem_is_counted_with_its_policy_and_kept_mentions_stay_exact(tmp_path: Path) -> None:
    collection, offsets = edge_case_collection()
    path = tmp_path / "edge.xml"
    path.write_text(bioc.biocxml.dumps(collection), encoding="utf-8")
    report = ConversionReport()
    sentences = align_file(read_standoff(path), OwnCorpusOptions.from_entry(EDGE_TYPES).types, report)
    counts = {kind: count for kind, count in report.counts().items() if count}
    assert counts == {"boundary_inside_word": 1, "crosses_sentence": 1, "whitespace_trimmed": 1, "overlapping": 1,
                      "duplicate": 1, "discontinuous": 1, "crosses_passage": 1, "outside_text": 1,
                      "text_mismatch": 1, "dropped_type": 2}
    problems = report.to_json()["problems"]
    assert problems["overlapping"] == [{"file": str(path), "document": "edge1", "start": offsets["Crohn"][0],
                                        "end": offsets["Crohn"][1], "type": "Disease", "text": "Crohn",
                                        "detail": f"kept {offsets['Crohn disease'][0]}..{offsets['Crohn disease'][1]}"
                                                  " Disease"}]
    assert problems["text_mismatch"][0]["detail"] == "the file says 'Mueller'"
    assert {entry["text"] for entry in problems["dropped_type"]} == {"mice", "E. coli"}

    words = [(token.text, tag) for sentence in sentences for token, tag in zip(sentence.tokens, sentence.tags)]
    assert words[:4] == [("TNF", "B-Gene"), ("alpha", "O"), ("and", "O"), ("IL", "B-Gene")]
    assert ("β", "B-Disease") in words and ("Zürich", "B-Location") in words
    # the sentence split inside "cancer. Colon" is undone: one sentence holds both halves
    joined = next(s for s in sentences if any(t.text == "Breast" for t in s.tokens))
    assert [t.text for t in joined.tokens][-4:] == ["spread", "in", "mice", "and"] or "Colon" in [
        t.text for t in joined.tokens]
    # every kept mention comes back from the tags at its exact offsets (the blank before Zürich trimmed)
    kept = {(start, end, entity_type) for sentence in sentences
            for start, end, entity_type in mentions_from_tags([(t.start, t.end) for t in sentence.tokens],
                                                              sentence.tags)}
    zurich = offsets[" Zürich"]
    assert kept == {(*offsets["TNF"], "Gene"), (*offsets["IL-6"], "Gene"), (*offsets["Crohn disease"], "Disease"),
                    (*offsets["β-thalassemia"], "Disease"), (*offsets["cancer. Colon"], "Disease"),
                    (zurich[0] + 1, zurich[1], "Location")}


def test_pubtator_title_and_abstract_offsets_with_unicode(tmp_path: Path) -> None:
    title, abstract = "Naïve α-synuclein in Parkinson’s disease", "Café-au-lait spots; Müller cells (β2) were normal."
    text = f"{title}\n{abstract}"
    mentions = [("α-synuclein", "Gene"), ("Parkinson’s disease", "Disease"), ("Café-au-lait spots", "Disease"),
                ("β2", "Gene")]
    lines = [f"42|t|{title}", f"42|a|{abstract}"]
    for piece, entity_type in mentions:
        start = text.index(piece)
        lines.append(f"42\t{start}\t{start + len(piece)}\t{piece}\t{entity_type}\t")  # empty concept id
    path = tmp_path / "unicode.txt"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    source = read_standoff(path)
    assert source.format == "pubtator" and [m.id for m in source.documents[0].mentions] == ["-"] * 4
    sentences = align_file(source, TypeMap(), report := ConversionReport())
    assert report.summary() == "1 documents, 2 sentences, 4 of 4 mentions kept; no alignment problems"
    assert [t.text for t in sentences[0].tokens] == ["Naïve", "α", "-", "synuclein", "in", "Parkinson", "’", "s",
                                                     "disease"]
    for sentence in sentences:
        for start, end, _ in mentions_from_tags([(t.start, t.end) for t in sentence.tokens], sentence.tags):
            assert text[start:end] in dict(mentions)


def write(tmp_path: Path, name: str, content: str) -> Path:
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")
    return path


BIOC_HEAD = "<?xml version='1.0' encoding='utf-8'?><collection><source/><date/><key/>"
PASSAGE = "<passage><offset>0</offset><text>Aspirin helps.</text>{}</passage>"
ANNOTATION = '<annotation id="{id}">{type}<location offset="{offset}" length="{length}"/><text>x</text></annotation>'
TYPE = '<infon key="type">Chemical</infon>'


def bioc_file(*annotations: str, doc_id: str = "d1") -> str:
    return f"{BIOC_HEAD}<document><id>{doc_id}</id>{PASSAGE.format(''.join(annotations))}</document></collection>"


MALFORMED = {
    "bad XML": ("in.xml", BIOC_HEAD + "<document><id>d1</id>", r"in\.xml:1: bad XML: "),
    "offsets beyond the passage": ("in.xml", bioc_file(ANNOTATION.format(id="a1", type=TYPE, offset=10, length=9)),
                                   r"in\.xml: document d1: annotation 'a1' at 10\.\.19 lies beyond its passage "
                                   r"\(0\.\.14\)"),
    "no type": ("in.xml", bioc_file(ANNOTATION.format(id="a1", type="", offset=0, length=7)),
                r"in\.xml: document d1: annotation 'a1' has no 'type' infon"),
    "no id (library)": ("in.xml", bioc_file('<annotation><location offset="0" length="7"/></annotation>'),
                        r"in\.xml: document d1: not valid BioC, an element lacks a required part .*KeyError: 'id'"),
    "bad JSON": ("in.json", '{"documents": [', r"in\.json:1: bad JSON: "),
    "PubTator too few fields": ("in.pubtator", "7|t|Aspirin helps.\n7\t0\t7\tAspirin\n",
                                r"in\.pubtator:2: document 7: PubTator annotation line has 4 tab-separated fields, "
                                r"expected 6"),
    "PubTator beyond the text": ("in.pubtator", "7|t|Aspirin helps.\n7|a|Yes.\n7\t16\t25\tYes.\tChemical\t-\n",
                                 r"in\.pubtator:3: document 7: annotation 16\.\.25 'Yes\.' lies beyond the text "
                                 r"\(0\.\.19\)"),
    "PubTator stray line": ("in.pubtator", "7|t|Aspirin helps.\nnonsense\n",
                            r"in\.pubtator:2: document 7: line of document 'nonsense' inside document '7'"),
    "unknown type": ("in.pubtator", "7|t|Aspirin helps.\n7\t0\t7\tAspirin\tDrug\t-\n",
                     r"in\.pubtator: document 7: unknown entity type 'Drug': keep it in entity_types \(Chemical\)"),
}


@pytest.mark.parametrize("case", sorted(MALFORMED))
def test_malformed_files_are_one_line_naming_file_and_document(case: str, tmp_path: Path, capsys,
                                                               monkeypatch) -> None:
    name, content, message = MALFORMED[case]
    monkeypatch.chdir(tmp_path)
    write(tmp_path, name, content)
    good = write(tmp_path, "good.pubtator", "1|t|Aspirin helps.\n1\t0\t7\tAspirin\tChemical\t-\n")
    with pytest.raises(SystemExit) as stop:
        main(["import-corpus", "X", "--train", str(good), "--test", name, "--entity-types", "Chemical",
              "--out-dir", "out"])
    assert stop.value.code == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert re.match(rf"error: {message}", err.strip()), err
    assert not (tmp_path / "out").exists()  # nothing written before every file is read


def test_dag_build_check_reads_standoff_entries(tmp_path: Path) -> None:
    good = write(tmp_path, "good.pubtator", "1|t|Aspirin helps.\n1\t0\t7\tAspirin\tChemical\t-\n")
    other = write(tmp_path, "other.pubtator", "2|t|Heparin helps.\n2\t0\t7\tHeparin\tChemical\t-\n")
    check_own_corpora({"X": {"train": str(good), "test": str(other), "entity_types": ["Chemical"]}})
    with pytest.raises(MtbionerError, match=r"good\.pubtator: document 1: unknown entity type 'Chemical'"):
        check_own_corpora({"X": {"train": str(good), "test": str(good), "entity_types": ["Disease"]}})
    with pytest.raises(MtbionerError, match="data.custom_datasets.X: unknown corpus format 'brat'"):
        check_own_corpora({"X": {"train": str(good), "test": str(good), "format": "brat"}})
    # a type map with a target that cannot be a tag's type is refused before any file is read
    with pytest.raises(MtbionerError, match="'Small molecule' cannot be a tag's type"):
        OwnCorpusOptions.from_entry({"types": {"Chemical": "Small molecule"}})


def test_bioc_sentences_and_document_level_annotations(tmp_path: Path) -> None:
    """A passage given as BioC sentences keeps the file's sentences; annotations may sit on any level."""
    passage = bioc.BioCPassage()
    passage.offset = 100
    for offset, text in ((100, "Aspirin. Helps"), (115, "no one.")):
        passage.add_sentence(bioc.BioCSentence.of_text(text, offset))
    document = bioc.BioCDocument()
    document.id = "s1"
    document.add_passage(passage)
    annotation = bioc.BioCAnnotation()
    annotation.id = "a"
    annotation.infons["type"] = "Chemical"
    annotation.add_location(bioc.BioCLocation(100, 7))
    passage.sentences[0].add_annotation(annotation)
    collection = bioc.BioCCollection()
    collection.add_document(document)
    source = parse_standoff(bioc.biocjson.dumps(collection).encode(), "s.json")
    sentences = align_file(source, TypeMap(), ConversionReport())
    assert [[t.text for t in s.tokens] for s in sentences] == [["Aspirin", ".", "Helps"], ["no", "one", "."]]
    assert sentences[0].tags == ("B-Chemical", "O", "O")
