"""The pre-registered claims (`report.claims` of params.yaml) and their verdicts table, results/<name>/tables/verdicts.

A claim names two cells of the grid by label (`joint-max`, `baseline@x4`: experiment[@variant]) on one dataset
and training fraction, and what the paper says of A − B in F1 points (`paper_delta`, or only a `direction`
where the paper gives no number). Its runs are paired by seed (the seeds both cells ran); the comparison, the
intervals, the p-values, the MDE and the verdict are `mtbioner.report.stats.verdicts.compare`'s. The claims with
`family: true` (the pre-registered confirmatory family, m claims) read their verdicts from intervals at
1 − 0.05/m each (Bonferroni: a 5 % family-wise error for every verdict, in both directions) and get Holm's
correction of their two-sided p; the others are judged at 95 % and carry no Holm p.

Every verdict is computed from per-sentence entity counts (`CountsTable`), which the verdicts rule also
publishes (`sentence_counts.csv.gz`: TP/FP/FN per system, seed and test sentence, and the false-positive-
sentence flag); `mtbioner report rejudge` recomputes verdicts.csv from that file alone, without the runs.

Parsing and run selection (`Claim`, `parse_claims`, `claim_runs`) are planning and live in
`mtbioner.plan.claims`, which the workflow uses to plan the verdict rule's inputs.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mtbioner.errors import MtbionerError
from mtbioner.plan.claims import Claim, claim_runs, pair_by_seed

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

    from mtbioner.report.stats.verdicts import Comparison
    from mtbioner.run.directory import FinishedRun

# ------------------------------------------------------------------------------ the verdicts table
#: Columns of verdicts.csv, in order (F1 values and intervals in F1 points; fp_* in percentage points of the
#: gold entity-free test sentences).
COLUMNS = ["claim", "dataset", "fraction", "a", "b", "family", "seeds", "n_seeds", "n_sentences", "f1_a", "f1_b",
           "delta", "low", "high", "widened", "two_level_low", "two_level_high", "t_low", "t_high", "sentence_low",
           "sentence_high", "verdict_level", "verdict_low", "verdict_high", "p_one_sided", "p_two_sided", "p_holm",
           "mde", "verdict", "paper_delta", "direction", "per_seed", "samples", "fp_rate_a", "fp_rate_b",
           "fp_delta", "fp_low", "fp_high", "fp_p_two_sided", "fp_entity_free", "fp_per_seed", "note"]

#: Columns of the per-sentence counts file (sentence_counts.csv.gz): what every verdict is computed from.
COUNT_COLUMNS = ["dataset", "fraction", "system", "seed", "sentence", "tp", "fp", "fn", "fp_sentence"]

#: A cell's counts: (dataset, fraction, system label, seed) -> (n_sentences, 3) TP/FP/FN in test order.
CountsTable = dict[tuple[str, int, str, int], "np.ndarray"]


def counts_of_runs(claims: Sequence[Claim], runs: Sequence[FinishedRun]) -> CountsTable:
    """The per-sentence entity counts of every run the claims name, read from the runs' test predictions;
    MtbionerError when the runs of one claim were not scored on the same test sentences in the same order."""
    from mtbioner.report.stats.predictions import check_same_test_set, counted_predictions

    table: CountsTable = {}
    for claim in claims:
        if not claim.planned:
            continue
        a_runs, b_runs = claim_runs(claim, runs)
        first_path = a_runs[0].files.predictions
        first = counted_predictions(first_path)[0]
        for run in a_runs + b_runs:  # one test set, one order: the pairing by sentence needs it
            sentences, counts = counted_predictions(run.files.predictions)
            check_same_test_set(first, sentences, str(first_path), str(run.files.predictions))
            table[(run.dataset, run.fraction, run.label, run.seed)] = counts
    return table


def _cell_seeds(table: CountsTable, dataset: str, fraction: int, label: str) -> dict[int, "np.ndarray"]:
    return {seed: counts for (d, f, system, seed), counts in table.items()
            if d == dataset and f == fraction and system == label}


def claim_counts(claim: Claim, table: CountsTable) -> tuple[list[int], list, list]:
    """(seeds, A's counts, B's counts) of a claim, paired by the seeds both cells have (as `claim_runs`)."""
    a, b = (_cell_seeds(table, claim.dataset, claim.fraction, label) for label in (claim.a, claim.b))
    return pair_by_seed(claim, a, b, "counts")


def judge_counts(claims: Sequence[Claim], table: CountsTable, *, samples: int,
                 seed: int) -> list[Comparison | None]:
    """One `Comparison` per claim (in order) from per-sentence counts: the family's claims read their verdict
    from the Bonferroni-split interval (1 − 0.05/m each, m = the family's size) and get Holm's correction of
    their two-sided p; the other claims are judged at 95 % and carry no Holm p.

    A claim that was not run (`planned` false) is None and keeps its place in the family: m counts every
    family claim of the plan, run or not, so which parts a device call got through never changes the level
    the others are judged at; in Holm's step-down its p counts as 1 (no evidence), so the ones that ran are
    adjusted as in the whole family."""
    import dataclasses

    from mtbioner.report.stats.verdicts import compare, holm

    family = [i for i, claim in enumerate(claims) if claim.family]
    results: list[Comparison | None] = []
    for claim in claims:
        if not claim.planned:
            results.append(None)
            continue
        _, a, b = claim_counts(claim, table)
        results.append(compare(a, b, claim.paper_delta, direction=claim.direction, samples=samples, seed=seed,
                               family_size=len(family) if claim.family else 1))
    if family:
        p_values = [1.0 if results[i] is None else results[i].p_two_sided for i in family]
        for i, adjusted in zip(family, holm(p_values)):
            if results[i] is not None:
                results[i] = dataclasses.replace(results[i], p_holm=float(adjusted))
    return results


def not_run_row(claim: Claim, family_size: int, samples: int) -> dict[str, Any]:
    """verdicts.csv's row of a claim this run did not train: its name, cells and place in the family, the
    level it would have been judged at, and no numbers (counts 0, the rest empty)."""
    from mtbioner.report.stats.verdicts import NOT_RUN, family_level

    return {**claim.to_row(), "verdict": NOT_RUN, "n_seeds": 0, "n_sentences": 0, "fp_entity_free": 0,
            "widened": False, "samples": samples, "seeds": "", "per_seed": "", "fp_per_seed": "",
            "verdict_level": family_level(family_size if claim.family else 1),
            "note": "its part did not run; it keeps its place in the family"}


def verdict_frame(claims: Sequence[Claim], results: Sequence[Comparison | None], table: CountsTable, *, samples: int,
                  seed: int) -> pd.DataFrame:
    """verdicts.csv's rows: each claim's comparison, its seeds and its false-positive-sentence comparison
    (A's rate − B's rate over the seeds, same interval construction, 95 %, descriptive)."""
    import pandas as pd

    from mtbioner.report.stats.verdicts import compare_fp_rates

    rows = []
    family_size = sum(claim.family for claim in claims)
    for claim, result in zip(claims, results):
        if result is None:
            row = not_run_row(claim, family_size, samples)
            rows.append({column: row.get(column) for column in COLUMNS})
            continue
        seeds, a, b = claim_counts(claim, table)
        fp = compare_fp_rates(a, b, samples=samples, seed=seed)
        row = {**result.to_row(), **claim.to_row(), "seeds": ";".join(str(s) for s in seeds),
               "fp_rate_a": fp.rate_a, "fp_rate_b": fp.rate_b, "fp_delta": fp.delta, "fp_low": fp.low,
               "fp_high": fp.high, "fp_p_two_sided": fp.p_two_sided, "fp_entity_free": fp.n_entity_free,
               "fp_per_seed": ";".join(f"{d:.6g}" for d in fp.per_seed)}
        rows.append({column: row.get(column) for column in COLUMNS})
    return pd.DataFrame(rows, columns=COLUMNS)


# ------------------------------------------------------------------------------ the counts file
def counts_frame(table: CountsTable) -> pd.DataFrame:
    """One row per (dataset, fraction, system, seed, test sentence): TP, FP, FN and whether the sentence is
    a false-positive sentence (no gold entity, a predicted one)."""
    import numpy as np
    import pandas as pd

    from mtbioner.report.stats.verdicts import fp_sentence_columns

    parts = []
    for (dataset, fraction, system, seed), counts in sorted(table.items()):
        n = len(counts)
        parts.append(pd.DataFrame({
            "dataset": dataset, "fraction": fraction, "system": system, "seed": seed,
            "sentence": np.arange(1, n + 1), "tp": counts[:, 0], "fp": counts[:, 1], "fn": counts[:, 2],
            "fp_sentence": fp_sentence_columns(counts)[:, 1]}))
    return pd.concat(parts, ignore_index=True)[COUNT_COLUMNS] if parts else pd.DataFrame(columns=COUNT_COLUMNS)


def write_counts(table: CountsTable, path: str | Path) -> Path:
    """The counts as gzip-compressed CSV, byte-for-byte reproducible (no time stamp in the gzip header),
    written atomically."""
    import gzip

    from mtbioner.atomicio import atomic_write

    path = Path(path)
    data = counts_frame(table).to_csv(index=False).encode("utf-8")
    with atomic_write(path, "wb", encoding=None) as handle:
        with gzip.GzipFile(fileobj=handle, mode="wb", mtime=0, filename="") as compressed:
            compressed.write(data)
    return path


def read_counts(path: str | Path) -> CountsTable:
    """A counts file `write_counts` wrote, checked: one line naming the file and what is wrong otherwise."""
    import numpy as np
    import pandas as pd

    path = Path(path)
    if not path.is_file():
        raise MtbionerError(f"{path}: no such counts file")
    try:
        frame = pd.read_csv(path, compression="infer")
    except (OSError, ValueError, pd.errors.ParserError, UnicodeDecodeError) as error:
        raise MtbionerError(f"{path}: not a readable counts CSV ({str(error).splitlines()[0]})") from None
    missing = [c for c in COUNT_COLUMNS if c not in frame.columns]
    if missing:
        raise MtbionerError(f"{path}: missing columns {missing} (expected {COUNT_COLUMNS})")
    numeric = ["fraction", "seed", "sentence", "tp", "fp", "fn", "fp_sentence"]
    for column in numeric:
        if not pd.api.types.is_integer_dtype(frame[column]) or (frame[column] < 0).any():
            raise MtbionerError(f"{path}: column {column!r} must hold non-negative integers")
    table: CountsTable = {}
    for (dataset, fraction, system, seed), group in frame.groupby(["dataset", "fraction", "system", "seed"], sort=True):
        where = f"{path}: {system} on {dataset} at {fraction} %, seed {seed}"
        if list(group["sentence"]) != list(range(1, len(group) + 1)):
            raise MtbionerError(f"{where}: sentences must be numbered 1..n in order")
        counts = group[["tp", "fp", "fn"]].to_numpy(dtype=np.int64)
        flags = group["fp_sentence"].to_numpy()
        expected = ((counts[:, 0] + counts[:, 2]) == 0) & (counts[:, 1] > 0)
        if not np.array_equal(flags.astype(bool), expected) or flags.max(initial=0) > 1:
            raise MtbionerError(f"{where}: fp_sentence disagrees with TP/FP/FN (it is 1 exactly when TP + FN = 0 "
                                "and FP > 0)")
        table[(str(dataset), int(fraction), str(system), int(seed))] = counts
    return table


def claims_of_verdicts(path: str | Path) -> list[Claim]:
    """The claims a published verdicts.csv judged (name, cells, paper's Δ, direction, family), so a reader can
    re-judge them from the counts without the configuration that planned the run."""
    import pandas as pd

    from mtbioner.plan.claims import parse_claims
    from mtbioner.report.stats.verdicts import NOT_RUN

    path = Path(path)
    if not path.is_file():
        raise MtbionerError(f"{path}: no such verdicts file")
    frame = pd.read_csv(path)
    needed = ["claim", "dataset", "fraction", "a", "b", "paper_delta", "direction", "family"]
    missing = [c for c in needed if c not in frame.columns]
    if missing:
        raise MtbionerError(f"{path}: missing columns {missing}: not a verdicts.csv")
    entries = [{"name": row["claim"], "dataset": row["dataset"], "fraction": int(row["fraction"]), "a": row["a"],
                "b": row["b"], "paper_delta": None if pd.isna(row["paper_delta"]) else float(row["paper_delta"]),
                "direction": int(row["direction"]), "family": bool(row["family"]),
                "planned": row.get("verdict") != NOT_RUN} for _, row in frame.iterrows()]
    return parse_claims(entries, origin=str(path))


RULE = ("Rule, on the verdict's interval of Δ = F1(A) − F1(B) — for the m claims of the pre-registered family the "
        "Bonferroni-simultaneous one at 1 − 0.05/m each (family-wise error ≤ 5 % for every verdict, both "
        "directions), 95 % for a claim outside it: **holds** = excludes 0 on the paper's side; **contradicted** = "
        "excludes 0 on the other side; **paper's size rejected** = includes 0 but excludes the paper's Δ; "
        "**inconclusive** = includes both (without a paper Δ: holds / contradicted / inconclusive by the claimed "
        "direction); **not estimable** = no verdict, because both systems score F1 0 on every seed or their "
        "predictions never differ (no variance).")


def _signed(value: Any) -> str:
    return "–" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{value:+.2f}"


def _unsigned(value: Any) -> str:
    return "–" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{value:.2f}"


def _interval(low: Any, high: Any) -> str:
    if low is None or high is None or math.isnan(low) or math.isnan(high):
        return "–"
    return f"[{low:+.2f}, {high:+.2f}]"


def _p(value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    return f"{value:.4f}" if value >= 0.0001 else f"{value:.1e}"


def render_verdicts(frame: pd.DataFrame, out_prefix: str | Path) -> list[Path]:
    """`<prefix>.csv` (every column of COLUMNS) and `<prefix>.md` (the table the report page shows)."""
    import pandas as pd

    from mtbioner.atomicio import write_text

    prefix = Path(out_prefix)
    display = pd.DataFrame({
        "Claim": frame["claim"],
        "A − B": [f"{a} − {b} ({d}, {f}%)" for a, b, d, f in zip(frame["a"], frame["b"], frame["dataset"],
                                                                  frame["fraction"])],
        "Δ F1": [_signed(v) for v in frame["delta"]],
        "95 % interval": [_interval(lo, hi) + (" ⁺" if w else "") for lo, hi, w in
                          zip(frame["low"], frame["high"], frame["widened"])],
        "verdict's interval": [f"{_interval(lo, hi)} ({100 * level:.4g} %)" for lo, hi, level in
                               zip(frame["verdict_low"], frame["verdict_high"], frame["verdict_level"])],
        "two-level": [_interval(lo, hi) for lo, hi in zip(frame["two_level_low"], frame["two_level_high"])],
        "paired t": [_interval(lo, hi) for lo, hi in zip(frame["t_low"], frame["t_high"])],
        "sentences": [_interval(lo, hi) for lo, hi in zip(frame["sentence_low"], frame["sentence_high"])],
        "p (1-sided)": [_p(v) for v in frame["p_one_sided"]],
        "p (2-sided)": [_p(v) for v in frame["p_two_sided"]],
        "Holm p": [_p(v) if fam else "not in family" for v, fam in zip(frame["p_holm"], frame["family"])],
        "MDE": [_unsigned(v) for v in frame["mde"]],
        "seeds": [str(n) for n in frame["n_seeds"]],
        "sentences (n)": [str(n) for n in frame["n_sentences"]],
        "verdict": [v if not isinstance(n, str) or not n else f"{v} ({n})" for v, n in
                    zip(frame["verdict"], frame["note"])],
        "paper Δ": [_signed(v) if v is not None and not (isinstance(v, float) and math.isnan(v))
                    else ("> 0" if d > 0 else "< 0") for v, d in zip(frame["paper_delta"], frame["direction"])],
        "FP-sentence rate A − B": [f"{_signed(d)} pp {_interval(lo, hi)}" for d, lo, hi in
                                   zip(frame["fp_delta"], frame["fp_low"], frame["fp_high"])],
    })
    samples = sorted({int(s) for s in frame["samples"]})
    markdown = (
        "### Verdicts on the pre-registered claims\n\n"
        "Δ = mean over seeds of F1(A) − F1(B) (test set, entity-level, F1 points), runs paired by seed. "
        "95 % interval = two-level bootstrap (seeds resampled, then test sentences with indices shared by A and "
        f"B; {', '.join(f'{s:,}' for s in samples)} resamples); ⁺ = widened to the hull of it, the paired-by-seed "
        "t interval and the sentence bootstrap, so it never claims more than either. The verdict's interval is "
        "the same hull at the level the verdict reads. p = the largest of the three methods' p; 1-sided in the "
        "paper's direction, 2-sided in both; Holm p = Holm over the 2-sided p of the pre-registered family; "
        "MDE = minimal detectable effect at power 0.8 at the verdict's level (two-sided), with t quantiles "
        "(seeds − 1 d.f.) on the seed sd and the sentence-noise floor. FP-sentence rate "
        "A − B = the difference of the shares of gold entity-free test sentences where a system predicts an "
        "entity, percentage points, with its 95 % interval over seeds and sentences (descriptive). With one "
        f"seed the intervals count test sentences only. A claim **not run** (its part did not run) keeps its "
        f"place in the family. {RULE}\n\n"
        + display.to_markdown(index=False, disable_numparse=True) + "\n")
    paths = [prefix.with_suffix(".csv"), prefix.with_suffix(".md")]
    write_text(paths[0], frame.to_csv(index=False, float_format="%.6f"))
    write_text(paths[1], markdown)
    return paths


def write_verdicts(runs: Sequence[FinishedRun], claims: Sequence[Claim], out_prefix: str | Path, *, samples: int,
                   seed: int, counts_out: str | Path | None = None) -> pd.DataFrame:
    """verdicts.csv and verdicts.md of `claims` judged on `runs` (and, with `counts_out`, the per-sentence
    counts they were computed from); returns the frame written."""
    if not claims:
        raise MtbionerError("no claims to judge (report.claims is empty)")
    table = counts_of_runs(claims, runs)
    if counts_out is not None:
        write_counts(table, counts_out)
    return write_verdicts_from_counts(table, claims, out_prefix, samples=samples, seed=seed)


def write_verdicts_from_counts(table: CountsTable, claims: Sequence[Claim], out_prefix: str | Path, *, samples: int,
                               seed: int) -> pd.DataFrame:
    """verdicts.csv and verdicts.md from per-sentence counts (`read_counts` of a published counts file):
    the same numbers as from the runs, without them."""
    if not claims:
        raise MtbionerError("no claims to judge")
    results = judge_counts(claims, table, samples=samples, seed=seed)
    frame = verdict_frame(claims, results, table, samples=samples, seed=seed)
    render_verdicts(frame, out_prefix)
    return frame
