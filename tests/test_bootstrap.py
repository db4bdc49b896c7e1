"""The one bootstrap engine (mtbioner.report.stats.bootstrap): both ways of drawing sentences count n draws per
replicate, and the per-seed-pair and verdict bootstraps keep the random numbers they drew before they shared
it — the values below were computed by their own loops before the engine existed (same seed, same numbers)."""

from __future__ import annotations

import numpy as np
import pytest

from mtbioner.report.stats.bootstrap import INDICES, MULTINOMIAL, paired_replicates, sentence_weights
from mtbioner.report.stats.significance import resampled_deltas
from mtbioner.report.stats.verdicts import _resample


@pytest.mark.parametrize("draw", [MULTINOMIAL, INDICES])
def test_each_replicate_draws_n_sentences_uniformly(draw):
    weights = sentence_weights(np.random.default_rng(3), 2000, 40, draw)
    assert weights.shape == (2000, 40) and (weights.sum(axis=1) == 40).all()
    # each sentence is drawn once per replicate on average (binomial(40, 1/40): sd of the mean ~0.022)
    assert np.abs(weights.mean(axis=0) - 1).max() < 0.1


def test_a_statistic_of_identical_systems_never_differs():
    counts = np.random.default_rng(1).integers(0, 3, size=(2, 50, 3))
    replicates = paired_replicates(counts, counts.copy(), 300, np.random.default_rng(0),
                                   lambda totals: totals[..., 0] / totals.sum(axis=-1))
    assert not replicates.per_seed.any() and not replicates.two_level.any()
    with pytest.raises(ValueError, match="seeds were not resampled"):
        _ = paired_replicates(counts, counts, 5, np.random.default_rng(0), lambda totals: totals[..., 0],
                              resample_seeds=False).two_level


def _counts(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    return rng.integers(0, 3, size=shape)


def test_the_per_seed_pair_bootstrap_draws_what_it_drew_before():
    rng = np.random.default_rng(2026)
    deltas = resampled_deltas(_counts(rng, (400, 3)), _counts(rng, (400, 3)), 700, 0)
    assert [x.hex() for x in deltas[[0, 1, 255, 256, 699]]] == [
        "-0x1.a6e6f3a8142c0p-6", "-0x1.0cad1dfdc2b68p-5", "0x1.12f2070c16580p-8", "0x1.f7eb767bc86c0p-7",
        "-0x1.274e834e5cad0p-5"]
    assert float(np.sum(deltas)).hex() == "-0x1.2c5b4d4e40b5cp+4"


def test_the_verdicts_bootstrap_draws_what_it_drew_before():
    rng = np.random.default_rng(2026)
    _counts(rng, (400, 3)), _counts(rng, (400, 3))  # the draws of the test above: the same inputs as then
    two_level, sentence = _resample(_counts(rng, (3, 400, 3)), _counts(rng, (3, 400, 3)), 700,
                                    np.random.default_rng(0))
    assert [x.hex() for x in two_level[[0, 1, 699]]] == ["0x1.7e546de839babp-3", "-0x1.8216d78c94920p+0",
                                                         "0x1.1b8f7ecf93c60p+0"]
    assert [x.hex() for x in sentence[[0, 1, 699]]] == ["-0x1.a805aa5f7d2d5p-2", "-0x1.b43d8cd002b00p-2",
                                                        "0x1.8dab6f9ea3a6bp-1"]
    assert (float(np.sum(two_level)).hex(), float(np.sum(sentence)).hex()) == ("0x1.c22a4e07154c4p+8",
                                                                               "0x1.a33207bf7ed0ep+8")
