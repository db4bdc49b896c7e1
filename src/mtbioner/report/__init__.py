"""Report layer: the paper's tables, figures and verdicts from finished runs, split by job.

`stats` computes numbers from run directories and their files (aggregation, per-sentence counts, the bootstrap
engine, significance, verdicts, learning curves, task-embedding similarity); `embedding` is the one computation
that needs a trained model and torch (TaskEmb); `render` turns numbers into tables, figures and report.md.
`defaults` (report settings) and `paper_values` (the paper's published numbers) are shared by all three.
Within the layer: `stats` imports neither `render` nor `embedding`; `render` reads `embedding`'s output files
through `stats`, never the model code; `embedding` imports neither.

May import: every layer below but `use` and `cli`.
"""
