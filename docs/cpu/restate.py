"""Restate the second finding's verdicts (A1-A3) by the family-wise rule, from what docs/cpu/ published.

The rule in force since the budget finding: each of the m = 3 claims of the family is judged on the hull of
the two-level bootstrap, paired-t and sentence-bootstrap intervals at 1 - 0.05/3 = 98.33 %. Of the three,
only the paired t interval can be recomputed from docs/cpu/tables/verdicts.csv (its per-seed Δs); the two
bootstraps need the per-sentence counts, which that run did not keep. The hull contains the t interval, so:
- a t interval that includes 0 makes "holds" and "contradicted" impossible: that part of the restatement is
  certain;
- "paper's size rejected" needs the whole hull to exclude the paper's Δ: from the t part it is provisional.
  The published 95 % bootstrap intervals do not all lie inside the t interval on the paper's side: A3's
  two-level upper bound (+0.785) is above its t upper bound (+0.713), so A3's 98.33 % hull may well end above
  the t interval's +1.22 — still far below +3.29, but that is not recomputed, and "paper's size rejected"
  stays provisional for A2 and A3 alike.
The two-sided p is the paired t test's (the largest of the three methods' p can only be larger); Holm over
A1-A3. The MDE is the plans' (`minimal_detectable_effect`: t quantiles with 4 d.f. at 98.33 % and power 0.8,
on the seed sd and the sentence-noise floor from the published sentence interval). Run from the repository root:  python docs/cpu/restate.py  (prints the Markdown table the docs show).
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
from scipy import stats

from mtbioner.report.stats.verdicts import family_level, holm, minimal_detectable_effect, paired_t_interval, verdict

VERDICTS = Path(__file__).parent / "tables" / "verdicts.csv"


def main() -> None:
    rows = list(csv.DictReader(VERDICTS.open(encoding="utf-8")))
    family = [row for row in rows if row["family"] == "True"]
    level = family_level(len(family))
    z95 = stats.norm.ppf(0.975)
    p_two = []
    for row in family:
        d = np.array([float(x) for x in row["per_seed"].split(";")])
        p_two.append(float(2 * stats.t.sf(abs(d.mean()) / (d.std(ddof=1) / np.sqrt(len(d))), len(d) - 1)))
    print(f"| claim | Δ (paper) | 95 % interval (published) | paired t at {100 * level:.2f} % | two-sided p (t) "
          f"| Holm p | MDE at {100 * level:.2f} % | published verdict | restated verdict |")
    print("|---|---|---|---|---|---|---|---|---|")
    for row, p, adjusted in zip(family, p_two, holm(p_two)):
        d = [float(x) for x in row["per_seed"].split(";")]
        low, high = paired_t_interval(d, level)
        paper = float(row["paper_delta"])
        restated = verdict(low, high, paper)
        certain = low <= 0 <= high and low <= paper <= high  # inconclusive whatever the bootstraps add
        note = "" if certain else " (t part; provisional)"
        floor = (float(row["sentence_high"]) - float(row["sentence_low"])) / (2 * z95)
        print(f"| {row['claim']} | {float(row['delta']):+.2f} ({paper:+.2f}) | [{float(row['low']):+.2f}, "
              f"{float(row['high']):+.2f}] | [{low:+.2f}, {high:+.2f}] | {p:.4f} | {adjusted:.4f} | "
              f"{minimal_detectable_effect(d, floor, level):.2f} | {row['verdict']} | **{restated}**{note} |")


if __name__ == "__main__":
    main()
