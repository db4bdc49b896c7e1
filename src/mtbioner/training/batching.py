"""Length-bucketed batching and the per-epoch step schedule of the trainer.

Batches hold sentences of similar length (random megabatches of `MEGABATCH_FACTOR` batches sorted by length,
batch order shuffled: the same idea as HF's group_by_length) so that padding to the batch's longest costs
little. The order is drawn from a generator seeded by (seed, epoch), so a resumed epoch sees the same batches.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING

import torch

if TYPE_CHECKING:
    from mtbioner.run.config import RunConfig

MEGABATCH_FACTOR = 50  # batches per length-sorted megabatch (HF's group_by_length uses the same factor)


def bucketed_batches(lengths: Sequence[int], batch_size: int, generator: torch.Generator) -> list[list[int]]:
    """Random megabatches of `MEGABATCH_FACTOR` batches, each sorted by length and cut into batches, then the
    batches shuffled: little padding, yet every epoch a different random order."""
    permutation = torch.randperm(len(lengths), generator=generator).tolist()
    megabatch = batch_size * MEGABATCH_FACTOR
    batches: list[list[int]] = []
    for start in range(0, len(permutation), megabatch):
        chunk = sorted(permutation[start:start + megabatch], key=lambda index: lengths[index], reverse=True)
        batches += [chunk[offset:offset + batch_size] for offset in range(0, len(chunk), batch_size)]
    order = torch.randperm(len(batches), generator=generator).tolist()
    return [batches[index] for index in order]


def epoch_schedule(lengths: Sequence[int], tasks: Sequence[str], strategy: str, batch_size: int, seed: int,
                   epoch: int) -> list[tuple[str | None, list[int]]]:
    """The steps of one epoch as `(task, feature indices)`; task None = all enabled tasks (joint)."""
    generator = torch.Generator().manual_seed(seed * 1_000_003 + epoch)
    if strategy == "joint" or len(tasks) == 1:
        return [(None, batch) for batch in bucketed_batches(lengths, batch_size, generator)]
    steps = [(task, batch) for task in tasks for batch in bucketed_batches(lengths, batch_size, generator)]
    order = torch.randperm(len(steps), generator=generator).tolist()
    return [steps[index] for index in order]


def passes_per_epoch(tasks: Sequence[str], strategy: str) -> int:
    """Passes over the training set in one epoch: one per task for an alternating run of several tasks, else one."""
    return len(tasks) if strategy == "alternating" and len(tasks) > 1 else 1


def steps_per_epoch(n_features: int, tasks: Sequence[str], strategy: str, batch_size: int) -> int:
    """Optimizer steps of one epoch (the trainer's schedule length; `mtbioner cost` counts with it too)."""
    return math.ceil(n_features / batch_size) * passes_per_epoch(tasks, strategy)


def run_steps(config: "RunConfig", n_inputs: int) -> int:
    """Optimizer steps of a whole run of `config` over `n_inputs` training inputs: the length of its learning-rate
    schedule (the trainer and the GPU check over windows, `mtbioner cost` over sentences)."""
    return config.train.epochs * steps_per_epoch(n_inputs, config.tasks, config.strategy, config.train.batch_size)
