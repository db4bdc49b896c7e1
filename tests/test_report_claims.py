"""The pre-registered claims: parsed from report.claims, paired by seed, judged into verdicts.{csv,md} with Holm
over the family only, through the CLI verb, and quoted by the report page (never "k of 3 seed pairs")."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from mtbioner.cli import main
from mtbioner.errors import MtbionerError
from mtbioner.plan.claims import Claim, claim_runs, parse_claims
from mtbioner.report.stats.verdict_table import COUNT_COLUMNS, read_counts, write_counts, write_verdicts
from mtbioner.report.stats.verdicts import HOLDS, NOT_ESTIMABLE, NOT_RUN, holm, verdict
from mtbioner.run.directory import load_runs
from test_report_fixtures import gold_sentences, predictions, write_run

#: Entity sentences of the fixture test set in order (every third sentence has no entity).
ENTITY_SENTENCES = [i for i in range(30) if i % 3]


def _claim(**fields) -> dict:
    return {"name": "c", "dataset": "NCBI-disease", "fraction": 10, "a": "joint-max", "b": "baseline",
            "paper_delta": 3.29, "family": True, **fields}


def test_parse_claims_takes_direction_from_the_paper_and_checks_what_a_schema_cannot():
    [claim] = parse_claims([_claim(paper_delta=-1.5)])
    assert claim == Claim("c", "NCBI-disease", 10, "joint-max", "baseline", -1.5, -1, True)
    [claim] = parse_claims([_claim(paper_delta=None, direction=1, family=False)])
    assert claim.direction == 1 and claim.paper_delta is None and not claim.family
    assert parse_claims(None) == [] and parse_claims([]) == []
    with pytest.raises(MtbionerError, match=r"report.claims\[0\] \(c\): paper_delta is None and gives no direction"):
        parse_claims([_claim(paper_delta=None)])
    with pytest.raises(MtbionerError, match="paper_delta is 0 and gives no direction"):
        parse_claims([_claim(paper_delta=0)])
    with pytest.raises(MtbionerError, match="direction -1 contradicts the sign of paper_delta 3.29"):
        parse_claims([_claim(direction=-1)])
    with pytest.raises(MtbionerError, match=r"report.claims\[1\] \(c\): a second claim of that name"):
        parse_claims([_claim(), _claim()])
    with pytest.raises(MtbionerError, match="a and b are both"):
        parse_claims([_claim(b="joint-max")])


def _budget_runs(tmp_path):
    """joint-max@x4 perfect; baseline@x4 misses the first entity of the first 3 / 4 / 5 entity sentences
    (seeds 1 / 2 / 3), so its F1 is 2TP / (2TP + FN) = 54/57, 52/56, 50/55; the plain joint-max and baseline
    predict the same. baseline@x4 also ran seed 4, which joint-max@x4 did not: it is left out of the pairs."""
    for seed, misses in zip((1, 2, 3), (3, 4, 5)):
        write_run(tmp_path, "NCBI-disease", "joint-max", fraction=10, seed=seed, variant="x4", pred=predictions())
        write_run(tmp_path, "NCBI-disease", "baseline", fraction=10, seed=seed, variant="x4",
                  pred=predictions(miss=set(ENTITY_SENTENCES[:misses])))
        same = predictions(miss={ENTITY_SENTENCES[seed]})
        write_run(tmp_path, "NCBI-disease", "joint-max", fraction=10, seed=seed, pred=same)
        write_run(tmp_path, "NCBI-disease", "baseline", fraction=10, seed=seed, pred=same)
    write_run(tmp_path, "NCBI-disease", "baseline", fraction=10, seed=4, variant="x4", pred=predictions())
    return load_runs(sorted(tmp_path.glob("runs/*/*/*/*")))


CLAIMS = [
    _claim(name="budget x4", a="joint-max@x4", b="baseline@x4"),
    _claim(name="low resource"),
    _claim(name="exploratory", a="baseline", b="joint-max", paper_delta=None, direction=-1, family=False),
]


def test_claim_runs_pair_by_seed_and_name_what_is_missing(tmp_path):
    runs = _budget_runs(tmp_path)
    claims = parse_claims(CLAIMS)
    a, b = claim_runs(claims[0], runs)
    assert [r.seed for r in a] == [r.seed for r in b] == [1, 2, 3]
    assert {r.label for r in a} == {"joint-max@x4"} and {r.label for r in b} == {"baseline@x4"}
    with pytest.raises(MtbionerError, match="claim 'x': no run of joint-max@x2 on NCBI-disease at 10 %"):
        claim_runs(parse_claims([_claim(name="x", a="joint-max@x2")])[0], runs)
    with pytest.raises(MtbionerError, match="no run of joint-max on NCBI-disease at 100 %"):
        claim_runs(parse_claims([_claim(name="x", fraction=100)])[0], runs)


def test_verdicts_table_by_hand(tmp_path):
    runs = _budget_runs(tmp_path)
    frame = write_verdicts(runs, parse_claims(CLAIMS), tmp_path / "tables" / "verdicts", samples=2000, seed=0)
    rows = frame.set_index("claim")
    budget = rows.loc["budget x4"]
    per_seed = [100 - 100 * f for f in (54 / 57, 52 / 56, 50 / 55)]
    assert budget["delta"] == pytest.approx(sum(per_seed) / 3)
    assert [float(x) for x in budget["per_seed"].split(";")] == pytest.approx(per_seed, rel=1e-5)
    assert budget["f1_a"] == pytest.approx(100.0) and budget["seeds"] == "1;2;3" and budget["n_seeds"] == 3
    assert budget["n_sentences"] == 30 and budget["samples"] == 2000
    # the verdict's interval contains the other two and excludes 0 on the paper's side
    assert budget["low"] <= min(budget["t_low"], budget["sentence_low"], budget["two_level_low"])
    assert budget["high"] >= max(budget["t_high"], budget["sentence_high"], budget["two_level_high"])
    assert budget["low"] > 0 and budget["p_one_sided"] < 0.05
    # two claims in the family: the verdict reads the 97.5 % hull, which here still excludes 0
    assert budget["verdict_level"] == pytest.approx(0.975)
    assert budget["verdict_low"] <= budget["low"] and budget["verdict_high"] >= budget["high"]
    assert budget["verdict_low"] > 0 and budget["verdict"] == HOLDS
    # identical predictions: Δ = 0 exactly with a zero-width interval — no variance, so no verdict
    low_resource = rows.loc["low resource"]
    assert low_resource["delta"] == 0 and low_resource["verdict"] == NOT_ESTIMABLE
    assert "no variance" in low_resource["note"]
    assert low_resource["p_one_sided"] == 1.0  # ties count against the claim
    # Holm over the two family claims only; the exploratory claim has none
    assert [budget["p_holm"], low_resource["p_holm"]] == pytest.approx(
        holm([budget["p_two_sided"], low_resource["p_two_sided"]]).tolist())
    assert budget["p_two_sided"] == pytest.approx(2 * budget["p_one_sided"])
    assert budget["p_holm"] == pytest.approx(min(1.0, 2 * budget["p_two_sided"]))
    exploratory = rows.loc["exploratory"]
    # the plain joint-max and baseline predict the same: no variance, so no verdict (outside the family too)
    assert pd.isna(exploratory["p_holm"]) and exploratory["verdict"] == NOT_ESTIMABLE
    assert exploratory["verdict_level"] == 0.95  # outside the family: judged at 95 %
    # the fixture's systems predict no entity in entity-free sentences: both FP-sentence rates are 0
    assert (budget["fp_rate_a"], budget["fp_rate_b"], budget["fp_delta"]) == (0, 0, 0)
    assert budget["fp_entity_free"] == 10
    assert pd.isna(exploratory["paper_delta"]) and exploratory["direction"] == -1

    written = pd.read_csv(tmp_path / "tables" / "verdicts.csv")
    assert list(written["claim"]) == ["budget x4", "low resource", "exploratory"]
    assert written.loc[0, "delta"] == pytest.approx(budget["delta"], abs=1e-6)
    markdown = (tmp_path / "tables" / "verdicts.md").read_text(encoding="utf-8")
    assert "### Verdicts on the pre-registered claims" in markdown and "2,000 resamples" in markdown
    assert "| budget x4 " in markdown and "| joint-max@x4 − baseline@x4 (NCBI-disease, 10%) |" in markdown
    assert "not in family" in markdown and "| < 0 " in markdown and "not estimable (no variance" in markdown


def test_counts_file_recomputes_the_verdicts_without_the_runs(tmp_path, capsys):
    runs = _budget_runs(tmp_path)
    paths = [str(r.files.metrics) for r in runs]
    tables = tmp_path / "tables"
    _run(["report", "verdicts", *paths, "--claims-json", json.dumps(CLAIMS), "--out-prefix", str(tables / "verdicts"),
          "--samples", "500", "--counts-out", str(tables / "sentence_counts.csv.gz")])
    counts = pd.read_csv(tables / "sentence_counts.csv.gz")
    assert list(counts.columns) == COUNT_COLUMNS
    # every run a claim names (4 cells x 3 paired seeds; baseline@x4's unpaired seed 4 is not read), 30 sentences
    assert len(counts) == 4 * 3 * 30
    assert set(counts["system"]) == {"joint-max@x4", "baseline@x4", "joint-max", "baseline"}
    seed1 = counts[(counts["system"] == "baseline@x4") & (counts["seed"] == 1)]
    assert list(seed1["sentence"]) == list(range(1, 31))
    assert seed1["fn"].sum() == 3 and seed1["tp"].sum() == 27  # F1 54/57 = 2TP / (2TP + FN)
    # deterministic bytes (no time stamp in the gzip header)
    first = (tables / "sentence_counts.csv.gz").read_bytes()
    write_counts(read_counts(tables / "sentence_counts.csv.gz"), tmp_path / "again.csv.gz")
    assert (tmp_path / "again.csv.gz").read_bytes() == first
    # re-judged from the counts alone, with the claims read back from verdicts.csv: the same table
    capsys.readouterr()
    _run(["report", "rejudge", str(tables / "sentence_counts.csv.gz"), "--claims-from", str(tables / "verdicts.csv"),
          "--out-prefix", str(tmp_path / "again" / "verdicts"), "--samples", "500"])
    assert "budget x4: holds" in capsys.readouterr().out
    original = pd.read_csv(tables / "verdicts.csv")
    again = pd.read_csv(tmp_path / "again" / "verdicts.csv")
    pd.testing.assert_frame_equal(original, again)
    assert (tmp_path / "again" / "verdicts.md").read_text() == (tables / "verdicts.md").read_text()
    # ... or by another family: the budget claim alone is judged at 95 %
    alone = [dict(CLAIMS[0]), {**CLAIMS[1], "family": False}]
    _run(["report", "rejudge", str(tables / "sentence_counts.csv.gz"), "--claims-json", json.dumps(alone),
          "--out-prefix", str(tmp_path / "alone"), "--samples", "500"])
    assert pd.read_csv(tmp_path / "alone.csv")["verdict_level"].tolist() == [0.95, 0.95]


def test_a_report_with_g2_g3_not_run_still_judges_g1_at_m_3(tmp_path, capsys):
    """The GPU plan's family is fixed at G1-G3 whatever a device call gets through: a claim whose part did not
    run is reported "not run" and keeps its place, so G1 alone is judged at 1 - 0.05/3, its Holm p is Holm's
    over three p with the missing two at 1 (3 x its own), and the counts file re-judges to the same table."""
    import sys
    from pathlib import Path as _Path

    runs = _budget_runs(tmp_path)
    sys.path.insert(0, str(_Path(__file__).resolve().parents[1] / "benchmarks"))
    import gpu_run  # the device call's part planner

    from mtbioner.params import load_params

    preset = load_params(_Path(__file__).resolve().parents[1], [])
    preset["grid"].update(seeds=[1, 2, 3], blocks=[{"name": "x4", "datasets": ["NCBI-disease"], "fractions": [10],
                                                    "experiments": ["joint-max", "baseline"]}])
    preset["report"]["claims"] = [_claim(name="G1", a="joint-max@x4", b="baseline@x4"),
                                  _claim(name="G2", dataset="BC5CDR-chem", paper_delta=0.47),
                                  _claim(name="G3", dataset="BC2GM", paper_delta=0.71)]
    claims = gpu_run.part_overlay(preset, 1)["report"]["claims"]  # what part 1 of a device call judges
    assert [c.get("planned", True) for c in claims] == [True, False, False]
    frame = write_verdicts(runs, parse_claims(claims), tmp_path / "tables" / "verdicts", samples=500, seed=0,
                           counts_out=tmp_path / "tables" / "sentence_counts.csv.gz")
    rows = frame.set_index("claim")
    assert rows.loc["G1", "verdict_level"] == pytest.approx(1 - 0.05 / 3)
    assert rows.loc["G1", "verdict"] == verdict(rows.loc["G1", "verdict_low"], rows.loc["G1", "verdict_high"], 3.29)
    assert rows.loc["G1", "p_holm"] == pytest.approx(min(1.0, 3 * rows.loc["G1", "p_two_sided"]))
    for name in ("G2", "G3"):
        assert rows.loc[name, "verdict"] == NOT_RUN and rows.loc[name, "n_seeds"] == 0
        assert rows.loc[name, "verdict_level"] == pytest.approx(1 - 0.05 / 3) and pd.isna(rows.loc[name, "delta"])
    # judged alone (m = 1) the same G1 reads a narrower interval: the family is what changed the level
    alone = write_verdicts(runs, parse_claims(claims[:1]), tmp_path / "alone", samples=500, seed=0).iloc[0]
    assert alone["verdict_level"] == 0.95 and alone["verdict_low"] > rows.loc["G1", "verdict_low"]
    markdown = (tmp_path / "tables" / "verdicts.md").read_text(encoding="utf-8")
    assert "| G2 " in markdown and "not run (its part did not run" in markdown
    # the published file re-judges to itself, the not-run claims read back from their verdict
    capsys.readouterr()
    _run(["report", "rejudge", str(tmp_path / "tables" / "sentence_counts.csv.gz"), "--claims-from",
          str(tmp_path / "tables" / "verdicts.csv"), "--out-prefix", str(tmp_path / "again"), "--samples", "500"])
    assert "G2: not run" in capsys.readouterr().out
    pd.testing.assert_frame_equal(pd.read_csv(tmp_path / "tables" / "verdicts.csv"), pd.read_csv(tmp_path / "again.csv"))


def test_rejudge_errors_are_one_line(tmp_path, capsys):
    good = tmp_path / "good.csv"
    good.write_text("dataset,fraction,system,seed,sentence,tp,fp,fn,fp_sentence\n"
                    "BC2GM,10,baseline,1,1,0,1,0,1\nBC2GM,10,baseline,1,2,1,0,0,0\n")
    verdicts = tmp_path / "verdicts.csv"
    verdicts.write_text("claim,dataset,fraction,a,b,paper_delta,direction,family\n"
                        "c,BC2GM,10,joint-max,baseline,0.71,1,True\n")
    cases = [
        (["nowhere.csv.gz", "--claims-from", str(verdicts)], "no such counts file"),
        ([str(good)], "exactly one of --claims-from"),
        ([str(good), "--claims-from", str(verdicts)], "no counts of joint-max on BC2GM at 10 %"),
    ]
    bad_flag = tmp_path / "flag.csv"
    bad_flag.write_text(good.read_text().replace("0,1,0,1\n", "0,1,0,0\n", 1))
    cases.append(([str(bad_flag), "--claims-from", str(verdicts)], "fp_sentence disagrees with TP/FP/FN"))
    negative = tmp_path / "negative.csv"
    negative.write_text(good.read_text().replace("baseline,1,2,1,", "baseline,1,2,-1,"))
    cases.append(([str(negative), "--claims-from", str(verdicts)], "column 'tp' must hold non-negative integers"))
    gap = tmp_path / "gap.csv"
    gap.write_text(good.read_text().replace("baseline,1,2,", "baseline,1,3,"))
    cases.append(([str(gap), "--claims-from", str(verdicts)], "sentences must be numbered 1..n"))
    columns = tmp_path / "columns.csv"
    columns.write_text("dataset,system\nBC2GM,baseline\n")
    cases.append(([str(columns), "--claims-from", str(verdicts)], "missing columns"))
    for args, message in cases:
        with pytest.raises(SystemExit) as stop:
            main(["report", "rejudge", *args, "--out-prefix", str(tmp_path / "v")])
        assert stop.value.code == 2
        err = capsys.readouterr().err.strip()
        assert message in err and "Traceback" not in err and len(err.splitlines()) == 1, err


def test_verdicts_refuse_runs_on_different_test_sets(tmp_path):
    write_run(tmp_path, "BC2GM", "joint-max", fraction=10, seed=1)
    gold = gold_sentences()[:-1]  # one sentence fewer
    write_run(tmp_path, "BC2GM", "baseline", fraction=10, seed=1, gold=gold)
    runs = load_runs(sorted(tmp_path.glob("runs/*/*/*/*")))
    with pytest.raises(MtbionerError, match="not the same test set"):
        write_verdicts(runs, parse_claims([_claim(dataset="BC2GM")]), tmp_path / "v", samples=100, seed=0)


def _run(args: list[str]) -> None:
    try:
        main(args)
    except SystemExit as stop:
        assert stop.code in (0, None), f"mtbioner {' '.join(args)} exited {stop.code}"


def test_verdicts_verb_and_the_page_quote_the_verdicts(tmp_path, capsys):
    runs = _budget_runs(tmp_path)
    paths = [str(r.files.metrics) for r in runs]
    out = tmp_path / "results"
    _run(["report", "verdicts", *paths, "--claims-json", json.dumps(CLAIMS), "--out-prefix",
          str(out / "tables" / "verdicts"), "--samples", "500"])
    assert "3 claims: budget x4: holds, low resource: not estimable" in capsys.readouterr().out
    _run(["report", "tables", *paths, "--out-dir", str(out / "tables"), "--samples", "200"])
    _run(["report", "page", *paths, "--out", str(out / "report.md"), "--tables-dir", str(out / "tables"),
          "--figures-dir", str(out / "figures")])
    page = (out / "report.md").read_text(encoding="utf-8")
    assert "### Verdicts on the pre-registered claims" in page
    assert "- budget x4 — joint-max@x4 − baseline@x4, NCBI-disease 10%: Δ +7.17 F1, 95 % interval" in page
    assert "→ **holds**." in page and "Pre-registered family (2 claims): 1 holds, 1 not estimable." in page
    assert "low resource — joint-max − baseline, NCBI-disease 10%: **not estimable** (no variance" in page
    assert "joint-max@x4" in page.split("## Configuration", 1)[1].split("## Summary", 1)[0]
    for banned in ("seed noise", "seed pairs (p =", "in 1/3 seed pairs"):
        assert banned not in page
    # Tables 2-4 keep to the plain runs: no variant row
    assert "x4" not in (out / "tables" / "table3.md").read_text(encoding="utf-8")


def test_verdicts_verb_user_errors_are_one_line(tmp_path, capsys):
    run = write_run(tmp_path, "BC2GM", "baseline")
    for claims, message in (("{not json", "--claims-json: not valid JSON"),
                            ('{"a": 1}', "expected a JSON list"),
                            (json.dumps([_claim(dataset="BC2GM", fraction=100)]), "no run of joint-max on BC2GM")):
        with pytest.raises(SystemExit) as stop:
            main(["report", "verdicts", str(run), "--claims-json", claims, "--out-prefix", str(tmp_path / "v")])
        assert stop.value.code == 2
        err = capsys.readouterr().err.strip()
        assert err.startswith("error: ") and message in err and "\n" not in err
