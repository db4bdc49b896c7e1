"""Verdicts on the paper's claims from seed-replicated comparisons: one interval that counts both sources of
variance (training seeds and test sentences), stated at 95 % and read by the verdict at the family's
Bonferroni level (so the verdicts of a pre-registered family keep a 5 % family-wise error in both
directions), two-sided p-values with Holm's correction over the family, the minimal detectable effect, the
pre-registered four-way verdict rule, and the false-positive-sentence rate compared the same way.

Pure functions on arrays (no file I/O). The unit of data is a run's per-sentence entity counts: an
(n_sentences, 3) integer array of true positives, false positives and false negatives, as
`mtbioner.report.stats.predictions.entity_counts` makes from a run's `test_predictions.tsv` (or `sentence_counts`
here from tag lists). Entities are seqeval's (default mode, exact span and type match), so micro F1 from the
column sums is exactly seqeval's micro F1 of the run.

A comparison is system A against system B over k training seeds, paired by seed (A's and B's runs of seed s
share the seed, and in the CPU preset the subsample draw), all scored on the same test sentences in the same
order. Every difference here is **in F1 points** (F1 x 100, the paper's unit, as in `paper_values`):
Δ = F1(A) − F1(B), so a positive Δ means A is better.

Typical use (the report wires this to run directories):

    a = [entity_counts(read_predictions(run.predictions_file)) for run in joint_max_runs]   # seeds in order
    b = [entity_counts(read_predictions(run.predictions_file)) for run in baseline_runs]    # same seeds
    results = [compare(a, b, paper_delta=3.29, family_size=3), ...]   # one per claim; + = the paper's claim
    results = with_holm(results)            # Holm over the pre-registered family (exactly it)
    rows = [r.to_row() for r in results]    # one CSV row per claim

Per-seed-pair bootstraps (`significance.py`) stay as detail; the verdict comes from here. Both draw their
replicates from the one engine, `mtbioner.report.stats.bootstrap`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import stats

from mtbioner.errors import MtbionerError
from mtbioner.report.stats.bootstrap import INDICES, paired_replicates
from mtbioner.report.defaults import BOOTSTRAP_SEED, VERDICT_SAMPLES
from mtbioner.report.stats.predictions import PredictedSentence, entity_counts, prf_from_counts

# VERDICT_SAMPLES (report.verdict_samples, default 10,000): not the per-seed-pair 1,000, because at 1,000 the
# Monte-Carlo standard error of a p near 0.05 is ~0.007, enough to move a claim across the line.
#: Two-sided coverage of every interval; the MDE uses the matching α = 1 − LEVEL.
LEVEL = 0.95
#: Power at which the minimal detectable effect is stated.
POWER = 0.8

HOLDS = "holds"
CONTRADICTED = "contradicted"
SIZE_REJECTED = "paper's size rejected"
INCONCLUSIVE = "inconclusive"
#: No verdict: the scores are degenerate (`degenerate`), so no interval says anything.
NOT_ESTIMABLE = "not estimable"
#: No verdict: the claim's runs were not made (a device call's part that did not fit); it keeps its place in
#: the family (`mtbioner.report.stats.verdict_table.judge_counts`).
NOT_RUN = "not run"
#: The four verdicts of the pre-registered rule, in the order `verdict` checks them, and the refusals.
VERDICTS = (HOLDS, CONTRADICTED, SIZE_REJECTED, INCONCLUSIVE, NOT_ESTIMABLE, NOT_RUN)


# ------------------------------------------------------------------------------ per-sentence counts and F1
def sentence_counts(gold: Sequence[Sequence[str]], pred: Sequence[Sequence[str]]) -> np.ndarray:
    """(n_sentences, 3) TP/FP/FN per sentence from gold and predicted BIO tags, through the same seqeval
    entities as `predictions.entity_counts` (the counts of a run's test_predictions.tsv)."""
    if len(gold) != len(pred):
        raise MtbionerError(f"{len(gold)} gold sentences but {len(pred)} predicted ones")
    sentences = []
    for i, (g, p) in enumerate(zip(gold, pred), start=1):
        if len(g) != len(p):
            raise MtbionerError(f"sentence {i}: {len(g)} gold tags but {len(p)} predicted tags")
        sentences.append(PredictedSentence(tokens=("",) * len(g), gold=tuple(g), pred=tuple(p)))  # words unused
    return entity_counts(sentences)


def f1_points(counts: np.ndarray) -> np.ndarray:
    """Micro F1 x 100 of counts summed over the sentence axis (the one before the last): (..., n, 3) -> (...)."""
    totals = np.asarray(counts).sum(axis=-2)
    return 100.0 * prf_from_counts(totals[..., 0], totals[..., 1], totals[..., 2])[2]


def _f1_of_totals(totals: np.ndarray) -> np.ndarray:
    return 100.0 * prf_from_counts(totals[..., 0], totals[..., 1], totals[..., 2])[2]


def _stack(runs: Sequence[np.ndarray] | np.ndarray, name: str) -> np.ndarray:
    array = np.asarray(runs)
    if array.ndim != 3 or array.shape[2] != 3 or array.shape[0] < 1 or array.shape[1] < 1:
        raise MtbionerError(f"{name}: need per-seed (n_sentences, 3) TP/FP/FN arrays, got shape {array.shape}")
    if not np.issubdtype(array.dtype, np.integer) or (array < 0).any():
        raise MtbionerError(f"{name}: entity counts must be non-negative integers")
    return array.astype(np.int64)


# ------------------------------------------------------------------------------ the comparison
@dataclass(frozen=True)
class Comparison:
    """A vs B over seeds, in F1 points. `low`/`high` is the 95 % interval (every claim states it);
    `verdict_low`/`verdict_high` is the interval the verdict reads, at `verdict_level` — 95 % for a claim
    outside the family, 1 − 0.05/m (Bonferroni-simultaneous) for each of the m claims of the family, so that
    the chance of any wrong "holds", "contradicted" or "paper's size rejected" in the family is at most 5 %.
    `p_holm` is filled by `with_holm` (None until the family is known)."""

    delta: float  # mean over seeds of F1(A_s) - F1(B_s), full test set
    f1_a: float  # mean over seeds of F1(A_s)
    f1_b: float
    low: float  # 95 % interval: the hull of the three below (two-level, widened when needed)
    high: float
    widened: bool  # True when the 95 % two-level interval did not contain both others and was replaced by the hull
    two_level_low: float  # two-level bootstrap percentile interval (seeds, then sentences), 95 %
    two_level_high: float
    t_low: float  # paired-by-seed t interval of the per-seed Δs (k - 1 d.f.; NaN with one seed), 95 %
    t_high: float
    sentence_low: float  # sentence bootstrap of the seed-mean Δ (seeds fixed), 95 %
    sentence_high: float
    verdict_level: float  # coverage of the verdict's interval (0.95 / m in the family's Bonferroni split)
    verdict_low: float  # the hull of the same three intervals at verdict_level: what the verdict reads
    verdict_high: float
    p_one_sided: float  # in the paper's direction (see `compare`)
    p_two_sided: float  # both directions: what Holm runs over
    se: float  # standard error implied by the 95 % interval
    mde: float  # minimal detectable effect, F1 points (`minimal_detectable_effect`): verdict's level, power 0.8
    n_seeds: int
    n_sentences: int
    samples: int
    direction: int  # +1: the paper says A > B; -1: A < B
    paper_delta: float | None
    verdict: str  # the pre-registered rule (`verdict`) on the verdict's interval, or NOT_ESTIMABLE
    per_seed: tuple[float, ...]  # the per-seed Δs, seed order as given
    p_holm: float | None = None
    note: str = ""  # why a comparison is NOT_ESTIMABLE (`degenerate`); empty otherwise

    def to_row(self) -> dict[str, Any]:
        """A flat dict for one CSV row (per-seed Δs joined by ';')."""
        row = dataclasses.asdict(self)
        row["per_seed"] = ";".join(f"{d:.6g}" for d in self.per_seed)
        return row


def _resample(a: np.ndarray, b: np.ndarray, samples: int, rng: np.random.Generator,
              statistic=_f1_of_totals) -> tuple[np.ndarray, np.ndarray]:
    """Bootstrap replicates of the seed-mean Δ of `statistic` (a function of per-seed column totals (..., c)):
    (two-level, sentence-only), each of length `samples`. `a`, `b`: (k, n, c) per-sentence columns.

    Replicate r draws k seed indices with replacement and one vector of n sentence indices with replacement;
    the sentence vector is shared by A and B and by every resampled seed of the replicate (so the pairing by
    sentence is kept everywhere). The sentence-only replicate reuses the same sentence vector with the seeds
    fixed (common random numbers: it costs nothing extra). The engine is `mtbioner.report.stats.bootstrap`."""
    replicates = paired_replicates(a, b, samples, rng, statistic, draw=INDICES, resample_seeds=True)
    return replicates.two_level, replicates.sentence


def _bootstrap_p(replicates: np.ndarray, direction: int) -> float:
    """(1 + #{direction·Δ* <= 0}) / (1 + B): the share of the bootstrap distribution on the wrong side of 0
    (ties count against the claim), +1 so a Monte-Carlo p is never 0."""
    return float((1 + np.count_nonzero(direction * replicates <= 0)) / (1 + len(replicates)))


def _t_p(per_seed: np.ndarray, direction: int) -> float:
    k = len(per_seed)
    if k < 2:
        return float("nan")
    sd = per_seed.std(ddof=1)
    mean = per_seed.mean()
    if sd == 0:  # identical per-seed Δs: all evidence or none
        return 0.0 if direction * mean > 0 else 1.0
    return float(stats.t.sf(direction * mean / (sd / np.sqrt(k)), k - 1))


def _two_sided(one_sided_up: float, one_sided_down: float) -> float:
    return float(min(1.0, 2 * min(one_sided_up, one_sided_down)))


def paired_t_interval(per_seed: Sequence[float] | np.ndarray, level: float = LEVEL) -> tuple[float, float]:
    """mean ± t_{(1+level)/2, k-1} · sd / √k of the per-seed Δs (sd with k − 1); (NaN, NaN) with one seed."""
    d = np.asarray(per_seed, dtype=np.float64)
    k = len(d)
    if k < 2:
        return float("nan"), float("nan")
    half = stats.t.ppf((1 + level) / 2, k - 1) * d.std(ddof=1) / np.sqrt(k)
    return float(d.mean() - half), float(d.mean() + half)


@dataclass(frozen=True)
class _Intervals:
    """The three intervals at one level and their hull."""

    two_level: tuple[float, float]
    t: tuple[float, float]
    sentence: tuple[float, float]

    @property
    def hull(self) -> tuple[float, float]:
        lows = [x for x in (self.two_level[0], self.t[0], self.sentence[0]) if np.isfinite(x)]
        highs = [x for x in (self.two_level[1], self.t[1], self.sentence[1]) if np.isfinite(x)]
        return min(lows), max(highs)


def _intervals(per_seed: np.ndarray, two_level: np.ndarray, sentence: np.ndarray, level: float) -> _Intervals:
    tails = [(1 - level) / 2, (1 + level) / 2]
    return _Intervals(tuple(float(x) for x in np.quantile(two_level, tails)),
                      paired_t_interval(per_seed, level),
                      tuple(float(x) for x in np.quantile(sentence, tails)))


def _p_values(per_seed: np.ndarray, two_level: np.ndarray, sentence: np.ndarray, direction: int) -> tuple[float, float]:
    """(one-sided in `direction`, two-sided): the largest of the two-level bootstrap's, the paired t test's and
    the sentence bootstrap's, so p agrees with the hull of their intervals (the hull excludes 0 at level L only
    when each of the three does, i.e. when each p is below 1 − L two-sided)."""
    def largest(values: Sequence[float]) -> float:
        return max(x for x in values if np.isfinite(x))

    up = largest([_bootstrap_p(two_level, 1), _t_p(per_seed, 1), _bootstrap_p(sentence, 1)])
    down = largest([_bootstrap_p(two_level, -1), _t_p(per_seed, -1), _bootstrap_p(sentence, -1)])
    return (up if direction > 0 else down), _two_sided(up, down)


def degenerate(f1_a: np.ndarray, f1_b: np.ndarray, low: float, high: float) -> str:
    """Why no verdict can be drawn from these scores ("" when one can): both systems score F1 0 on every seed
    (nothing was learnt: a zero difference of zeros says nothing about the method), or the interval has no
    width (the systems' predictions differ on no test sentence in any seed, so no resample varies and the
    interval reflects no uncertainty at all)."""
    if not np.any(f1_a) and not np.any(f1_b):
        return "both systems score F1 0 on every seed"
    if high - low == 0:
        return "no variance: the two systems' predictions differ on no resampled sentence or seed"
    return ""


def family_level(family_size: int, level: float = LEVEL) -> float:
    """Coverage of each claim's verdict interval when `family_size` claims are judged together: the
    Bonferroni split 1 − (1 − level)/m, so that all m intervals cover their true Δ together with probability
    ≥ `level` (any pattern of dependence between the claims). Outside a family (m = 1): `level`."""
    if family_size < 1:
        raise MtbionerError(f"a family has at least one claim, got {family_size}")
    return 1 - (1 - level) / family_size


def minimal_detectable_effect(per_seed: Sequence[float] | np.ndarray, sentence_se: float, level: float = LEVEL,
                              power: float = POWER) -> float:
    """The smallest true Δ (F1 points) that a two-sided test at `level` detects with probability `power`: the
    plans' definition (docs/cpu/budget/PLAN.md, docs/gpu/PLAN.md, docs/cpu/schedule/PLAN.md), the one MDE of
    this module.

    MDE = (t_{(1+level)/2, k−1} + t_{power, k−1}) · √(s²/k + se²), with s the sd of the k per-seed Δs
    (k − 1 d.f.) and se the sentence-noise floor (the SE of the seed-mean Δ over test sentences, which more
    seeds do not remove: the sentence bootstrap's 95 % width / (2 · 1.96)). t quantiles, not z: with 4 seeds
    z would promise an MDE a fifth smaller than the design has (B1: 1.89 by z, 2.39 by t). With one seed there
    is no seed sd: normal quantiles on the sentence floor alone."""
    d = np.asarray(per_seed, dtype=np.float64)
    k = len(d)
    if k < 1 or not np.isfinite(sentence_se) or sentence_se < 0:
        raise MtbionerError(f"an MDE needs at least one per-seed Δ and a sentence SE >= 0, got {k} and {sentence_se}")
    if k == 1:
        return float((stats.norm.ppf((1 + level) / 2) + stats.norm.ppf(power)) * sentence_se)
    quantiles = stats.t.ppf((1 + level) / 2, k - 1) + stats.t.ppf(power, k - 1)
    return float(quantiles * np.sqrt(d.var(ddof=1) / k + sentence_se ** 2))


def _checked_pair(a_runs: Sequence[np.ndarray] | np.ndarray, b_runs: Sequence[np.ndarray] | np.ndarray,
                  paper_delta: float | None, direction: int | None, samples: int) -> tuple[np.ndarray, np.ndarray, int]:
    """`compare`'s inputs checked: the two systems' stacked counts (same seeds and sentences) and the claim's
    direction (given, or the sign of the paper's Δ)."""
    a = _stack(a_runs, "system A")
    b = _stack(b_runs, "system B")
    if a.shape != b.shape:
        raise MtbionerError(f"system A has (seeds, sentences) {a.shape[:2]} but system B has {b.shape[:2]}: "
                            "a paired comparison needs the same seeds and test sentences")
    if direction is None:
        if paper_delta is None or not np.isfinite(paper_delta) or paper_delta == 0:
            raise MtbionerError(f"the paper's Δ ({paper_delta}) gives no direction: pass direction=+1 or -1")
        direction = 1 if paper_delta > 0 else -1
    if direction not in (1, -1):
        raise MtbionerError(f"direction must be +1 or -1, got {direction}")
    if samples < 1:
        raise MtbionerError(f"need at least one bootstrap resample, got {samples}")
    return a, b, direction


def compare(a_runs: Sequence[np.ndarray] | np.ndarray, b_runs: Sequence[np.ndarray] | np.ndarray,
            paper_delta: float | None = None, *, direction: int | None = None, samples: int = VERDICT_SAMPLES,
            seed: int = BOOTSTRAP_SEED, level: float = LEVEL, power: float = POWER,
            family_size: int = 1) -> Comparison:
    """System A against system B over k seeds, paired by seed: a_runs[s] and b_runs[s] are the (n, 3)
    TP/FP/FN per test sentence of seed s (the same n sentences in the same order for every run).

    Δ = mean over seeds of F1(A_s) − F1(B_s), in F1 points. Three intervals:

    - **two-level bootstrap**: each of `samples` replicates resamples the k seeds with replacement, then the
      test sentences with one index vector shared by both systems and by every resampled seed; the statistic
      is the seed-mean Δ; percentile interval. It counts both the training-seed variance and the
      test-sentence variance. Like Owen's (2007) pigeonhole bootstrap of a crossed design it is mildly
      conservative (the seed x sentence interaction is counted in both stages): in the test suite's
      simulation (5 seeds, 250 sentences, 150 draws) it covered the true Δ in all 150 draws, where the t
      interval covered 95 %, and the hull of the three was ~12 % wider than the t interval.
    - **paired-by-seed t**: the per-seed Δs (full test set), mean ± t_{k−1} · sd/√k. Counts seed variance
      (and, through the per-seed Δs, the sentence noise that differs between seeds), not the shared test set.
    - **sentence bootstrap of the seed-mean Δ**: seeds fixed, sentences resampled (shared indices). Counts
      only the test-set variance.

    An interval that a claim reads is the **hull** of the three at its level, so it never claims more than
    either: with few seeds the two-level percentile interval can be too narrow (a bootstrap over k = 3-5
    seeds sees at most k distinct values and underestimates the seed variance by (k − 1)/k, where the t
    interval pays for the small k with its t quantile). `widened` says the 95 % hull is wider than the
    two-level interval. Containment, not just width, is required: a wider but shifted interval could still
    exclude 0 where the t interval does not.

    Two levels: `low`/`high` is the hull at `level` (95 %), which every claim states; `verdict_low`/
    `verdict_high` is the hull at `family_level(family_size)` — 1 − 0.05/m for a claim judged as one of m in a
    family — which the verdict reads, so that the family-wise error of every verdict (holds, contradicted and
    paper's size rejected alike, in either direction) is at most 5 %.

    p-values are the largest of the three methods' (so p and the hull agree): the bootstrap ones are
    (1 + #{direction·Δ* ≤ 0}) / (1 + B) — the share on the wrong side of 0, ties against the claim, never 0.
    `p_one_sided` is in the paper's direction; `p_two_sided` = 2 × the smaller one-sided p (both directions:
    what Holm's correction runs over, so that "contradicted" is tested family-wise too). `direction` defaults
    to the sign of `paper_delta`; give it when the paper's Δ is 0 or unknown.

    SE = (high − low) / (2 z_{(1+level)/2}) of the 95 % hull (so widening counts). The minimal detectable
    effect is `minimal_detectable_effect`'s: the plans' definition, with t quantiles (k − 1 d.f.) at the
    verdict's level (two-sided) and `power`, on the seed sd and the sentence-noise floor.

    With one seed the t interval is (NaN, NaN) and is left out of the hull, so the verdict then counts the
    test sentences only (the quick preset's case); `n_seeds` in the row says so.

    The verdict (`verdict`) is taken from the verdict's interval; without a paper Δ it is holds /
    contradicted / inconclusive in `direction` (no size to reject).
    Replicates are drawn from numpy's default_rng(seed): the same inputs give the same numbers.
    """
    a, b, direction = _checked_pair(a_runs, b_runs, paper_delta, direction, samples)
    k, n, _ = a.shape

    f1_a, f1_b = f1_points(a), f1_points(b)  # (k,) each
    per_seed = f1_a - f1_b
    delta = float(per_seed.mean())
    two_level, sentence = _resample(a, b, samples, np.random.default_rng(seed))
    stated = _intervals(per_seed, two_level, sentence, level)
    low, high = stated.hull
    widened = low < stated.two_level[0] or high > stated.two_level[1]
    verdict_level = family_level(family_size, level)
    verdict_low, verdict_high = _intervals(per_seed, two_level, sentence, verdict_level).hull
    p_one, p_two = _p_values(per_seed, two_level, sentence, direction)

    z = stats.norm.ppf((1 + level) / 2)
    se = (high - low) / (2 * z)
    mde = minimal_detectable_effect(per_seed, (stated.sentence[1] - stated.sentence[0]) / (2 * z), verdict_level,
                                    power)
    note = degenerate(f1_a, f1_b, verdict_low, verdict_high)
    return Comparison(
        delta=delta, f1_a=float(f1_a.mean()), f1_b=float(f1_b.mean()), low=low, high=high, widened=bool(widened),
        two_level_low=stated.two_level[0], two_level_high=stated.two_level[1], t_low=stated.t[0],
        t_high=stated.t[1], sentence_low=stated.sentence[0], sentence_high=stated.sentence[1],
        verdict_level=float(verdict_level), verdict_low=verdict_low, verdict_high=verdict_high,
        p_one_sided=float(p_one), p_two_sided=float(p_two), se=float(se), mde=float(mde), n_seeds=k,
        n_sentences=n, samples=samples, direction=direction,
        paper_delta=None if paper_delta is None else float(paper_delta),
        verdict=NOT_ESTIMABLE if note else verdict(verdict_low, verdict_high, paper_delta, direction),
        per_seed=tuple(float(d) for d in per_seed), note=note)


# ------------------------------------------------------------------------------ false-positive sentences
@dataclass(frozen=True)
class RateComparison:
    """The false-positive-sentence rate of A against B over seeds (in percentage points of the gold
    entity-free test sentences), with the same three intervals as `Comparison` at 95 % and their hull."""

    rate_a: float  # mean over seeds of A's FP-sentence rate, %
    rate_b: float
    delta: float  # mean over seeds of rate(A_s) − rate(B_s), percentage points
    low: float  # hull of the two-level, paired-t and sentence intervals, 95 %
    high: float
    p_two_sided: float
    n_seeds: int
    n_entity_free: int  # gold entity-free test sentences: the denominator
    per_seed: tuple[float, ...]


def _rate_statistic(totals: np.ndarray) -> np.ndarray:
    """FP-sentence rate in % from (entity-free, FP-sentence) totals (..., 2)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(totals[..., 0] > 0, 100.0 * totals[..., 1] / totals[..., 0], 0.0)


def fp_sentence_columns(counts: np.ndarray) -> np.ndarray:
    """(n, 2) per sentence: gold entity-free (TP + FN = 0), and entity-free with a predicted entity (FP > 0)."""
    counts = np.asarray(counts)
    free = (counts[..., 0] + counts[..., 2]) == 0
    return np.stack([free, free & (counts[..., 1] > 0)], axis=-1).astype(np.int64)


def compare_fp_rates(a_runs: Sequence[np.ndarray] | np.ndarray, b_runs: Sequence[np.ndarray] | np.ndarray, *,
                     samples: int = VERDICT_SAMPLES, seed: int = BOOTSTRAP_SEED,
                     level: float = LEVEL) -> RateComparison:
    """A's false-positive-sentence rate against B's over k seeds, paired by seed, from the same (n, 3) TP/FP/FN
    counts `compare` takes: over the gold entity-free sentences, the share where the system predicts an entity.
    The interval counts the seeds and the sentences (the two-level bootstrap, hulled with the paired t and the
    sentence bootstrap, as in `compare`); it is the seed-level answer that a McNemar test per seed, or one over
    sentences pooled across seeds, cannot give (both treat the trained models as fixed)."""
    a = _stack(a_runs, "system A")
    b = _stack(b_runs, "system B")
    if a.shape != b.shape:
        raise MtbionerError(f"system A has (seeds, sentences) {a.shape[:2]} but system B has {b.shape[:2]}")
    if not np.array_equal(a[..., 0] + a[..., 2], b[..., 0] + b[..., 2]):
        raise MtbionerError("the runs' gold entity counts differ per sentence: not the same test set")
    ca, cb = fp_sentence_columns(a), fp_sentence_columns(b)
    rate_a, rate_b = _rate_statistic(ca.sum(axis=1)), _rate_statistic(cb.sum(axis=1))
    per_seed = rate_a - rate_b
    two_level, sentence = _resample(ca, cb, samples, np.random.default_rng(seed), statistic=_rate_statistic)
    low, high = _intervals(per_seed, two_level, sentence, level).hull
    _, p_two = _p_values(per_seed, two_level, sentence, 1)
    return RateComparison(rate_a=float(rate_a.mean()), rate_b=float(rate_b.mean()), delta=float(per_seed.mean()),
                          low=low, high=high, p_two_sided=p_two, n_seeds=a.shape[0],
                          n_entity_free=int(ca[0, :, 0].sum()), per_seed=tuple(float(d) for d in per_seed))


# ------------------------------------------------------------------------------ family and verdicts
def holm(p_values: Sequence[float] | np.ndarray) -> np.ndarray:
    """Holm–Bonferroni adjusted p-values, in the input order: the i-th smallest of m is multiplied by
    m − i + 1, then made non-decreasing along the sorted order (running maximum) and capped at 1. A claim is
    significant at family-wise level α when its adjusted p < α."""
    p = np.asarray(p_values, dtype=np.float64)
    if p.ndim != 1 or not np.all((p >= 0) & (p <= 1)):  # also rejects NaN
        raise MtbionerError(f"Holm needs a list of p-values in [0, 1], got {p_values!r}")
    m = len(p)
    order = np.argsort(p, kind="stable")
    adjusted_sorted = np.minimum(1.0, np.maximum.accumulate((m - np.arange(m)) * p[order]))
    adjusted = np.empty(m)
    adjusted[order] = adjusted_sorted
    return adjusted


def with_holm(results: Sequence[Comparison]) -> list[Comparison]:
    """The family's results with `p_holm` filled in: Holm over their two-sided p (pass exactly the
    pre-registered family, nothing more or less). Two-sided, because the family's verdicts can go either way
    (holds or contradicted): a one-sided p in the paper's direction would leave "contradicted" untested."""
    adjusted = holm([r.p_two_sided for r in results])
    return [dataclasses.replace(r, p_holm=float(q)) for r, q in zip(results, adjusted)]


def verdict(low: float, high: float, paper_delta: float | None, direction: int | None = None) -> str:
    """The pre-registered rule on a closed interval [low, high] (F1 points) and the paper's Δ:

    - **holds**: the interval excludes 0 on the paper's side (low > 0 for a positive paper Δ, high < 0 for a
      negative one), whatever it says about the paper's size;
    - **contradicted**: it excludes 0 on the other side;
    - **paper's size rejected**: it includes 0 but excludes the paper's Δ;
    - **inconclusive**: it includes both 0 and the paper's Δ.

    Edge cases: the interval is closed, so a bound touching 0 (or the paper's Δ) includes it — a touch never
    counts as evidence. A paper Δ of 0 has no direction: an interval that excludes 0 then rejects the paper's
    size (SIZE_REJECTED) and one that includes 0 is INCONCLUSIVE (an interval cannot show "no effect").

    Without a paper Δ (`paper_delta` None: the paper states a direction but no size), `direction` (+1 / -1)
    stands for the paper's side: HOLDS, CONTRADICTED or INCONCLUSIVE, never SIZE_REJECTED."""
    if paper_delta is None:
        if direction not in (1, -1):
            raise MtbionerError(f"a verdict without the paper's Δ needs direction +1 or -1, got {direction}")
        if not (np.isfinite(low) and np.isfinite(high)) or low > high:
            raise MtbionerError(f"verdict needs finite low <= high, got [{low}, {high}]")
        if low <= 0 <= high:
            return INCONCLUSIVE
        return HOLDS if (low > 0) == (direction > 0) else CONTRADICTED
    if not (np.isfinite(low) and np.isfinite(high) and np.isfinite(paper_delta)) or low > high:
        raise MtbionerError(f"verdict needs finite low <= high and paper Δ, got [{low}, {high}] and {paper_delta}")
    includes_zero = low <= 0 <= high
    if not includes_zero and paper_delta != 0:
        same_side = (low > 0) == (paper_delta > 0)
        return HOLDS if same_side else CONTRADICTED
    if not low <= paper_delta <= high:
        return SIZE_REJECTED
    return INCONCLUSIVE


# ------------------------------------------------------------------------------ McNemar
@dataclass(frozen=True)
class McNemarResult:
    """Exact McNemar test on paired binary outcomes. `a_only` = pairs where only A is correct, `b_only` =
    pairs where only B is correct (the discordant pairs); `n` = all pairs."""

    a_only: int
    b_only: int
    n: int
    p_value: float  # two-sided, exact binomial on the discordant pairs; 1 when there are none

    def to_row(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def mcnemar(a_correct: Sequence[bool] | np.ndarray, b_correct: Sequence[bool] | np.ndarray) -> McNemarResult:
    """Paired exact McNemar test: under H0 each discordant pair is A-only or B-only with probability ½, so
    p = two-sided binomial test of a_only out of a_only + b_only (scipy's binomtest; for p = ½ this is
    min(1, 2 · P(X <= min(a_only, b_only))))."""
    a = np.asarray(a_correct)
    b = np.asarray(b_correct)
    if a.shape != b.shape or a.ndim != 1 or a.dtype != bool or b.dtype != bool:
        raise MtbionerError(f"McNemar needs two boolean vectors of the same length, got {a.shape} and {b.shape}")
    a_only = int(np.count_nonzero(a & ~b))
    b_only = int(np.count_nonzero(~a & b))
    discordant = a_only + b_only
    p = 1.0 if discordant == 0 else float(stats.binomtest(a_only, discordant, 0.5).pvalue)
    return McNemarResult(a_only=a_only, b_only=b_only, n=len(a), p_value=min(1.0, p))


def false_positive_test(counts_a: np.ndarray, counts_b: np.ndarray) -> McNemarResult:
    """McNemar on the false-positive-sentence rates of two runs on the same test set: over the sentences with
    no gold entity (TP + FN = 0), a system is "correct" when it predicts no entity there (FP = 0)."""
    a = np.asarray(counts_a)
    b = np.asarray(counts_b)
    if a.shape != b.shape or a.ndim != 2 or a.shape[1] != 3:
        raise MtbionerError(f"need two (n, 3) count arrays of the same shape, got {a.shape} and {b.shape}")
    gold_a = a[:, 0] + a[:, 2]
    if not np.array_equal(gold_a, b[:, 0] + b[:, 2]):
        raise MtbionerError("the two runs' gold entity counts differ per sentence: not the same test set")
    entity_free = gold_a == 0
    return mcnemar(a[entity_free, 1] == 0, b[entity_free, 1] == 0)
