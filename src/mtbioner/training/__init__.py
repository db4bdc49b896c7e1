"""Training layer: turning a `RunConfig` into a finished run directory.

`batching` (length-bucketed batches, the per-epoch step schedule and the optimizer-step count),
`step` (the one training step), `checkpoints` (resume), `evaluate` (seqeval-compatible scores and the
sentence metrics) and `trainer` (`train_run`, and `epoch_steps`: the epoch the trainer, the benchmarks and the
GPU check all run).

May import: the foundation modules, `mtbioner.data`, `mtbioner.model` and `mtbioner.run`.
"""
