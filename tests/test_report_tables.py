"""Tables 2-4 from hand-made metric files: means, sample stds, the paper's values, deltas, marks, formats."""

from __future__ import annotations

import json
import math

import pandas as pd
import pytest

from mtbioner.errors import MtbionerError
from mtbioner.report.stats.aggregate import runs_frame, seed_stats
from mtbioner.run.directory import load_runs
from mtbioner.report.render.summary import generated_summary, metrics_summary
from mtbioner.report.render.tables import (TABLE_SPECS, _significance_marks, render_table, significance_frame, table_frame,
                                    wide_frame)
from test_report_fixtures import predictions, write_run


def _ner(p: float, r: float, f: float, fp: float = 0.02) -> dict:
    return {"ner": {"precision": p, "recall": r, "f1": f}, "false_positive_sentence_rate": fp}


@pytest.fixture
def runs(tmp_path):
    # baseline: F1 0.80 / 0.82 / 0.84 over three seeds -> mean 82.00, sample std 2.00
    for seed, f1 in zip((1, 2, 3), (0.80, 0.82, 0.84)):
        write_run(tmp_path, "BC2GM", "baseline", seed=seed, metrics=_ner(0.81, 0.83, f1, fp=0.01 * seed))
    # joint-max: 0.85 / 0.86 / 0.87 -> 86.00 ± 1.00
    for seed, f1 in zip((1, 2, 3), (0.85, 0.86, 0.87)):
        write_run(tmp_path, "BC2GM", "joint-max", seed=seed, metrics=_ner(0.84, 0.85, f1))
    # joint-cls with one seed: no std
    write_run(tmp_path, "BC2GM", "joint-cls", seed=1, metrics=_ner(0.8, 0.8, 0.8))
    # Table 3 cell at 10 %
    write_run(tmp_path, "BC2GM", "baseline", fraction=10, seed=1, metrics=_ner(0.7, 0.7, 0.70))
    write_run(tmp_path, "BC2GM", "joint-max", fraction=10, seed=1, metrics=_ner(0.75, 0.75, 0.75))
    return load_runs(sorted(tmp_path.glob("runs/*/*/*/*/metrics.json")))


def _row(long: pd.DataFrame, experiment: str, metric: str, fraction: int = 100) -> pd.Series:
    rows = long[(long["experiment"] == experiment) & (long["metric"] == metric) & (long["fraction"] == fraction)]
    assert len(rows) == 1
    return rows.iloc[0]


def test_mean_std_paper_and_delta(runs):
    frame = runs_frame(runs)
    empty = pd.DataFrame(columns=["dataset", "experiment", "fraction", "seed", "significant"])
    long = table_frame(TABLE_SPECS[2], frame, empty)
    base = _row(long, "baseline", "f1")
    assert base["mean"] == pytest.approx(82.0) and base["std"] == pytest.approx(2.0) and base["n_seeds"] == 3
    assert base["paper"] == 84.38 and base["model"] == "SOTA*"
    assert base["delta"] == pytest.approx(82.0 - 84.38)
    ours = _row(long, "joint-max", "f1")
    assert ours["mean"] == pytest.approx(86.0) and ours["std"] == pytest.approx(1.0)
    assert ours["delta"] == pytest.approx(86.0 - 84.78)
    cls = _row(long, "joint-cls", "f1")
    assert cls["n_seeds"] == 1 and math.isnan(cls["std"])
    mean_row = _row(long, "joint-mean", "f1")  # no run at all
    assert mean_row["n_seeds"] == 0 and math.isnan(mean_row["mean"]) and mean_row["paper"] == 84.04
    fp = _row(long, "baseline", "false_positive_sentence_rate")
    assert fp["mean"] == pytest.approx(2.0) and fp["std"] == pytest.approx(1.0)

    wide = wide_frame(long, TABLE_SPECS[2])
    by_model = wide.set_index("Model")
    assert by_model.loc["SOTA*", "F1"] == "82.00 ± 2.00"
    assert by_model.loc["SOTA*", "ΔF1"] == "-2.38"
    assert by_model.loc["Ours CLS", "F1"] == "80.00"  # one seed: no ± part
    assert by_model.loc["Ours MEAN", "F1"] == "–"


def test_table3_fractions_and_paper_columns(runs):
    frame = runs_frame(runs)
    long = table_frame(TABLE_SPECS[3], frame, pd.DataFrame(columns=["dataset", "experiment", "fraction", "significant"]))
    assert sorted(long["fraction"].unique(), reverse=True) == [100, 10]
    ten = _row(long, "joint-max", "f1", fraction=10)
    assert ten["mean"] == pytest.approx(75.0) and ten["paper"] == 77.93 and ten["model"] == "Ours"
    assert _row(long, "baseline", "recall", fraction=10)["paper"] == 79.27


def test_significance_marks_and_all_formats(tmp_path):
    entity_sentences = [i for i in range(30) if i % 3]
    weak = predictions(miss=set(entity_sentences[:12]))
    for seed in (1, 2):
        write_run(tmp_path, "NCBI-disease", "baseline", seed=seed, pred=weak)
        write_run(tmp_path, "NCBI-disease", "joint-max", seed=seed, pred=predictions())
        write_run(tmp_path, "NCBI-disease", "no-bcls", seed=seed, pred=weak)
    runs = load_runs(sorted(tmp_path.glob("runs/*/*/*/*")))
    frame = runs_frame(runs)
    significance = significance_frame(runs, samples=300)
    # Table 2: joint-max's gain over the baseline; Table 4: joint-max better than the ablation, so the †
    # moves to the ablation's row and the full model's row has nothing to be tested against there
    assert _row(table_frame(TABLE_SPECS[2], frame, significance), "joint-max", "f1")["significant_pairs"] == 2
    spec = TABLE_SPECS[4]
    long = table_frame(spec, frame, significance)
    assert _row(long, "joint-max", "f1")[["significant_pairs", "seed_pairs"]].tolist() == [0, 0]
    assert _row(long, "no-bcls", "f1")[["significant_pairs", "seed_pairs"]].tolist() == [2, 2]
    paths = render_table(spec, long, tmp_path / "tables" / "table4")
    markdown, latex, csv = (p.read_text(encoding="utf-8") for p in paths)
    rows = {line.split("|")[2].strip(): line for line in markdown.splitlines() if line.startswith("| NCBI")}
    assert "100.00 ± 0.00 |" in rows["Ours"] and "†" not in rows["Ours"]
    assert "†" in rows["w/o bCLS"] and "89.91" in rows["Ours"]
    assert "† on an ablation's row = Ours (joint-max, the full model) is significantly better" in markdown
    assert "\\begin{tabular}" in latex and "$^\\dagger$" in latex and "$\\pm$" in latex
    assert not {"†", "±", "Δ", "–", "−"} & set(latex)  # plain pdflatex can typeset it
    table = pd.read_csv(paths[2])
    assert set(table["metric"]) == {"precision", "recall", "f1", "false_positive_sentence_rate"}
    assert len(table) == 5 * 4  # five models × four metrics for one dataset


def test_table4_dagger_marks_ablations_that_joint_max_beats(tmp_path):
    """† on an ablation's row = joint-max significantly better than it (one-sided), keyed by fraction too."""
    entity_sentences = [i for i in range(30) if i % 3]
    full = predictions(miss=set(entity_sentences[:4]))  # joint-max misses 4 of 30 entities
    clearly_worse = predictions(miss=set(entity_sentences[:14]))  # misses the same 4 and 10 more
    for seed in (1, 2):
        for fraction in (100, 50):
            write_run(tmp_path, "BC2GM", "baseline", fraction=fraction, seed=seed, pred=clearly_worse)
            write_run(tmp_path, "BC2GM", "joint-max", fraction=fraction, seed=seed, pred=full)
            write_run(tmp_path, "BC2GM", "no-bcls", fraction=fraction, seed=seed, pred=clearly_worse)
            write_run(tmp_path, "BC2GM", "no-mcls", fraction=fraction, seed=seed, pred=predictions())  # better
        write_run(tmp_path, "BC2GM", "no-mt", seed=seed, pred=full)  # the same as joint-max
        write_run(tmp_path, "BC2GM", "alternating", seed=seed, pred=clearly_worse)
    runs = load_runs(sorted(tmp_path.glob("runs/*/*/*/*")))
    significance = significance_frame(runs, samples=300)

    ablations = significance[significance["reference"] == "joint-max"].set_index(["experiment", "fraction", "seed"])
    assert sorted(set(ablations.index.get_level_values(0))) == ["alternating", "no-bcls", "no-mcls", "no-mt"]
    worse = ablations.loc[("no-bcls", 50, 1)]
    assert worse["hypothesis"] == "joint-max > no-bcls" and worse["significant"]
    assert worse["f1_reference"] == pytest.approx(52 / 56) and worse["f1_experiment"] == pytest.approx(32 / 46)
    assert worse["delta"] == pytest.approx(52 / 56 - 32 / 46) and worse["p_value"] < 0.01
    better = ablations.loc[("no-mcls", 100, 2)]
    assert better["delta"] == pytest.approx(52 / 56 - 1.0) and better["p_value"] > 0.5 and not better["significant"]
    assert not ablations.loc[("no-mt", 100, 1)]["significant"]
    # the tests against the baseline are still there, in their own direction
    base = significance[significance["reference"] == "baseline"].set_index(["experiment", "fraction", "seed"])
    assert base.loc[("joint-max", 100, 1)]["hypothesis"] == "joint-max > baseline"
    assert base.loc[("joint-max", 100, 1)]["significant"] and not base.loc[("no-bcls", 100, 1)]["significant"]
    gain = base.loc[("no-mcls", 50, 2)]
    assert gain["hypothesis"] == "no-mcls > baseline" and gain["significant"]

    marks = _significance_marks(significance, TABLE_SPECS[4])
    assert marks[("BC2GM", "no-bcls", 50)] == (2, 2) and marks[("BC2GM", "no-mcls", 50)] == (0, 2)
    assert ("BC2GM", "joint-max", 100) not in marks
    assert _significance_marks(significance, TABLE_SPECS[2])[("BC2GM", "joint-max", 50)] == (2, 2)

    long = table_frame(TABLE_SPECS[4], runs_frame(runs), significance)
    # the ablations ran at 100 and 50 %, so Table 4 shows both sizes (alternating ran at 100 % only)
    both = wide_frame(long, TABLE_SPECS[4])
    assert list(both["Size"]) == ["100%"] * 5 + ["50%"] * 5
    assert both[(both["Size"] == "50%") & (both["Model"] == "w/o bCLS")]["F1"].iloc[0].endswith(" †")
    wide = both[both["Size"] == "100%"].set_index("Model")
    assert wide.loc["w/o bCLS", "F1"].endswith(" †") and wide.loc["w/o Joint", "F1"].endswith(" †")
    for model in ("Ours", "w/o mCLS", "w/o mtCLS"):
        assert "†" not in wide.loc[model, "F1"], model
    # Table 2 keeps the vs-baseline meaning: joint-max's gain is marked, the ablation rows are not in it
    # (no pooling variant ran, so Table 2 shows the 100 % baseline and joint-max only)
    wide2 = wide_frame(table_frame(TABLE_SPECS[2], runs_frame(runs), significance), TABLE_SPECS[2]).set_index("Model")
    assert wide2.loc["Ours MAX", "F1"].endswith(" †") and "†" not in wide2.loc["SOTA*", "F1"]


def test_metrics_summary_for_dvc(runs):
    summary = metrics_summary(runs_frame(runs))
    entry = summary["BC2GM"]["baseline"]["frac100"]
    assert entry["f1"] == pytest.approx(0.82) and entry["f1_std"] == pytest.approx(0.02) and entry["n_seeds"] == 3
    assert summary["BC2GM"]["joint-cls"]["frac100"]["f1_std"] is None  # one seed: JSON null, never NaN
    json.dumps(summary, allow_nan=False)


def _no_verdicts():
    from mtbioner.report.render.summary import VERDICT_COLUMNS, Verdicts

    return Verdicts(pd.DataFrame(columns=VERDICT_COLUMNS))


def test_generated_summary_states_means_and_that_nothing_is_decided_without_claims(runs):
    from mtbioner.report.render.summary import VERDICT_COLUMNS

    frame = runs_frame(runs)
    text = generated_summary(frame, pd.DataFrame(columns=VERDICT_COLUMNS), pd.DataFrame(columns=["gain"]))
    # MAX (86.00 ± 1.00, 3 seeds) beats CLS (80.00, one seed): the means only, no verdict without a claim
    assert ("BC2GM (100%): MAX 86.00 vs CLS 80.00 F1 (Δ +6.00, 3 / 1 seeds) — MAX has the highest mean; no "
            "pre-registered claim covers it, so no verdict." in text)
    # gains: 100 %: +4.00, 10 %: +5.00 -> larger with less data (of the means)
    assert "100%: +4.00, 10%: +5.00 — the gain of the means is larger at 10% than at 100%" in text
    # like with like: the one dataset with both sizes, beside the paper's Table 3 over the same dataset
    # (BC2GM: 84.78 − 84.40 = +0.38 at 100 %, 77.93 − 77.22 = +0.71 at 10 %)
    assert ("Average gain (joint-max − baseline F1) over BC2GM — the datasets with runs at every size shown: "
            "100%: +4.00, 10%: +5.00 (the paper's Table 3 over the same datasets: 100%: +0.38, 10%: +0.71)." in text)
    assert "the paper's prose (Section 4.3) states averages of 0.56, 0.79, 1.72 at 50/25/10%" in text
    assert "no claims were pre-registered" in text and "not measured in this configuration" in text
    for banned in ("seed noise", "seed pairs (p", "agrees;"):
        assert banned not in text


def test_average_gain_compares_like_with_like():
    from mtbioner.report.render.summary import average_gain_lines

    gains = {"NCBI-disease": {100: 0.5, 10: -0.1}, "BC2GM": {10: -1.0}, "BC5CDR-chem": {10: 0.4}}
    complete, partial = average_gain_lines(gains, [100, 10])
    # only NCBI-disease ran at both sizes; the paper's NCBI-disease gains: 89.91 − 89.36, 83.39 − 80.10
    assert complete == ("Average gain (joint-max − baseline F1) over NCBI-disease — the datasets with runs at "
                        "every size shown: 100%: +0.50, 10%: -0.10 (the paper's Table 3 over the same datasets: "
                        "100%: +0.55, 10%: +3.29).")
    assert partial == "Not averaged in (not measured at every size): BC2GM at 10%; BC5CDR-chem at 10%."


def test_summary_quotes_each_verdict_and_attaches_it_to_its_comparison(runs):
    from mtbioner.report.render.summary import VERDICT_COLUMNS

    row = {"claim": "low-resource BC2GM", "dataset": "BC2GM", "fraction": 10, "a": "joint-max", "b": "baseline",
           "family": True, "n_seeds": 5, "n_sentences": 5038, "delta": 0.71, "low": -0.2, "high": 1.6,
           "widened": True, "verdict_level": 1 - 0.05 / 3, "verdict_low": -0.5, "verdict_high": 1.9,
           "p_one_sided": 0.061, "p_two_sided": 0.122, "p_holm": 0.366, "mde": 1.3, "verdict": "inconclusive",
           "paper_delta": 0.71, "direction": 1, "fp_delta": -1.5, "fp_low": -2.5, "fp_high": -0.5, "note": "",
           "f1_a": 58.0, "f1_b": 57.3}
    verdicts = pd.DataFrame([row], columns=VERDICT_COLUMNS)
    text = generated_summary(runs_frame(runs), verdicts, pd.DataFrame(columns=["gain"]))
    assert ("- low-resource BC2GM — joint-max − baseline, BC2GM 10%: Δ +0.71 F1, 95 % interval [-0.20, +1.60], "
            "widened to the t / sentence intervals (5 seeds × 5038 test sentences); the verdict reads the family's "
            "98.33 % interval [-0.50, +1.90], two-sided p = 0.1220, Holm p = 0.3660 (two-sided), MDE 1.30; paper Δ "
            "+0.71 → **inconclusive**. False-positive sentences, joint-max − baseline: -1.50 percentage points, 95 % "
            "interval [-2.50, -0.50]." in text)
    assert "Pre-registered family (1 claims): 1 inconclusive." in text
    assert "at 10%: verdict of claim “low-resource BC2GM”: **inconclusive** (Δ joint-max − baseline +0.71" in text


def test_seed_stats_ignore_missing_metrics(runs):
    frame = runs_frame(runs)
    stats = seed_stats(frame, "mt.f1")
    assert stats.empty


def test_duplicate_run_is_refused(tmp_path):
    a = write_run(tmp_path / "a", "BC2GM", "baseline")
    b = write_run(tmp_path / "b", "BC2GM", "baseline")
    with pytest.raises(MtbionerError, match="same dataset/experiment/variant/fraction/seed"):
        load_runs([a, b])


def test_missing_metrics_file_names_the_path(tmp_path):
    run = write_run(tmp_path, "BC2GM", "baseline")
    (run / "metrics.json").unlink()
    with pytest.raises(MtbionerError, match="metrics.json: missing"):
        load_runs([run])


def test_generated_claims_for_ablations_alternating_and_pairs(tmp_path):
    from mtbioner.report.render.summary import claim_ablations, claim_joint_vs, claim_token_labels_help

    for seed, (ours, alt, no_b) in zip((1, 2), ((0.90, 0.80, 0.895), (0.92, 0.81, 0.925))):
        write_run(tmp_path, "NCBI-disease", "joint-max", seed=seed, metrics=_ner(ours, ours, ours))
        write_run(tmp_path, "NCBI-disease", "alternating", seed=seed, metrics=_ner(alt, alt, alt))
        write_run(tmp_path, "NCBI-disease", "no-bcls", seed=seed, metrics=_ner(no_b, no_b, no_b))
    frame = runs_frame(load_runs(sorted(tmp_path.glob("runs/*/*/*/*"))))
    [alternating] = claim_joint_vs(frame, ["NCBI-disease"], "alternating", "alternating", _no_verdicts())
    assert alternating == ("NCBI-disease (100%): joint-max 91.00 vs alternating 80.50 F1 (Δ +10.50, 2 / 2 seeds) — "
                           "the means point the paper's way; no pre-registered claim covers it, so no verdict.")
    [ablation] = claim_ablations(frame, ["NCBI-disease"], _no_verdicts())
    assert ablation.startswith("NCBI-disease (100%): joint-max (all tasks) 91.00 vs w/o bCLS 91.00 F1 (Δ +0.00")
    assert "the means are equal" in ablation

    gains = pd.DataFrame([
        {"dataset": "BC2GM", "main": "mcls", "secondary": "ner", "gain": 1.0},
        {"dataset": "BC2GM", "main": "mcls", "secondary": "mt", "gain": 0.6},
        {"dataset": "BC2GM", "main": "mcls", "secondary": "bcls", "gain": 0.2},
        {"dataset": "BC2GM", "main": "bcls", "secondary": "mcls", "gain": -0.2},
        {"dataset": "BC2GM", "main": "ner", "secondary": "mt", "gain": 5.0},  # NER as main: not part of this claim
    ])
    [pairs] = claim_token_labels_help(gains)
    assert pairs.startswith("BC2GM: bCLS/mCLS gain on average +0.80 pp with a token-level secondary task")
    assert "vs +0.00 pp with the other sentence-level task — the means point the paper's way (no verdict" in pairs


def test_pooling_and_ablations_compared_where_they_ran_and_tables_show_that_fraction(tmp_path):
    """config/cpu.yaml runs pooling variants and ablations at 10 % only: the claims and Tables 2/4 use 10 %,
    not joint-max's 100 % runs, and the tables say which size they show."""
    from mtbioner.report.render.summary import claim_joint_vs, claim_max_pooling
    from mtbioner.report.render.tables import TABLE_SPECS, table_frame, wide_frame

    write_run(tmp_path, "NCBI-disease", "joint-max", fraction=100, metrics=_ner(0.95, 0.95, 0.95))
    write_run(tmp_path, "NCBI-disease", "joint-max", fraction=10, metrics=_ner(0.70, 0.70, 0.70))
    write_run(tmp_path, "NCBI-disease", "joint-cls", fraction=10, metrics=_ner(0.60, 0.60, 0.60))
    write_run(tmp_path, "NCBI-disease", "no-bcls", fraction=10, metrics=_ner(0.65, 0.65, 0.65))
    write_run(tmp_path, "NCBI-disease", "baseline", fraction=10, metrics=_ner(0.68, 0.68, 0.68))
    frame = runs_frame(load_runs(sorted(tmp_path.glob("runs/*/*/*/*"))))
    [pooling] = claim_max_pooling(frame, ["NCBI-disease"], _no_verdicts())
    assert pooling.startswith("NCBI-disease (10%): MAX 70.00 vs CLS 60.00 F1 (Δ +10.00, 1 / 1 seeds) — MAX has")
    [ablation] = claim_joint_vs(frame, ["NCBI-disease"], "no-bcls", "w/o bCLS", _no_verdicts())
    assert ablation.startswith("NCBI-disease (10%): joint-max 70.00 vs w/o bCLS 65.00 F1")
    empty = pd.DataFrame(columns=["dataset", "experiment", "fraction", "seed", "p_value", "significant"])
    table4 = table_frame(TABLE_SPECS[4], frame, empty)
    assert set(table4["fraction"]) == {10}
    wide = wide_frame(table4, TABLE_SPECS[4])
    assert list(wide["Size"].unique()) == ["10%"]
    assert wide.loc[wide["Model"] == TABLE_SPECS[4].row_names["joint-max"], "F1"].iloc[0].startswith("70.00")
    # the paper's Table 4 is at full data: never beside a 10 % run (no paper value, no Δ), and the caption says so
    assert table4["paper"].isna().all() and table4["delta"].isna().all()
    assert set(wide["F1 paper"]) == {"–"} and set(wide["ΔF1"]) == {"–"}
    from mtbioner.report.render.tables import caption

    assert "at 10% the paper and Δ columns are left empty" in caption(TABLE_SPECS[4], 0.05, {10})
    assert "left empty" not in caption(TABLE_SPECS[4], 0.05, {100})
    # Table 3 is the paper's low-resource table: its 10 % values stay
    table3 = table_frame(TABLE_SPECS[3], frame, empty)
    assert table3[(table3["experiment"] == "joint-max") & (table3["metric"] == "f1")]["paper"].tolist() == [89.91, 83.39]


def test_variant_runs_stay_out_of_the_tables_and_apart_in_the_summary(tmp_path):
    """A training-budget variant (joint-max@x4) is its own cell: never pooled with joint-max, never in
    Tables 2-4, and summary.json keys it by its label."""
    from mtbioner.report.render.tables import write_tables

    for seed, (plain_f1, x4_f1) in zip((1, 2), ((0.70, 0.90), (0.72, 0.92))):
        write_run(tmp_path, "NCBI-disease", "baseline", fraction=10, seed=seed, metrics=_ner(0.6, 0.6, 0.6))
        write_run(tmp_path, "NCBI-disease", "joint-max", fraction=10, seed=seed, metrics=_ner(plain_f1, plain_f1, plain_f1))
        write_run(tmp_path, "NCBI-disease", "joint-max", fraction=10, seed=seed, variant="x4",
                  metrics=_ner(x4_f1, x4_f1, x4_f1))
    runs = load_runs(sorted(tmp_path.glob("runs/*/*/*/*")))
    assert {r.label for r in runs} == {"baseline", "joint-max", "joint-max@x4"}
    frame = runs_frame(runs)
    stats = seed_stats(frame, "ner.f1")
    assert stats.loc[("NCBI-disease", "joint-max", 10), "mean"] == pytest.approx(0.71)
    assert stats.loc[("NCBI-disease", "joint-max@x4", 10), "mean"] == pytest.approx(0.91)
    summary = metrics_summary(frame)
    assert summary["NCBI-disease"]["joint-max@x4"]["frac10"]["f1"] == pytest.approx(0.91)
    long = table_frame(TABLE_SPECS[3], frame, pd.DataFrame(columns=["dataset", "experiment", "fraction", "significant"]))
    assert _row(long, "joint-max", "f1", fraction=10)["mean"] == pytest.approx(71.0)
    assert _row(long, "joint-max", "f1", fraction=10)["n_seeds"] == 2
    # the metrics-only runs have no predictions: the tables verb then tests nothing but still refuses variants
    with pytest.raises(MtbionerError, match="plain runs"):
        write_tables([r for r in runs if r.variant], tmp_path / "t", samples=100, seed=0, alpha=0.05)


def test_false_positive_sentences_mcnemar_per_seed_and_pooled_by_sentence(tmp_path):
    """Entity-free test sentences are 0, 3, ..., 27 (10). Seed 1: the baseline predicts an entity in 0, 3, 6 and
    joint-max in 0 -> discordant 2 : 0, p = 2 · ½² = 0.5. Seed 2: baseline 3, 6, 9, 12; joint-max 27 -> 4 : 1,
    p = 2 · (1 + 5) / 2⁵ = 0.375. Pooled with the sentence as the unit: per sentence baseline-seeds minus
    joint-max-seeds = 0 (s0), 2, 2, 1, 1 (s3-s12), −1 (s27) -> 4 : 1, p = 2 · (1 + 5) / 2⁵ = 0.375 (summing
    the seeds' tables instead would count 6 : 1, p = 0.125, as if the seeds had different sentences)."""
    from mtbioner.report.render.tables import fp_mcnemar_frame, fp_rate_frame, render_fp_rates

    spurious = {1: ({0, 3, 6}, {0}), 2: ({3, 6, 9, 12}, {27})}
    for seed, (base, ours) in spurious.items():
        write_run(tmp_path, "BC2GM", "baseline", fraction=10, seed=seed, pred=predictions(spurious=base))
        write_run(tmp_path, "BC2GM", "joint-max", fraction=10, seed=seed, pred=predictions(spurious=ours))
    write_run(tmp_path, "BC2GM", "joint-max", fraction=10, seed=1, variant="x4", pred=predictions())  # ignored
    runs = load_runs(sorted(tmp_path.glob("runs/*/*/*/*")))
    tests = fp_mcnemar_frame(runs).set_index("seed")
    assert tests.loc["1", ["entity_free_sentences", "fp_baseline_only", "fp_joint_max_only"]].tolist() == [10, 2, 0]
    assert tests.loc["1", "p_value"] == pytest.approx(0.5)
    assert tests.loc["2", ["fp_baseline_only", "fp_joint_max_only"]].tolist() == [4, 1]
    assert tests.loc["2", "p_value"] == pytest.approx(0.375)
    assert tests.loc["pooled", ["entity_free_sentences", "fp_baseline_only", "fp_joint_max_only"]].tolist() == [10, 4, 1]
    assert tests.loc["pooled", "p_value"] == pytest.approx(0.375)
    assert set(tests["fraction"]) == {10}

    rates = fp_rate_frame(runs_frame(runs))
    base = rates[rates["experiment"] == "baseline"].iloc[0]
    assert base["fraction"] == 10 and base["mean"] == pytest.approx(35.0)  # 3/10 and 4/10
    assert math.isnan(base["paper_unspecified_model"])  # the paper's 2.38 % is a full-data rate
    assert "joint-max@x4" not in set(rates["experiment"])
    markdown = render_fp_rates(rates, tmp_path / "fp_rates", fp_mcnemar_frame(runs))[0].read_text(encoding="utf-8")
    assert "Paired test per sentence, baseline vs joint-max" in markdown and "| pooled " in markdown


def test_the_summary_explains_the_mtcls_gap_when_mtcls_is_scored(runs):
    from mtbioner.report.render.summary import VERDICT_COLUMNS

    frame = runs_frame(runs)  # the fixtures score NER only
    empty = (pd.DataFrame(columns=VERDICT_COLUMNS), pd.DataFrame(columns=["gain"]))
    assert "not a scoring defect" not in generated_summary(frame, *empty)
    assert "not a scoring defect" in generated_summary(frame.assign(**{"mt.f1": 0.58}), *empty)


def test_table4_shows_the_ablation_of_a_task_added_beyond_the_paper(tmp_path):
    """A preset that adds a task (grid.tasks with tcls) also trains joint-max without it: Table 4 shows that
    run as `w/o tCLS`, before w/o Joint, with no paper value; the † test covers it; the paper's rows are kept."""
    from mtbioner.report.render.tables import table_specs, write_tables

    entity_sentences = [i for i in range(30) if i % 3]
    for seed in (1, 2):
        write_run(tmp_path, "BC5CDR", "joint-max", seed=seed, pred=predictions(miss=set(entity_sentences[:2])))
        write_run(tmp_path, "BC5CDR", "no-tcls", seed=seed, pred=predictions(miss=set(entity_sentences[:12])))
        write_run(tmp_path, "BC5CDR", "no-bcls", seed=seed, pred=predictions(miss=set(entity_sentences[:3])))
    runs = load_runs(sorted(tmp_path.glob("runs/*/*/*/*")))
    spec = table_specs({run.experiment for run in runs})[4]
    assert spec.experiments == ("joint-max", "no-bcls", "no-mcls", "no-mt", "no-tcls", "alternating")
    assert spec.row_names["no-tcls"] == "w/o tCLS" and table_specs({"no-bcls"}) == TABLE_SPECS
    significance = write_tables(runs, tmp_path / "tables", samples=300, seed=1, alpha=0.05)
    assert set(significance.loc[significance["reference"] == "joint-max", "experiment"]) == {"no-bcls", "no-tcls"}
    table4 = (tmp_path / "tables" / "table4.md").read_text(encoding="utf-8")
    lines = [line for line in table4.splitlines() if line.startswith("| BC5CDR")]
    assert [line.split("|")[2].strip() for line in lines] == ["Ours", "w/o bCLS", "w/o mCLS", "w/o mtCLS",
                                                               "w/o tCLS", "w/o Joint"]
    tcls_row = lines[4].split("|")
    assert tcls_row[9].strip().endswith("†") and tcls_row[10].strip() == "–"  # F1 with †, no paper F1
