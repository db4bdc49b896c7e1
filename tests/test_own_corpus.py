"""An own corpus (generated TSV files with a made-up entity type, no devel split) declared in the config runs
through the DAG like a corpus dataset: import, prepare, Table 1 row, training runs, prediction with its type.
A broken own corpus fails with an error naming the user's file and line."""

from __future__ import annotations

import csv
import json
import os
import random
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from mtbioner.cli import main

REPO = Path(__file__).resolve().parents[1]
NAME = "WidgetCorpus"
WIDGETS = [["zorbin"], ["flux", "capacitor"], ["quantum", "sprocket", "array"], ["gizmo", "-", "7"], ["doohickey"]]
FILLERS = ["The", "sample", "showed", "that", "levels", "rose", "in", "patients", "after", "treatment", "with",
           "no", "effect", "on", "the", "outcome", "(", "n", "=", "12", ")"]


def widget_sentences(count: int, seed: int) -> list[list[tuple[str, str]]]:
    """Sentences of filler words with 0-3 widget mentions (type `Widget`, IOB2); some have none."""
    rng = random.Random(seed)
    sentences = []
    for _ in range(count):
        words = [(word, "O") for word in rng.sample(FILLERS, rng.randint(4, 9))]
        for _ in range(rng.choice([0, 1, 1, 2, 3])):
            widget = rng.choice(WIDGETS)
            at = rng.randint(0, len(words))
            words[at:at] = [(w, ("B-" if i == 0 else "I-") + "Widget") for i, w in enumerate(widget)]
        sentences.append(words + [(".", "O")])
    return sentences


def write_tsv(path: Path, sentences: list[list[tuple[str, str]]]) -> Path:
    path.write_text("".join("".join(f"{w}\t{t}\n" for w, t in s) + "\n" for s in sentences), encoding="utf-8")
    return path


def test_import_error_names_the_users_file_and_line(tmp_path: Path, capsys) -> None:
    good = write_tsv(tmp_path / "train.tsv", widget_sentences(5, 1))
    broken = tmp_path / "test.tsv"
    broken.write_text("The\tO\nzorbin\tB-Widget\nworks O\n", encoding="utf-8")
    with pytest.raises(SystemExit) as stop:
        main(["import-corpus", NAME, "--train", str(good), "--test", str(broken), "--out-dir", str(tmp_path / "out")])
    assert stop.value.code == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"error: {broken}:3: missing tab between token and tag")
    assert not (tmp_path / "out" / "train.tsv").exists()


def _workspace(tmp_path: Path, overlay: dict) -> Path:
    """A directory with the repository's Snakefile, workflow, params.yaml and src, and the overlay; results go here
    and not into the repository."""
    work = tmp_path / "work"
    work.mkdir()
    for name in ("Snakefile", "workflow", "params.yaml", "src"):  # src: the packaged params schema
        (work / name).symlink_to(REPO / name)
    (work / "own.yaml").write_text(yaml.safe_dump(overlay), encoding="utf-8")
    return work


def _snakemake(work: Path, *targets: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, PATH=os.pathsep.join([str(Path(sys.executable).parent), os.environ["PATH"]]),
               HF_HUB_OFFLINE="1", TOKENIZERS_PARALLELISM="false")
    snakemake = shutil.which("snakemake", path=env["PATH"])
    assert snakemake, "snakemake is not installed next to the test interpreter"
    return subprocess.run([snakemake, *targets, "--cores", "2", "--configfile", "own.yaml"],
                          cwd=work, env=env, capture_output=True, text=True, timeout=600)


def _overlay(files: dict[str, str]) -> dict:
    """Tiny encoder, the own dataset only, one seed, a few experiments: seconds per run on a CPU."""
    return {
        "name": "own",  # results/own/
        "data": {"datasets": [], "custom_datasets": {NAME: files}, "fractions": [100, 50]},
        "model": {"encoder": "tiny", "max_length": 64},
        "train": {"batch_size": 8, "learning_rate": 1.0e-3, "epochs": 3},
        "grid": {"seeds": [5], "experiments": ["baseline", "joint-max"]},
        "resources": {"train_gpus": 0, "train_threads": 1, "train_mem_mb": 1000, "train_runtime": 10},
    }


@pytest.mark.slow
def test_own_corpus_through_the_dag(tmp_path: Path) -> None:
    train_sentences = widget_sentences(80, 2)
    train = write_tsv(tmp_path / "widgets-train.tsv", train_sentences)
    test_sentences = widget_sentences(25, 3)
    test = write_tsv(tmp_path / "widgets-test.tsv", test_sentences)
    work = _workspace(tmp_path, _overlay({"train": str(train), "test": str(test)}))  # no devel split
    runs = work / "results" / "own" / "runs" / NAME
    targets = [f"results/own/runs/{NAME}/{experiment}/frac{fraction}/seed5/metrics.json"
               for experiment, fraction in [("baseline", 100), ("baseline", 50), ("joint-max", 100)]]
    result = _snakemake(work, "results/own/tables/table1.csv", *targets)
    assert result.returncode == 0, result.stderr[-3000:]

    # the import kept every word; devel is empty because none was given (train alone is trained on)
    raw = work / "results" / "own" / "data" / NAME / "raw"
    assert (raw / "train.tsv").read_text(encoding="utf-8") == train.read_text(encoding="utf-8")
    assert (raw / "devel.tsv").read_text(encoding="utf-8") == ""
    assert json.loads((work / "results" / "own" / "data" / NAME / "labels.json").read_text())["ner_labels"] == [
        "O", "B-Widget", "I-Widget"]

    # Table 1 has rows for the own corpus with the made-up type counted per split
    with open(work / "results" / "own" / "tables" / "table1.csv", encoding="utf-8") as handle:
        rows = {row["split"]: row for row in csv.DictReader(handle) if row["dataset"] == NAME}
    entities = {name: sum(tag == "B-Widget" for s in sentences for _, tag in s)
                for name, sentences in [("train", train_sentences), ("test", test_sentences)]}
    assert (rows["train"]["sentences"], rows["devel"]["sentences"], rows["test"]["sentences"]) == ("80", "0", "25")
    assert rows["train"]["entities"] == f"Widget ({entities['train']})"
    assert rows["test"]["entities total"] == str(entities["test"])
    assert rows["total"]["entities total"] == str(entities["train"] + entities["test"])

    # every run of the grid trained and evaluated on the own test split
    for target in targets:
        metrics = json.loads((work / target).read_text(encoding="utf-8"))
        assert 0.0 <= metrics["ner"]["f1"] <= 1.0
    joint = json.loads((runs / "joint-max" / "frac100" / "seed5" / "metrics.json").read_text())
    assert {"ner", "mt", "bcls", "mcls"} <= set(joint)
    predicted = (runs / "baseline" / "frac100" / "seed5" / "test_predictions.tsv").read_text(encoding="utf-8")
    assert len([line for line in predicted.splitlines() if line]) == sum(len(s) for s in test_sentences)

    # the trained model tags new text with the made-up type's label set
    new_text = tmp_path / "new.txt"
    new_text.write_text("The flux capacitor showed no effect. A zorbin rose in patients.\n", encoding="utf-8")
    out = tmp_path / "new.jsonl"
    main(["predict", "--model", str(runs / "joint-max" / "frac100" / "seed5"), "--format", "jsonl",
          "--no-progress", "--output", str(out), str(new_text)])
    records = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert [r["tokens"][:3] for r in records] == [["The", "flux", "capacitor"], ["A", "zorbin", "rose"]]
    assert all(tag in ("O", "B-Widget", "I-Widget") for r in records for tag in r["ner"])
    assert all(e["type"] == "Widget" for r in records for e in r["entities"])


@pytest.mark.slow
def test_broken_own_corpus_fails_the_dag_naming_file_and_line(tmp_path: Path) -> None:
    train = write_tsv(tmp_path / "widgets-train.tsv", widget_sentences(10, 4))
    test = tmp_path / "widgets-test.tsv"
    test.write_text("A\tO\nzorbin\tB-Widgett\n\nok\tO\nbad\tB-\n", encoding="utf-8")
    work = _workspace(tmp_path, _overlay({"train": str(train), "test": str(test)}))
    # caught when the DAG is built: a dry run already stops with one line naming file and line, no job runs
    result = _snakemake(work, "-n", f"results/own/data/{NAME}/labels.json")
    assert result.returncode != 0
    errors = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    assert errors == [f"error: {test}:5: unknown tag 'B-' (expected O, B-<type> or I-<type>)"] or (
        len(errors) == 1 and errors[0].startswith(f"error: {test}:5: unknown tag 'B-'")), result.stderr[-2000:]
    assert "Traceback" not in result.stderr and not (work / "results").exists()


@pytest.mark.slow
def test_own_bioc_and_pubtator_corpora_through_the_dag(tmp_path: Path) -> None:
    """One Snakemake call: an own BioC corpus and an own PubTator corpus (NCBI-disease sentences in those
    formats, SpecificDisease-style types mapped) are converted, prepared, counted in Table 1 and trained on;
    the BioC-trained model then annotates the BioC test file in place."""
    import bioc

    from conftest import write_standoff_slice

    corpora = {"NCBI-bioc": "bioc", "NCBI-pubtator": "pubtator"}
    files = {}
    for name, fmt in corpora.items():
        suffix = ".xml" if fmt == "bioc" else ".txt"  # the format is found by content, not by name
        files[name] = {split: str(write_standoff_slice(tmp_path / f"{name}-{split}{suffix}", "NCBI-disease", split,
                                                       0, count, fmt))
                       for split, count in (("train", 60), ("test", 20))}
        files[name]["entity_types"] = ["Disease"]
    overlay = _overlay({})
    overlay["data"].update(custom_datasets=files, fractions=[100])
    work = _workspace(tmp_path, overlay)
    # joint-max keeps its model (train.keep_models: needed), which predicts below
    targets = [f"results/own/runs/{name}/{experiment}/frac100/seed5/metrics.json"
               for name, experiment in zip(corpora, ["joint-max", "baseline"])]
    result = _snakemake(work, "results/own/tables/table1.csv", *targets)
    assert result.returncode == 0, result.stderr[-3000:]

    with open(work / "results" / "own" / "tables" / "table1.csv", encoding="utf-8") as handle:
        rows = {(row["dataset"], row["split"]): row for row in csv.DictReader(handle)}
    for name in corpora:
        raw = work / "results" / "own" / "data" / name / "raw"
        report = json.loads((raw / "conversion.json").read_text(encoding="utf-8"))
        kept = sum(entry["kept"].get("Disease", 0) for entry in report["files"])
        assert report["dataset"] == name and set(report["counts"].values()) == {0}
        assert rows[(name, "total")]["entities total"] == str(kept) and kept > 0
        assert "mentions kept; no alignment problems" in (
            work / "results" / "own" / "logs" / "import_corpus" / f"{name}.log").read_text(encoding="utf-8")
        assert 0.0 <= json.loads((work / targets[list(corpora).index(name)]).read_text())["ner"]["f1"] <= 1.0

    # the run's model annotates the BioC test collection; every span reads back at its offsets
    out = tmp_path / "predicted.xml"
    main(["predict", "--model", str(work / "results" / "own" / "runs" / "NCBI-bioc" / "joint-max" / "frac100" / "seed5"),
          "--format", "bioc", "--no-progress", "--output", str(out), files["NCBI-bioc"]["test"]])
    with open(out, encoding="utf-8") as handle:
        collection = bioc.biocxml.load(handle)
    gold = predicted = 0
    for document in collection.documents:
        for passage in document.passages:
            assert {"bcls", "mcls"} <= set(json.loads(passage.infons["mtbioner_sentences"])[0])
            for annotation in passage.annotations:
                (location,) = annotation.locations
                start = location.offset - passage.offset
                assert passage.text[start:start + location.length] == annotation.text
                predicted += annotation.infons.get("annotator") == "mtbioner"
                gold += "annotator" not in annotation.infons
    with open(files["NCBI-bioc"]["test"], encoding="utf-8") as handle:
        given = sum(len(p.annotations) for d in bioc.biocxml.load(handle).documents for p in d.passages)
    assert gold == given > 0  # annotated in place: every annotation of the input is still there
