"""Planning layer: what the workflow will run and what it will cost, before anything runs.

`grid` expands params.yaml into the runs of SPEC section 5 (each a `RunConfig`), `targets` lists what the
report rules read and write, `cost` counts steps, passes, disk and device-hours of a configured grid.
Snakemake parses the DAG through this layer, so it stays light: no torch, pandas or seqeval at import.

May import: the foundation modules, `mtbioner.data`, `mtbioner.run` and `mtbioner.training.batching` (the
step formula). Never `model` at import time, `use`, `report` or `cli`.
"""
