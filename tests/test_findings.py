"""Every published finding that ships its per-sentence counts recomputes to its published verdicts: `mtbioner
report rejudge` on docs/**/tables/sentence_counts.csv.gz with the claims of the verdicts.csv beside it gives
that verdicts.csv again, number for number (same resamples, same seed) — the tables were written by the run,
not typed."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from scipy import stats

from mtbioner.report.stats.verdict_table import claims_of_verdicts, read_counts, write_verdicts_from_counts
from mtbioner.report.stats.verdicts import minimal_detectable_effect

ROOT = Path(__file__).resolve().parents[1]
#: Columns of a published verdicts.csv whose definition changed after the finding ran (the file stays as the
#: run wrote it; docs/FINDINGS.md states both values): column -> the change.
REDEFINED = {"mde": "issue 31: the plans' MDE, (t_{(1+L)/2,k-1} + t_{0.8,k-1}) x sqrt(s^2/k + se_sentences^2), "
                    "replaced (z_{(1+L)/2} + z_{0.8}) x the hull's SE (B1: 2.39 by t, published 1.89 by z)"}
PUBLISHED = sorted(ROOT.glob("docs/**/tables/sentence_counts.csv.gz"))


def test_at_least_one_finding_publishes_its_counts():
    assert PUBLISHED, "no docs/**/tables/sentence_counts.csv.gz"


@pytest.mark.parametrize("counts", PUBLISHED, ids=lambda path: str(path.parent.parent.relative_to(ROOT)))
def test_published_verdicts_recompute_from_the_published_counts(counts: Path, tmp_path: Path) -> None:
    published = pd.read_csv(counts.with_name("verdicts.csv"))
    frame = write_verdicts_from_counts(read_counts(counts), claims_of_verdicts(counts.with_name("verdicts.csv")),
                                       tmp_path / "verdicts", samples=int(published["samples"].iloc[0]), seed=0)
    again = pd.read_csv(tmp_path / "verdicts.csv")
    assert list(again["verdict"]) == list(published["verdict"]) and len(frame) == len(published)
    # columns added after a finding ran (e.g. `note`) are new, not different: compare what was published,
    # except a column whose definition changed after the run, which is recomputed by the definition in force
    same = [column for column in published.columns if column not in REDEFINED]
    pd.testing.assert_frame_equal(again[same], published[same], check_exact=False, atol=1e-6)
    for _, row in again.iterrows():
        floor = (row["sentence_high"] - row["sentence_low"]) / (2 * stats.norm.ppf(0.975))
        per_seed = [float(x) for x in str(row["per_seed"]).split(";")]
        assert row["mde"] == pytest.approx(minimal_detectable_effect(per_seed, floor, row["verdict_level"]), abs=1e-5)


#: docs/refactor/CHECK.md's checks of one published cell, each trained before and after a refactor on one machine:
#: issue 22's (docs/refactor/) and issue 32's (docs/refactor/issue32/).
REFACTOR_CHECKS = [ROOT / "docs" / "refactor", ROOT / "docs" / "refactor" / "issue32"]


@pytest.mark.parametrize("folder", REFACTOR_CHECKS, ids=lambda path: path.relative_to(ROOT).as_posix())
def test_the_refactor_check_cell_is_identical_before_and_after(folder: Path) -> None:
    """docs/refactor/: the published CPU cell trained before and after a refactor on one machine has the same
    scores, loss and false-positive rate to the last bit; only its timings may differ."""
    import json

    before, after = (json.loads((folder / f"{side}.metrics.json").read_text(encoding="utf-8"))
                     for side in ("before", "after"))
    timings = {"train_seconds", "train_sentences_per_second"}
    assert before.keys() == after.keys()
    assert {key: value for key, value in before.items() if key not in timings} == {
        key: value for key, value in after.items() if key not in timings}
    assert before["ner"]["f1"] > 0.5  # a trained model, not an empty file


def test_issue_32s_typed_run_config_reads_and_writes_config_json_as_before() -> None:
    """Issue 32 made a run's settings typed sections of RunConfig: the cell's config.json is the same text
    before and after (Snakemake compares it), and the published run configs load and write back unchanged."""
    import json

    from mtbioner.run.config import RunConfig

    folder = ROOT / "docs" / "refactor" / "issue32"
    before, after = ((folder / f"{side}.config.json").read_text(encoding="utf-8") for side in ("before", "after"))
    assert before == after
    for published in (folder / "after.config.json", ROOT / "docs" / "refactor" / "after.config.json"):
        config = RunConfig.from_file(published)
        assert config.to_json_dict() == json.loads(published.read_text(encoding="utf-8"))
        assert list(config.to_json_dict()) == list(json.loads(published.read_text(encoding="utf-8")))
