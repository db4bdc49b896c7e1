"""Data layer: the corpus and everything made from its files before a model exists.

Downloading and verifying MTL-Bioinformatics-2016 (`corpus`), the token-per-line TSV format (`iob`), the
auxiliary labels derived from BIO tags (`labels`), the prepared JSONL format (`examples`), `prepare`,
nested `subsample`s, Table 1's `stats` and raw-text sentence splitting (`textsplit`).

May import: the foundation modules at the package root (`errors`, `atomicio`, `params`, `tasks`) and
itself. Never torch, transformers, or any layer above.
"""
