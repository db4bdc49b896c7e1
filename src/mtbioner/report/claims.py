"""The pre-registered claims (`report.claims` of params.yaml) and their verdicts table, results/tables/verdicts.

A claim names two cells of the grid by label (`joint-max`, `baseline@x4`: experiment[@variant]) on one dataset
and training fraction, and what the paper says of A − B in F1 points (`paper_delta`, or only a `direction`
where the paper gives no number). Its runs are paired by seed (the seeds both cells ran); the comparison, the
intervals, the one-sided p, the MDE and the verdict are `mtbioner.report.verdicts.compare`'s; Holm's
correction runs over the claims with `family: true` exactly (the pre-registered confirmatory family), and
the others carry no Holm p.

Parsing and run selection (`Claim`, `parse_claims`, `claim_runs`) are planning and live in
`mtbioner.plan.claims`, which the workflow uses to plan the verdict rule's inputs.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mtbioner.errors import MtbionerError
from mtbioner.plan.claims import Claim, claim_runs

if TYPE_CHECKING:
    import pandas as pd

    from mtbioner.report.verdicts import Comparison
    from mtbioner.run.directory import FinishedRun

# ------------------------------------------------------------------------------ the verdicts table
#: Columns of verdicts.csv, in order (F1 values and intervals in F1 points).
COLUMNS = ["claim", "dataset", "fraction", "a", "b", "family", "seeds", "n_seeds", "n_sentences", "f1_a", "f1_b",
           "delta", "low", "high", "widened", "two_level_low", "two_level_high", "t_low", "t_high", "sentence_low",
           "sentence_high", "p_one_sided", "p_holm", "mde", "verdict", "paper_delta", "direction", "per_seed",
           "samples"]


def judge(claims: Sequence[Claim], runs: Sequence[FinishedRun], *, samples: int, seed: int) -> list[Comparison]:
    """One `Comparison` per claim (in order) from the runs' test predictions, Holm over the family claims."""
    from mtbioner.report.predictions import check_same_test_set, counted_predictions
    from mtbioner.report.verdicts import compare, with_holm

    def counts(run: FinishedRun) -> tuple:
        return counted_predictions(run.files.predictions)

    results = []
    for claim in claims:
        a_runs, b_runs = claim_runs(claim, runs)
        first = counts(a_runs[0])[0]
        for run in a_runs + b_runs:  # one test set, one order: the pairing by sentence needs it
            check_same_test_set(first, counts(run)[0], str(a_runs[0].files.predictions), str(run.files.predictions))
        results.append(compare([counts(r)[1] for r in a_runs], [counts(r)[1] for r in b_runs],
                               claim.paper_delta, direction=claim.direction, samples=samples, seed=seed))
    family = [i for i, claim in enumerate(claims) if claim.family]
    if family:
        for i, adjusted in zip(family, with_holm([results[i] for i in family])):
            results[i] = adjusted
    return results


def verdict_frame(claims: Sequence[Claim], results: Sequence[Comparison], runs: Sequence[FinishedRun]) -> pd.DataFrame:
    import pandas as pd

    rows = []
    for claim, result in zip(claims, results):
        seeds = [r.seed for r in claim_runs(claim, runs)[0]]
        row = {**result.to_row(), **claim.to_row(), "seeds": ";".join(str(s) for s in seeds)}
        rows.append({column: row.get(column) for column in COLUMNS})
    return pd.DataFrame(rows, columns=COLUMNS)


RULE = ("Pre-registered rule, on the 95 % verdict interval of Δ = F1(A) − F1(B): **holds** = excludes 0 on the "
        "paper's side; **contradicted** = excludes 0 on the other side; **paper's size rejected** = includes 0 but "
        "excludes the paper's Δ; **inconclusive** = includes both (without a paper Δ: holds / contradicted / "
        "inconclusive by the claimed direction).")


def _signed(value: Any) -> str:
    return "–" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{value:+.2f}"


def _interval(low: float, high: float) -> str:
    if math.isnan(low) or math.isnan(high):
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
        "two-level": [_interval(lo, hi) for lo, hi in zip(frame["two_level_low"], frame["two_level_high"])],
        "paired t": [_interval(lo, hi) for lo, hi in zip(frame["t_low"], frame["t_high"])],
        "sentences": [_interval(lo, hi) for lo, hi in zip(frame["sentence_low"], frame["sentence_high"])],
        "p (1-sided)": [_p(v) for v in frame["p_one_sided"]],
        "Holm p": [_p(v) if fam else "not in family" for v, fam in zip(frame["p_holm"], frame["family"])],
        "MDE": [f"{v:.2f}" for v in frame["mde"]],
        "seeds": [str(n) for n in frame["n_seeds"]],
        "sentences (n)": [str(n) for n in frame["n_sentences"]],
        "verdict": frame["verdict"],
        "paper Δ": [_signed(v) if v is not None and not (isinstance(v, float) and math.isnan(v))
                    else ("> 0" if d > 0 else "< 0") for v, d in zip(frame["paper_delta"], frame["direction"])],
    })
    samples = sorted({int(s) for s in frame["samples"]})
    markdown = (
        "### Verdicts on the pre-registered claims\n\n"
        "Δ = mean over seeds of F1(A) − F1(B) (test set, entity-level, F1 points), runs paired by seed. "
        "95 % interval = two-level bootstrap (seeds resampled, then test sentences with indices shared by A and "
        f"B; {', '.join(f'{s:,}' for s in samples)} resamples); ⁺ = widened to the hull of it, the paired-by-seed "
        "t interval and the sentence bootstrap, so it never claims more than either. p = one-sided, in the "
        "paper's direction; Holm p = Holm-corrected over the claims of the pre-registered family; MDE = "
        "minimal detectable effect at power 0.8 (two-sided α = 0.05). With one seed the interval counts test "
        f"sentences only. {RULE}\n\n"
        + display.to_markdown(index=False, disable_numparse=True) + "\n")
    paths = [prefix.with_suffix(".csv"), prefix.with_suffix(".md")]
    write_text(paths[0], frame.to_csv(index=False, float_format="%.6f"))
    write_text(paths[1], markdown)
    return paths


def write_verdicts(runs: Sequence[FinishedRun], claims: Sequence[Claim], out_prefix: str | Path, *, samples: int,
                   seed: int) -> pd.DataFrame:
    """verdicts.csv and verdicts.md of `claims` judged on `runs`; returns the frame written."""
    if not claims:
        raise MtbionerError("no claims to judge (report.claims is empty)")
    results = judge(claims, runs, samples=samples, seed=seed)
    frame = verdict_frame(claims, results, runs)
    render_verdicts(frame, out_prefix)
    return frame
