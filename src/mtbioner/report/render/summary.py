"""The aggregated metrics JSON (for `dvc metrics`) and the generated prose of results/<name>/report.md.

The summary sentences are computed from the numbers, never written by hand. What decides a claim is its
verdict (tables/verdicts.csv, `mtbioner.report.stats.verdict_table`): an interval over seeds and test sentences,
Holm-corrected p and the pre-registered rule. The summary lists those first; for each of the paper's
comparisons it then states our seed means and which way they point, with the verdict of the claim that covers
the comparison — or says that no claim was pre-registered for it, so no verdict is drawn (per-seed-pair
bootstraps in significance.csv are detail, never a verdict).

Averages over datasets compare like with like: the low-resource gain is averaged over the datasets that ran
at every fraction shown, beside the paper's Table 3 average over the same datasets.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from mtbioner.atomicio import write_json
from mtbioner.report import paper_values
from mtbioner.report.stats.aggregate import cell, plain, runs_frame, seed_stats
from mtbioner.run.directory import FinishedRun
from mtbioner.plan.grid import ablations
from mtbioner.tasks import REGISTRY, TASKS, display_name


def _clean(value: float) -> float | None:
    return None if value is None or math.isnan(value) else round(float(value), 6)


def metrics_summary(frame: pd.DataFrame) -> dict[str, Any]:
    """{dataset: {label: {"frac<F>": {f1, f1_std, precision, recall, false_positive_sentence_rate,
    n_seeds}}}} for every run that predicts NER (scores as fractions in [0, 1], like metrics.json); label =
    the experiment, or experiment@variant for a variant's runs."""
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


def _f1(stats: pd.DataFrame, dataset: str, experiment: str, fraction: int = 100) -> tuple[float, float, int]:
    mean, std, n = cell(stats, dataset, experiment, fraction)
    return mean * 100, std * 100, n


def _p(value: float) -> str:
    return f"{value:.4f}" if value >= 0.0001 else f"{value:.1e}"


def _present(value: Any) -> bool:
    return value is not None and not (isinstance(value, float) and math.isnan(value))


def verdict_line(row: pd.Series) -> str:
    """One claim's verdict in words, every number from its verdicts.csv row: the 95 % interval, the interval
    the verdict read (at the family's Bonferroni level), p and Holm p (two-sided), the MDE and the FP-sentence
    rate difference with its interval."""
    family = bool(row["family"]) and _present(row["p_holm"])
    holm = f"Holm p = {_p(float(row['p_holm']))} (two-sided)" if family else "not in the Holm family"
    paper = (f"paper Δ {float(row['paper_delta']):+.2f}" if _present(row["paper_delta"])
             else f"paper: {row['a']} {'>' if int(row['direction']) > 0 else '<'} {row['b']}, no Δ given")
    widened = ", widened to the t / sentence intervals" if bool(row["widened"]) else ""
    level = float(row["verdict_level"])
    read = ("" if abs(level - 0.95) < 1e-12 else f"; the verdict reads the family's {100 * level:.4g} % interval "
            f"[{float(row['verdict_low']):+.2f}, {float(row['verdict_high']):+.2f}]")
    fp = (f" False-positive sentences, {row['a']} − {row['b']}: {float(row['fp_delta']):+.2f} percentage points, 95 % "
          f"interval [{float(row['fp_low']):+.2f}, {float(row['fp_high']):+.2f}]."
          if "fp_delta" in row and _present(row["fp_delta"]) else "")
    if row.get("verdict") == "not run":
        return (f"{row['claim']} — {row['a']} − {row['b']}, {row['dataset']} {int(row['fraction'])}%: **not run** "
                f"(its part did not run; it keeps its place in the family).")
    if row.get("verdict") == "not estimable":
        return (f"{row['claim']} — {row['a']} − {row['b']}, {row['dataset']} {int(row['fraction'])}%: **not "
                f"estimable** ({row.get('note') or 'degenerate scores'}; F1 {float(row['f1_a']):.2f} vs "
                f"{float(row['f1_b']):.2f}): no verdict.")
    return (f"{row['claim']} — {row['a']} − {row['b']}, {row['dataset']} {int(row['fraction'])}%: Δ "
            f"{float(row['delta']):+.2f} F1, 95 % interval [{float(row['low']):+.2f}, {float(row['high']):+.2f}]"
            f"{widened} ({int(row['n_seeds'])} seeds × {int(row['n_sentences'])} test sentences){read}, two-sided p = "
            f"{_p(float(row['p_two_sided']))}, {holm}, MDE {float(row['mde']):.2f}; {paper} → **{row['verdict']}**."
            f"{fp}")


def verdict_lines(verdicts: pd.DataFrame) -> list[str]:
    if verdicts.empty:
        return []
    lines = [verdict_line(row) for _, row in verdicts.iterrows()]
    family = verdicts[verdicts["family"].astype(bool)]
    if len(family):
        counts = family["verdict"].value_counts()
        tally = ", ".join(f"{n} {verdict}" for verdict, n in counts.items())
        lines.append(f"Pre-registered family ({len(family)} claims): {tally}.")
    return lines


class Verdicts:
    """The verdicts.csv rows looked up by the comparison they judge (either orientation)."""

    def __init__(self, frame: pd.DataFrame) -> None:
        self.rows: dict[tuple, pd.Series] = {}
        for _, row in frame.iterrows():
            key = (str(row["dataset"]), int(row["fraction"]), frozenset((str(row["a"]), str(row["b"]))))
            self.rows.setdefault(key, row)

    def text(self, dataset: str, fraction: int, a: str, b: str) -> str:
        row = self.rows.get((dataset, int(fraction), frozenset((a, b))))
        if row is None:
            return "no pre-registered claim covers it, so no verdict"
        if row["verdict"] == "not run":
            return f"claim “{row['claim']}” covers it but was not run, so no verdict"
        return (f"verdict of claim “{row['claim']}”: **{row['verdict']}** (Δ {row['a']} − {row['b']} "
                f"{float(row['delta']):+.2f}, 95 % [{float(row['low']):+.2f}, {float(row['high']):+.2f}])")


def _direction(diff: float, paper_says_positive: bool = True) -> str:
    if diff == 0:
        return "the means are equal"
    return "the means point the paper's way" if (diff > 0) == paper_says_positive else "the means point the other way"


def shared_fraction(frame: pd.DataFrame, dataset: str, experiments: list[str]) -> int | None:
    """The largest training fraction at which `experiments[0]` and at least one of the others ran on
    `dataset` (Tables 2 and 4 compare at 100 % in the paper preset, at 10 % in config/cpu.yaml)."""
    rows = frame[frame["dataset"] == dataset]
    ran = {e: {int(f) for f in rows.loc[rows["experiment"] == e, "fraction"]} for e in experiments}
    shared = {f for other in experiments[1:] for f in ran[experiments[0]] & ran[other]}
    return max(shared, default=None)


def claim_max_pooling(frame: pd.DataFrame, datasets: list[str], verdicts: Verdicts) -> list[str]:
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
        top = max(value[0] for value in scores.values())
        leaders = [p for p in scores if round(scores[p][0], 2) == round(top, 2)]  # equal as shown: a tie
        runner = max((p for p in scores if p != "max"), key=lambda p: scores[p][0])
        diff = scores["max"][0] - scores[runner][0]
        if len(leaders) > 1:
            state = f"{' and '.join(p.upper() for p in leaders)} tie for the highest mean (no winner)"
        else:
            state = f"{leaders[0].upper()} has the highest mean"
        lines.append(f"{dataset} ({fraction}%): MAX {scores['max'][0]:.2f} vs {runner.upper()} "
                     f"{scores[runner][0]:.2f} F1 (Δ {diff:+.2f}, {scores['max'][2]} / {scores[runner][2]} seeds) — "
                     f"{state}; {verdicts.text(dataset, fraction, 'joint-max', f'joint-{runner}')}.")
    return lines


def average_gain_lines(gains: dict[str, dict[int, float]], fractions: list[int]) -> list[str]:
    """The joint-max − baseline gain averaged over datasets, like with like: over the datasets that have a
    gain at every fraction shown, beside the paper's Table 3 average over the same datasets (where it has
    them); datasets measured at some fractions only are named, not averaged in."""
    complete = sorted(d for d, by_fraction in gains.items() if all(f in by_fraction for f in fractions))
    partial = sorted(set(gains) - set(complete))
    lines = []
    if complete:
        ours = ", ".join(f"{f}%: {np.mean([gains[d][f] for d in complete]):+.2f}" for f in fractions)
        paper_sets = [d for d in complete if d in paper_values.PAPER_DATASETS]
        if len(paper_sets) == len(complete):
            paper = ", ".join(f"{f}%: {np.mean([paper_values.TABLE3['joint-max'][d][f][2] - paper_values.TABLE3['baseline'][d][f][2] for d in complete]):+.2f}"
                              for f in fractions if all(f in paper_values.TABLE3["baseline"][d] for d in complete))
            paper_text = f"the paper's Table 3 over the same datasets: {paper}" if paper else "the paper has no such fractions"
        else:
            paper_text = "the paper has no values for " + ", ".join(d for d in complete if d not in paper_sets)
        lines.append(f"Average gain (joint-max − baseline F1) over {', '.join(complete)} — the datasets with "
                     f"runs at every size shown: {ours} ({paper_text}).")
    if partial:
        listing = "; ".join(f"{d} at {', '.join(f'{f}%' for f in sorted(gains[d], reverse=True))}" for d in partial)
        lines.append(f"Not averaged in (not measured at every size): {listing}.")
    return lines


def claim_low_resource(frame: pd.DataFrame, datasets: list[str], verdicts: Verdicts) -> list[str]:
    stats = seed_stats(frame, "ner.f1")
    fractions = sorted({int(f) for f in frame.loc[frame["experiment"] == "joint-max", "fraction"]}, reverse=True)
    if len(fractions) < 2:
        return []
    lines: list[str] = []
    gains: dict[str, dict[int, float]] = {}
    for dataset in datasets:
        by_fraction = {}
        for fraction in fractions:
            ours, base = _f1(stats, dataset, "joint-max", fraction), _f1(stats, dataset, "baseline", fraction)
            if not (math.isnan(ours[0]) or math.isnan(base[0])):
                by_fraction[fraction] = ours[0] - base[0]
        if by_fraction:
            gains[dataset] = by_fraction
        if len(by_fraction) < 2:
            continue
        small, full = min(by_fraction), max(by_fraction)
        state = ("the gain of the means is larger" if by_fraction[small] > by_fraction[full]
                 else "the gain of the means is not larger")
        listing = ", ".join(f"{f}%: {g:+.2f}" for f, g in sorted(by_fraction.items(), reverse=True))
        lines.append(f"{dataset}: joint-max − baseline F1 by training size {listing} — {state} at {small}% than at "
                     f"{full}%; at {small}%: {verdicts.text(dataset, small, 'joint-max', 'baseline')}; at {full}%: "
                     f"{verdicts.text(dataset, full, 'joint-max', 'baseline')}.")
    lines += average_gain_lines(gains, fractions)
    if gains:
        lines.append(f"For reference, the paper's own averages over its three datasets: {paper_average_gains_text()}.")
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


def claim_joint_vs(frame: pd.DataFrame, datasets: list[str], other: str, label: str, verdicts: Verdicts) -> list[str]:
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
        lines.append(f"{dataset} ({fraction}%): joint-max {ours[0]:.2f} vs {label} {rival[0]:.2f} F1 (Δ {diff:+.2f}, "
                     f"{ours[2]} / {rival[2]} seeds) — {_direction(diff)}; "
                     f"{verdicts.text(dataset, fraction, 'joint-max', other)}.")
    return lines


def claim_token_labels_help(gains: pd.DataFrame) -> list[str]:
    """Paper 4.5: sentence-level main tasks gain more from token-level secondaries (NER, mtCLS)."""
    if gains.empty or gains["gain"].isna().all():
        return []
    present = set(gains["main"]) | set(gains["secondary"])
    word = [task.name for task in REGISTRY if task.level == "word" and task.name in present]
    sentence = [task.name for task in REGISTRY if task.level == "sentence" and task.name in present]
    lines = []
    part = gains[gains["main"].isin(sentence)].dropna(subset=["gain"])
    for dataset in sorted(part["dataset"].unique()):
        rows = part[part["dataset"] == dataset]
        token = rows[rows["secondary"].isin(word)]["gain"]
        other = rows[rows["secondary"].isin(sentence)]["gain"]
        if token.empty or other.empty:
            continue
        state = ("the means point the paper's way" if token.mean() > other.mean() and token.mean() > 0
                 else "the means do not point the paper's way")
        lines.append(f"{dataset}: {'/'.join(map(display_name, sentence))} gain on average {token.mean():+.2f} pp "
                     f"with a token-level secondary task ({', '.join(map(display_name, word))}) vs "
                     f"{other.mean():+.2f} pp with the other sentence-level task — {state} "
                     "(no verdict: the pair-wise runs are not among the pre-registered claims).")
    return lines


def claim_ablations(frame: pd.DataFrame, datasets: list[str], verdicts: Verdicts) -> list[str]:
    lines = []
    for experiment, task in ablations(TASKS).items():  # the runs a configuration lacks give no line
        lines += [line.replace("joint-max ", "joint-max (all tasks) ", 1)
                  for line in claim_joint_vs(frame, datasets, experiment, f"w/o {display_name(task)}", verdicts)]
    return lines


#: Columns the summary reads from verdicts.csv (`mtbioner.report.stats.verdict_table.COLUMNS`).
VERDICT_COLUMNS = ["claim", "dataset", "fraction", "a", "b", "family", "n_seeds", "n_sentences", "delta", "low",
                   "high", "widened", "verdict_level", "verdict_low", "verdict_high", "p_one_sided", "p_two_sided",
                   "p_holm", "mde", "verdict", "paper_delta", "direction", "fp_delta", "fp_low", "fp_high", "note",
                   "f1_a", "f1_b"]


def generated_summary(frame: pd.DataFrame, verdicts: pd.DataFrame, gains: pd.DataFrame) -> str:
    """The summary: the verdicts, then each of the paper's comparisons (plain runs) with its verdict or none."""
    frame = plain(frame)
    datasets = sorted(frame["dataset"].unique())
    lookup = Verdicts(verdicts)
    sections = [
        ("Verdicts on the pre-registered claims (tables/verdicts.md)", verdict_lines(verdicts),
         "no claims were pre-registered in this configuration (report.claims is empty), so nothing is decided."),
        ("MAX pooling is the best pooling (paper Table 2)", claim_max_pooling(frame, datasets, lookup), None),
        ("Gains are larger with less training data (paper Table 3)", claim_low_resource(frame, datasets, lookup), None),
        ("Joint training beats alternating MT-DNN training (paper Table 4)",
         claim_joint_vs(frame, datasets, "alternating", "alternating", lookup), None),
        ("Every auxiliary task helps (paper Table 4)", claim_ablations(frame, datasets, lookup), None),
        ("Token-level labels help the sentence-level tasks (paper Figure 5)", claim_token_labels_help(gains), None),
    ]
    out = []
    for title, lines, empty in sections:
        out.append(f"**{title}.**")
        out += [f"- {line}" for line in lines] if lines else [f"- {empty or 'not measured in this configuration (no runs).'}"]
        out.append("")
    out += ["Per-seed-pair paired bootstraps (significance.csv, the † of Tables 2-4) are detail: one seed pair on "
            "one test set is not a test of the method, so no claim above is decided by them.", ""]
    if "mt.f1" in frame and frame["mt.f1"].notna().any():
        out += [MTCLS_NOTE, ""]
    return "\n".join(out)


#: Why mtCLS F1 sits below NER F1 even on a single-type corpus, where the mtCLS tags determine the NER spans
#: (checked on the real corpus and a trained model; tests/test_mtcls_scoring.py pins the scorer's part).
MTCLS_NOTE = (
    "mtCLS F1 is not NER F1 under another name, and its gap is not a scoring defect: mtCLS tags derived from "
    "the predicted NER spans score exactly as NER (tests/test_mtcls_scoring.py), but mtCLS chunks have two types, "
    "Single and Multi, so a right span with the wrong length class (a lone B-Multi on a one-word entity) counts "
    "as a false positive and a false negative; and at its loss weight of 0.1 the mtCLS head also finds fewer "
    "spans than the NER head (in a check run with MiniLM on NCBI-disease: span F1 17.1 vs 27.6 at weight 0.1, "
    "37.1 vs 31.9 at 0.8, where wrong length classes still held mtCLS F1 to 18.2).")
