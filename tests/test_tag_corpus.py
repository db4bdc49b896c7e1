"""The corpus-tagging stage (workflow/rules/tag.smk, target all_tag) on a few PubTator and BioC files built from
the corpus mirror, tagged by the shared tiny trained run: exact offsets, a summary that counts what the files
hold, a second run that does nothing, a broken file that fails alone with its one line; and the `tag:`
parameters' planning (mtbioner.plan.tag, the grid run that keeps its model)."""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path

import pytest
import yaml

from conftest import write_standoff_slice
from mtbioner.data.align import document_sentences
from mtbioner.data.standoff import read_standoff
from mtbioner.errors import MtbionerError
from mtbioner.plan import grid
from mtbioner.plan.tag import input_files, tag_run_key
from mtbioner.params import load_params
from test_workflow import ROOT, copy_workflow, snakemake

TAGGED = Path("results/tagtest/tagged")
BROKEN = "broken.xml"


def tag_overlay(workspace: Path, model: Path, fmt: str = "pubtator") -> str:
    overlay = {"name": "tagtest", "tag": {"model": str(model), "inputs": "corpus", "format": fmt}}
    (workspace / "tag.yaml").write_text(yaml.safe_dump(overlay), encoding="utf-8")
    return "tag.yaml"


def summary_rows(workspace: Path) -> dict[str, dict[str, str]]:
    with open(workspace / TAGGED / "summary.tsv", encoding="utf-8") as handle:
        return {row["file"]: row for row in csv.DictReader(handle, delimiter="\t")}


def test_all_tag_tags_each_file_fails_a_broken_file_alone_and_resumes(trained_run: Path, tmp_path: Path) -> None:
    workspace = copy_workflow(tmp_path / "ws")
    corpus = workspace / "corpus"
    corpus.mkdir()
    write_standoff_slice(corpus / "a.pubtator", "BC5CDR-chem", "test", 0, 24, "pubtator")
    write_standoff_slice(corpus / "b.pubtator", "BC5CDR-chem", "test", 24, 10, "pubtator", per_document=5)
    write_standoff_slice(corpus / "c.xml", "BC5CDR-chem", "test", 40, 16, "bioc")
    (corpus / BROKEN).write_text("<?xml version='1.0'?>\n<collection><source>x</source><document><id>1</id>\n",
                                 encoding="utf-8")  # cut short: not well-formed XML
    args = ("all_tag", "--cores", "2", "--configfile", "config/quick.yaml", tag_overlay(workspace, trained_run))

    failed = snakemake(workspace, *args, "--keep-going", check=False)

    # the broken file fails its own job with predict's one line naming it; the others finish
    assert failed.returncode != 0
    log = (workspace / f"results/tagtest/logs/tag/{BROKEN}.log").read_text(encoding="utf-8").strip()
    assert len(log.splitlines()) == 1 and log.startswith(f"error: corpus/{BROKEN}:"), log
    assert not (workspace / TAGGED / BROKEN).exists()
    expected = ("a.pubtator", "b.pubtator", "c.xml")
    tagged_at = {name: (workspace / TAGGED / name).stat().st_mtime_ns for name in expected}

    (corpus / BROKEN).unlink()  # the user drops (or fixes) the file; the rerun only adds the summary
    snakemake(workspace, *args)

    assert {name: (workspace / TAGGED / name).stat().st_mtime_ns for name in expected} == tagged_at
    rows = summary_rows(workspace)
    assert set(rows) == set(expected)
    for name in expected:
        source = read_standoff(corpus / name)
        tagged = read_standoff(workspace / TAGGED / name, "pubtator")
        row = rows[name]
        assert row["input"] == f"corpus/{name}"
        assert int(row["documents"]) == len(tagged.documents) == len(source.documents)
        assert int(row["sentences"]) == sum(len(document_sentences(document)) for document in source.documents)
        mentions = [mention for document in tagged.documents for mention in document.mentions]
        predicted = len(mentions) - sum(len(document.mentions) for document in source.documents)  # input's kept
        assert predicted > 0, f"{name}: the trained run tags chemicals"
        for document in tagged.documents:  # every mention's text is the document's at its offsets
            assert document.text == next(d.text for d in source.documents if d.id == document.id)
            for mention in document.mentions:
                assert document.text[mention.start:mention.end] == mention.text
        assert int(row["mentions"]) == predicted == int(row["mentions:Chemical"])
        stats = json.loads((workspace / TAGGED / ".stats" / f"{name}.json").read_text(encoding="utf-8"))
        assert stats["mentions"] == {"Chemical": predicted} and float(row["seconds"]) > 0
    assert (workspace / "results/tagtest/benchmarks/tag/a.pubtator.tsv").is_file()

    dry = snakemake(workspace, *args, "-n")  # a second run has nothing to do
    assert "Nothing to be done" in dry.stdout + dry.stderr


def test_a_grid_run_named_by_tag_model_keeps_its_model_and_nothing_else_changes() -> None:
    config = load_params(ROOT, ["config/quick.yaml"])
    plain = {run.run_dir: run.config for run in grid.expand_grid(config)}
    config["tag"].update(model="NCBI-disease/baseline/10/13", inputs="corpus")
    assert tag_run_key(config) == ("NCBI-disease", "baseline", 10, 13)
    tagged = {run.run_dir: run.config for run in grid.expand_grid(config)}
    changed = {path for path in plain if plain[path] != tagged[path]}
    assert changed == {"results/quick/runs/NCBI-disease/baseline/frac10/seed13"}
    (path,) = changed
    assert not plain[path].save_model and tagged[path].save_model


def test_the_dag_trains_a_named_grid_run_before_tagging_with_it(tmp_path: Path) -> None:
    workspace = copy_workflow(tmp_path / "ws")
    (workspace / "corpus").mkdir()
    (workspace / "corpus" / "note.txt").write_text("Aspirin caused ulcers.\n", encoding="utf-8")
    overlay = {"name": "tagtest", "tag": {"model": "NCBI-disease/baseline/10/13", "inputs": "corpus"}}
    (workspace / "tag.yaml").write_text(yaml.safe_dump(overlay), encoding="utf-8")
    dry = snakemake(workspace, "all_tag", "-n", "--configfile", "config/quick.yaml", "tag.yaml")
    jobs = dict(re.findall(r"^(\w+)\s+(\d+)$", dry.stdout, re.MULTILINE))
    assert {key: jobs.get(key) for key in ("train", "tag", "tag_summary", "all_tag")} == {
        "train": "1", "tag": "1", "tag_summary": "1", "all_tag": "1"}
    overlay["tag"]["model"] = "NCBI-disease/baseline/10/99"  # no such seed in quick's grid
    (workspace / "tag.yaml").write_text(yaml.safe_dump(overlay), encoding="utf-8")
    wrong = snakemake(workspace, "all_tag", "-n", "--configfile", "config/quick.yaml", "tag.yaml", check=False)
    assert wrong.returncode != 0 and "error: tag.model: results/tagtest/runs/NCBI-disease/baseline/frac10/seed99 is " \
        "not a run of the configured grid" in wrong.stderr


def test_a_path_or_an_unknown_dataset_is_no_grid_run() -> None:
    config = load_params(ROOT, ["config/quick.yaml"])
    config["tag"].update(model="models/x/100/13", inputs="corpus")
    assert tag_run_key(config) is None
    config["tag"].update(model="NCBI-disease/joint-max/100/13", inputs=None)  # tagging off
    assert tag_run_key(config) is None


def test_inputs_are_a_folder_or_a_glob_with_unique_names(tmp_path: Path) -> None:
    (tmp_path / "x").mkdir()
    (tmp_path / "y").mkdir()
    for path in ("x/a.txt", "x/b.xml", "x/.hidden", "y/a.txt"):
        (tmp_path / path).write_text("text", encoding="utf-8")
    assert input_files(str(tmp_path / "x")) == {"a.txt": str(tmp_path / "x/a.txt"), "b.xml": str(tmp_path / "x/b.xml")}
    assert list(input_files(str(tmp_path / "x/*.xml"))) == ["b.xml"]
    with pytest.raises(MtbionerError, match="same file name"):
        input_files(str(tmp_path / "**/a.txt"))
    with pytest.raises(MtbionerError, match="names no file"):
        input_files(str(tmp_path / "z/*"))


def test_summary_lists_each_file_with_a_column_per_mention_type(tmp_path: Path) -> None:
    from mtbioner.atomicio import write_json
    from mtbioner.use.tagstats import write_summary

    write_json(tmp_path / "b.txt.json", {"input": "in/b.txt", "documents": 1, "sentences": 4,
                                         "mentions": {"Disease": 2}, "seconds": 0.5})
    write_json(tmp_path / "a.xml.json", {"input": "in/a.xml", "documents": 3, "sentences": 9,
                                         "mentions": {"Chemical": 1, "Disease": 4}, "seconds": 1.25})
    assert write_summary([tmp_path / "b.txt.json", tmp_path / "a.xml.json"], tmp_path / "summary.tsv") == 2
    assert (tmp_path / "summary.tsv").read_text(encoding="utf-8").splitlines() == [
        "file\tinput\tdocuments\tsentences\tmentions\tmentions:Chemical\tmentions:Disease\tseconds",
        "a.xml\tin/a.xml\t3\t9\t5\t1\t4\t1.250",
        "b.txt\tin/b.txt\t1\t4\t2\t0\t2\t0.500"]
