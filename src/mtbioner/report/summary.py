"""The aggregated metrics JSON (for `dvc metrics`) and the generated prose of results/report.md.

The summary sentences are computed from the numbers, never written by hand: for each of the paper's claims
it states whether our means agree, and whether the difference lies within seed noise. A difference d of two
means is "within seed noise" when |d| <= sqrt(s_a² + s_b²), the standard deviation of the difference of two
single runs (s = sample std over seeds); with one seed the noise cannot be estimated and the sentence says so,
pointing to the bootstrap instead.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from mtbioner.atomicio import write_json
from mtbioner.report import paper_values
from mtbioner.report.aggregate import cell, runs_frame, seed_stats
from mtbioner.run.directory import FinishedRun
from mtbioner.tasks import DISPLAY_NAMES


def _clean(value: float) -> float | None:
    return None if value is None or math.isnan(value) else round(float(value), 6)


def metrics_summary(frame: pd.DataFrame) -> dict[str, Any]:
    """{dataset: {experiment: {"frac<F>": {f1, f1_std, precision, recall, false_positive_sentence_rate,
    n_seeds}}}} for every run that predicts NER (scores as fractions in [0, 1], like metrics.json)."""
    stats = {name: seed_stats(frame, column) for name, column in (
        ("f1", "ner.f1"), ("precision", "ner.precision"), ("recall", "ner.recall"),
        ("false_positive_sentence_rate", "false_positive_sentence_rate"))}
    out: dict[str, Any] = {}
    for (dataset, experiment, fraction), row in stats["f1"].iterrows():
        entry: dict[str, Any] = {"f1": _clean(row["mean"]), "f1_std": _clean(row["std"]), "n_seeds": int(row["n"])}
        for name in ("precision", "recall", "false_positive_sentence_rate"):
            entry[name] = _clean(cell(stats[name], dataset, experiment, fraction)[0])
        out.setdefault(str(dataset), {}).setdefault(str(experiment), {})[f"frac{int(fraction)}"] = entry
    return out


# ---------------------------------------------------------------------------------------------- the claims
def write_metrics_summary(runs: list[FinishedRun], out: str | Path) -> Path:
    """`metrics_summary` of `runs` as the JSON file `dvc metrics` reads."""
    write_json(out, metrics_summary(runs_frame(runs)))
    return Path(out)


def _noise(std_a: float, std_b: float) -> float:
    return math.sqrt(std_a**2 + std_b**2) if not (math.isnan(std_a) or math.isnan(std_b)) else math.nan


def _verdict(diff: float, noise: float) -> str:
    if math.isnan(noise):
        return "one seed, so seed noise is not estimated (see the bootstrap p-values)"
    if abs(diff) <= noise:
        return f"within seed noise (|Δ| ≤ {noise:.2f})"
    return f"larger than seed noise ({noise:.2f})"


def _f1(stats: pd.DataFrame, dataset: str, experiment: str, fraction: int = 100) -> tuple[float, float]:
    mean, std, _ = cell(stats, dataset, experiment, fraction)
    return mean * 100, std * 100


def shared_fraction(frame: pd.DataFrame, dataset: str, experiments: list[str]) -> int | None:
    """The largest training fraction at which `experiments[0]` and at least one of the others ran on
    `dataset` (Tables 2 and 4 compare at 100 % in the paper preset, at 10 % in config/cpu.yaml)."""
    rows = frame[frame["dataset"] == dataset]
    ran = {e: {int(f) for f in rows.loc[rows["experiment"] == e, "fraction"]} for e in experiments}
    shared = {f for other in experiments[1:] for f in ran[experiments[0]] & ran[other]}
    return max(shared, default=None)


def claim_max_pooling(frame: pd.DataFrame, datasets: list[str]) -> list[str]:
    stats = seed_stats(frame, "ner.f1")
    lines = []
    for dataset in datasets:
        fraction = shared_fraction(frame, dataset, ["joint-max", "joint-cls", "joint-mean"])
        if fraction is None:
            continue
        scores = {p: _f1(stats, dataset, f"joint-{p}", fraction) for p in ("cls", "mean", "max")}
        scores = {p: v for p, v in scores.items() if not math.isnan(v[0])}
        if len(scores) < 2 or "max" not in scores:
            continue
        best = max(scores, key=lambda p: scores[p][0])
        runner = max((p for p in scores if p != "max"), key=lambda p: scores[p][0])
        diff = scores["max"][0] - scores[runner][0]
        state = "agrees" if best == "max" else f"disagrees ({best.upper()} is best)"
        lines.append(f"{dataset} ({fraction}%): MAX {scores['max'][0]:.2f} vs {runner.upper()} {scores[runner][0]:.2f} F1 "
                     f"(Δ {diff:+.2f}) — {state}; {_verdict(diff, _noise(scores['max'][1], scores[runner][1]))}.")
    return lines


def claim_low_resource(frame: pd.DataFrame, datasets: list[str]) -> list[str]:
    stats = seed_stats(frame, "ner.f1")
    fractions = sorted({int(f) for f in frame.loc[frame["experiment"] == "joint-max", "fraction"]}, reverse=True)
    if len(fractions) < 2:
        return []
    lines, per_fraction = [], {f: [] for f in fractions}
    for dataset in datasets:
        gains = {}
        for fraction in fractions:
            ours, base = _f1(stats, dataset, "joint-max", fraction), _f1(stats, dataset, "baseline", fraction)
            if not (math.isnan(ours[0]) or math.isnan(base[0])):
                gains[fraction] = (ours[0] - base[0], _noise(ours[1], base[1]))
                per_fraction[fraction].append(gains[fraction][0])
        if len(gains) < 2:
            continue
        small, full = min(gains), max(gains)
        state = "agrees" if gains[small][0] > gains[full][0] else "disagrees"
        listing = ", ".join(f"{f}%: {g:+.2f}" for f, (g, _) in sorted(gains.items(), reverse=True))
        lines.append(f"{dataset}: joint-max − baseline F1 by training size {listing} — {state} (gain at {small}% "
                     f"{'>' if state == 'agrees' else '≤'} gain at {full}%); the {small}% gain is "
                     f"{_verdict(gains[small][0], gains[small][1])}.")
    averages = ", ".join(f"{f}%: {np.mean(v):+.2f}" for f, v in per_fraction.items() if v)
    if averages:
        lines.append(f"Average gain over datasets: {averages} (paper: {paper_average_gains_text()}).")
    return lines


def paper_average_gains_text() -> str:
    """The paper's average low-resource gains, computed from its Table 3, and how its prose differs."""
    table = paper_values.table3_average_gains()
    prose = paper_values.TABLE3_PROSE_AVERAGE_GAINS
    from_table = ", ".join(f"{f}%: {g:+.2f}" for f, g in table.items())
    quoted = ", ".join(f"{g:.2f}" for g in prose.values())
    at = "/".join(f"{f}" for f in prose)
    return (f"{from_table} — Ours − SOTA F1 of its Table 3, averaged over "
            f"{', '.join(paper_values.PAPER_DATASETS)}; the paper's prose (Section 4.3) states averages of "
            f"{quoted} at {at}%, which differ from its own Table 3")


def claim_joint_vs(frame: pd.DataFrame, datasets: list[str], other: str, label: str) -> list[str]:
    stats = seed_stats(frame, "ner.f1")
    lines = []
    for dataset in datasets:
        fraction = shared_fraction(frame, dataset, ["joint-max", other])
        if fraction is None:
            continue
        ours, rival = _f1(stats, dataset, "joint-max", fraction), _f1(stats, dataset, other, fraction)
        if math.isnan(ours[0]) or math.isnan(rival[0]):
            continue
        diff = ours[0] - rival[0]
        state = "agrees" if diff > 0 else "disagrees"
        lines.append(f"{dataset} ({fraction}%): joint-max {ours[0]:.2f} vs {label} {rival[0]:.2f} F1 (Δ {diff:+.2f}) — {state}; "
                     f"{_verdict(diff, _noise(ours[1], rival[1]))}.")
    return lines


def claim_token_labels_help(gains: pd.DataFrame) -> list[str]:
    """Paper 4.5: sentence-level main tasks gain more from token-level secondaries (NER, mtCLS)."""
    if gains.empty or gains["gain"].isna().all():
        return []
    lines = []
    part = gains[gains["main"].isin(["bcls", "mcls"])].dropna(subset=["gain"])
    for dataset in sorted(part["dataset"].unique()):
        rows = part[part["dataset"] == dataset]
        token = rows[rows["secondary"].isin(["ner", "mt"])]["gain"]
        sentence = rows[rows["secondary"].isin(["bcls", "mcls"])]["gain"]
        if token.empty or sentence.empty:
            continue
        state = "agrees" if token.mean() > sentence.mean() and token.mean() > 0 else "disagrees"
        lines.append(f"{dataset}: bCLS/mCLS gain on average {token.mean():+.2f} pp with a token-level secondary "
                     f"task (NER, mtCLS) vs {sentence.mean():+.2f} pp with the other sentence-level task — {state}.")
    return lines


def claim_ablations(frame: pd.DataFrame, datasets: list[str]) -> list[str]:
    lines = []
    for experiment, task in (("no-bcls", "bcls"), ("no-mcls", "mcls"), ("no-mtcls", "mt")):
        lines += [line.replace("joint-max", "joint-max (all tasks)")
                  for line in claim_joint_vs(frame, datasets, experiment, f"w/o {DISPLAY_NAMES[task]}")]
    return lines


def significance_lines(significance: pd.DataFrame) -> list[str]:
    """One line per (dataset, experiment, fraction, reference) of significance.csv. Rows tested against the
    baseline ask for the model's gain; rows tested against joint-max (Table 4) ask whether joint-max beats
    the ablation. Files without a `reference` column hold baseline rows only."""
    if significance.empty:
        return []
    if "reference" not in significance.columns:
        significance = significance.assign(reference="baseline")
    lines = []
    for (dataset, experiment, fraction, reference), group in significance.groupby(
            ["dataset", "experiment", "fraction", "reference"]):
        hypothesis = (str(group["hypothesis"].iloc[0]) if "hypothesis" in group.columns
                      else f"{experiment} > {reference}")
        if hypothesis == f"{experiment} > {reference}":
            claim = f"significant gain over the {reference}"
        else:
            claim = f"{reference} significantly better than {experiment}"
        lines.append(f"{dataset} {experiment} ({fraction}%): {claim} in "
                     f"{int(group['significant'].sum())}/{len(group)} seed pairs (p = "
                     f"{', '.join(f'{p:.3f}' for p in group['p_value'])}).")
    return lines


def generated_summary(frame: pd.DataFrame, significance: pd.DataFrame, gains: pd.DataFrame) -> str:
    datasets = sorted(frame["dataset"].unique())
    sections = [
        ("MAX pooling is the best pooling (paper Table 2)", claim_max_pooling(frame, datasets)),
        ("Gains are larger with less training data (paper Table 3)", claim_low_resource(frame, datasets)),
        ("Joint training beats alternating MT-DNN training (paper Table 4)",
         claim_joint_vs(frame, datasets, "alternating", "alternating")),
        ("Every auxiliary task helps (paper Table 4)", claim_ablations(frame, datasets)),
        ("Token-level labels help the sentence-level tasks (paper Figure 5)", claim_token_labels_help(gains)),
        ("Paired bootstrap: each model against our baseline; for Table 4, joint-max against each ablation",
         significance_lines(significance)),
    ]
    out = []
    for title, lines in sections:
        out.append(f"**{title}.**")
        out += [f"- {line}" for line in lines] if lines else ["- not measured in this configuration (no runs)."]
        out.append("")
    return "\n".join(out)
