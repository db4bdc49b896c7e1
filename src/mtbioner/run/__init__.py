"""Run layer: what one training run is, and the one place its directory's layout is known.

`config` is `RunConfig`, the typed, validated configuration of one run; `directory` names every file of a
run directory and reads a finished run back as its `RunConfig` plus its results (`FinishedRun`). Writers
(the trainer) and readers (report, TaskEmb, predict/export) all go through `directory`.

May import: the foundation modules only (`errors`, `atomicio`, `params`, `tasks`).
"""
