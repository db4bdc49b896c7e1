"""Data layer: the corpus and everything made from its files before a model exists.

Downloading and verifying MTL-Bioinformatics-2016 (`corpus`), the token-per-line TSV format (`iob`), the
prepared JSONL format (`examples`, each task's gold labels derived by the task registry), `prepare`,
nested `subsample`s, Table 1's `stats`, raw-text sentence splitting (`textsplit`), BioC/PubTator documents
(`standoff`, through the `bioc` library) and their mentions aligned to words (`align`).

May import: the foundation modules at the package root (`errors`, `atomicio`, `params`), the task
registry `tasks` (the layer below: the tasks and the entity chunker `tasks.labels`) and itself, and the `bioc` library (imported where a BioC/PubTator file is read or written). Never torch,
transformers, or any layer above.
"""
