"""Nested, seeded subsamples of the training set (SPEC section 5: 10 % ⊂ 25 % ⊂ 50 % ⊂ 100 %).

One seeded permutation of the sentence indices is drawn; the F % subsample is its first round(F/100 · n)
entries, so every smaller fraction is a prefix of every larger one. Selected sentences keep corpus order.

By default all training seeds share one draw (`data.subsample_seed`), as the paper's single split does. With
`data.subsample_per_seed` each training seed S draws its own nested subsamples from the permutation seed
`draw_seed(subsample_seed, S)`, so the spread over seeds includes the spread over draws; the systems of one
seed (baseline, joint-max, ...) still train on the same sentences.
"""

from __future__ import annotations

import random
from pathlib import Path
from typing import Iterable


def fraction_size(n: int, fraction: int) -> int:
    """Sentences in an F % subsample; at least one sentence for any non-empty set."""
    if not 0 < fraction <= 100:
        raise ValueError(f"fraction must be in 1..100, got {fraction}")
    return max(1, round(n * fraction / 100)) if n else 0


def draw_seed(subsample_seed: int, run_seed: int) -> int:
    """The permutation seed of training seed `run_seed`'s own draw: a fixed, documented mix of both seeds (a
    different draw for every run seed, the same one on every machine)."""
    return subsample_seed * 1_000_003 + run_seed


def nested_subsample(n: int, fractions: Iterable[int], seed: int, limit: int | None = None) -> dict[int, list[int]]:
    """Sorted sentence indices per fraction; `limit` caps the 100 % set (CPU presets) before the fractions."""
    order = list(range(n))
    random.Random(seed).shuffle(order)
    pool = order[: min(n, limit)] if limit else order
    return {fraction: sorted(pool[: fraction_size(len(pool), fraction)]) for fraction in fractions}


def write_subsamples(train: str | Path, out_dir: str | Path, fractions: Iterable[int], seed: int,
                     limit: int | None = None) -> tuple[dict[int, int], int]:
    """`<out_dir>/train.frac{F}.jsonl` for every fraction of the prepared `train` file (`nested_subsample`);
    returns the sentences written per fraction and the number of sentences in `train`."""
    from mtbioner.data.examples import read_examples, write_examples
    from mtbioner.data.files import DataFiles

    examples = read_examples(train)
    sizes = {}
    for fraction, indices in nested_subsample(len(examples), fractions, seed, limit).items():
        # out_dir is the subsample folder (the dataset's, or a seed's own): DataFiles spells the file in it
        write_examples(DataFiles(str(out_dir)).subsample(fraction), (examples[i] for i in indices))
        sizes[fraction] = len(indices)
    return sizes, len(examples)
