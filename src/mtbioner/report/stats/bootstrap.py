"""The one bootstrap engine of the report: replicates of a paired difference between two systems scored on the
same test sentences, over k training seeds paired by seed.

The unit of data is per-sentence columns of each system and seed, (k, n, c) — entity TP/FP/FN for F1, or the
false-positive-sentence columns — and a `statistic` of their column totals (..., c) -> (...). A replicate
resamples the n sentences with replacement, with one draw shared by both systems and by every seed (the
pairing by sentence is kept everywhere), and gives each seed's statistic(A) − statistic(B) on it. Both users
read what they need from the same replicates:

- `significance.py` (one seed pair, the † of Tables 2-4): k = 1, the sentences drawn as one
  multinomial(n, uniform) row per replicate (`MULTINOMIAL`);
- `verdicts.py` (seeds and sentences): first k seed indices with replacement per replicate (`resample_seeds`),
  then n uniform sentence indices, counted (`INDICES`); the two-level replicate is the mean over the drawn
  seeds (`Replicates.two_level`), the sentence-only one the mean over the fixed seeds (`Replicates.sentence`).

Why two ways to draw the same distribution of sentence counts: each is the order in which published numbers
(significance.csv, verdicts.csv) drew their random numbers from numpy's default_rng(seed), and the same seed
must keep giving the same numbers (tests/test_findings.py recomputes the published verdicts).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

#: How each replicate's sentence counts are drawn (see the module docstring).
MULTINOMIAL = "multinomial"
INDICES = "indices"
#: Entries of the (replicates x sentences) weight matrix drawn at once: bounds memory (~100 MB of temporaries)
#: while keeping the matrix products few and large (BLAS start-up dominates many small ones on a busy machine).
#: Where the chunks fall is part of the draw order of `INDICES` with seeds (seeds, then sentences, per chunk).
CHUNK_ELEMENTS = 2**22


@dataclass(frozen=True)
class Replicates:
    """`per_seed[r, s]` = statistic(A) − statistic(B) of seed s on replicate r's sentences; `seeds[r]` = the k
    seed indices replicate r drew with replacement (None when seeds were not resampled)."""

    per_seed: np.ndarray  # (samples, k)
    seeds: np.ndarray | None  # (samples, k)

    @property
    def two_level(self) -> np.ndarray:
        """The seed-mean difference over the drawn seeds: both sources of variance."""
        if self.seeds is None:
            raise ValueError("the seeds were not resampled")
        return np.take_along_axis(self.per_seed, self.seeds, axis=1).mean(axis=1)

    @property
    def sentence(self) -> np.ndarray:
        """The seed-mean difference over the fixed seeds: the test sentences' variance only."""
        return self.per_seed.mean(axis=1)


def sentence_weights(rng: np.random.Generator, size: int, n: int, draw: str) -> np.ndarray:
    """(size, n): how often each of n sentences is drawn in each of `size` replicates (each row sums to n)."""
    if draw == MULTINOMIAL:
        return rng.multinomial(n, np.full(n, 1.0 / n), size=size)
    if draw == INDICES:
        indices = rng.integers(0, n, size=(size, n))
        # bincount of the index vectors, offset by row so that one call counts every replicate
        return np.bincount((indices + n * np.arange(size)[:, None]).ravel(), minlength=size * n).reshape(size, n)
    raise ValueError(f"unknown sentence draw {draw!r} (expected {MULTINOMIAL!r} or {INDICES!r})")


def paired_replicates(a: np.ndarray, b: np.ndarray, samples: int, rng: np.random.Generator,
                      statistic: Callable[[np.ndarray], np.ndarray], *, draw: str = INDICES,
                      resample_seeds: bool = True) -> Replicates:
    """`samples` bootstrap replicates of statistic(A) − statistic(B) per seed. `a`, `b`: (k, n, c) per-sentence
    columns of the two systems (the same seeds and sentences, in the same order); `statistic` maps column
    totals (..., c) to a value (...). Per chunk of replicates the seed indices (when `resample_seeds`) are
    drawn first, then the sentence weights (`draw`)."""
    k, n, c = a.shape
    # (n, 2k*c): one matrix product gives every seed's resampled totals of both systems at once. Counts are
    # integers far below 2**53, so float64 totals are exact whatever order BLAS adds them in.
    design = np.concatenate([a, b], axis=0).transpose(1, 0, 2).reshape(n, 2 * k * c).astype(np.float64)
    per_seed = np.empty((samples, k))
    seeds = np.empty((samples, k), dtype=np.int64) if resample_seeds else None
    chunk = max(1, CHUNK_ELEMENTS // n)
    done = 0
    while done < samples:
        size = min(chunk, samples - done)
        if seeds is not None:
            seeds[done:done + size] = rng.integers(0, k, size=(size, k))
        weights = sentence_weights(rng, size, n, draw)
        totals = (weights.astype(np.float64) @ design).reshape(size, 2, k, c)
        per_seed[done:done + size] = statistic(totals[:, 0]) - statistic(totals[:, 1])
        done += size
    return Replicates(per_seed, seeds)
