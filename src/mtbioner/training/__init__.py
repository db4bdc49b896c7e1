"""Training layer: turning a `RunConfig` into a finished run directory.

`batching` (length-bucketed batches, the per-epoch step schedule and the optimizer-step count),
`step` (the one training step the trainer, the benchmarks and the GPU check all call), `checkpoints`
(resume), `evaluate` (seqeval and the sentence metrics) and `trainer` (`train_run`).

May import: the foundation modules, `mtbioner.data`, `mtbioner.model` and `mtbioner.run`.
"""
