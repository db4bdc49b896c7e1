"""Table 1 from the real mirror: our train+devel+test totals equal the paper's Table 1."""

import re

import pandas as pd

from mtbioner.data.corpus import table1_datasets
from mtbioner.data.stats import dataset_stats, paper_comparison, render_table1


def test_totals_equal_the_papers_table1(prepared_paper_datasets):
    stats = {name: dataset_stats(prepared_paper_datasets / name)
             for name in table1_datasets(["BC2GM", "BC5CDR-chem", "NCBI-disease"])}
    comparison = paper_comparison(stats).set_index(["paper row", "count"])
    for row in [("BC2GM", "sentences"), ("BC2GM", "Gene/Protein entities"), ("BC5CDR", "sentences"),
                ("BC5CDR", "Chemical entities"), ("BC5CDR", "Disease entities"), ("NCBI", "sentences"),
                ("NCBI", "Disease entities")]:
        assert comparison.loc[row, "ours"] == comparison.loc[row, "paper"], row
        assert comparison.loc[row, "delta"] == 0
    assert pd.isna(comparison.loc[("NCBI", "Gene/Protein entities"), "ours"])  # not in NCBI-disease
    assert stats["NCBI-disease"]["train"].sentences == 5424
    assert stats["NCBI-disease"]["devel"].sentences == 923


def test_table1_files_are_written(prepared_paper_datasets, tmp_path):
    stats = {"NCBI-disease": dataset_stats(prepared_paper_datasets / "NCBI-disease")}
    paths = render_table1(stats, tmp_path / "table1")
    assert sorted(p.suffix for p in paths) == [".csv", ".md", ".tex"]
    markdown = (tmp_path / "table1.md").read_text()
    assert "Disease (6,881)" in markdown
    assert re.search(r"\| NCBI-disease +\| total +\| +7287 \|", markdown)
    csv = pd.read_csv(tmp_path / "table1.csv")
    total = csv[(csv["table"] == "corpus") & (csv["split"] == "total")].iloc[0]
    assert total["sentences"] == 7287
    shares = [total[c] for c in ("% sent. 0 ent.", "% sent. 1 ent.", "% sent. 2 ent.", "% sent. 3+ ent.")]
    assert abs(sum(shares) - 100) < 0.3
    assert "\\begin{tabular}" in (tmp_path / "table1.tex").read_text()


def test_table1_datasets_adds_bc5cdr_disease_only_when_needed():
    assert table1_datasets(["BC5CDR-chem"]) == ["BC5CDR-chem", "BC5CDR-disease"]
    assert table1_datasets(["NCBI-disease"]) == ["NCBI-disease"]


def test_test_sentences_also_in_training_are_counted_beside_table1(prepared_paper_datasets, mirror_data, tmp_path):
    """The count of test sentences whose word sequence also occurs in train ∪ devel, per dataset, against a count
    made here straight from the mirror's IOB files (not through the prepared data), and shown in Table 1."""
    from mtbioner.data.iob import read_iob
    from mtbioner.data.stats import IN_TRAINING

    stats = {name: dataset_stats(prepared_paper_datasets / name) for name in ("NCBI-disease", "BC5CDR-chem", "BC2GM")}
    for name, splits in stats.items():
        folder = mirror_data / f"{name}-IOB"
        training = {s.tokens for split in ("train", "devel") for s in read_iob(folder / f"{split}.tsv")}
        test = [s.tokens for s in read_iob(folder / "test.tsv")]
        expected = sum(tokens in training for tokens in test)
        assert 0 < expected < len(test) / 50, name  # a few, on every paper dataset
        assert splits["test"].in_training == expected and splits["test"].sentences == len(test)
        assert splits["train"].in_training is None  # a count of test sentences only
    render_table1(stats, tmp_path / "table1")
    csv = pd.read_csv(tmp_path / "table1.csv")
    row = csv[(csv["table"] == "corpus") & (csv["dataset"] == "BC2GM") & (csv["split"] == "test")].iloc[0]
    assert row[IN_TRAINING] == f"{stats['BC2GM']['test'].in_training:,} of 5,038"
    markdown = (tmp_path / "table1.md").read_text(encoding="utf-8")
    assert f"NCBI-disease {stats['NCBI-disease']['test'].in_training:,} of 940" in markdown
