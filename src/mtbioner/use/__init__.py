"""Use layer: a trained run put to work — `predict` tags raw text or IOB files, `export` writes an HF
`AutoModelForTokenClassification` directory.

May import: the foundation modules, `mtbioner.data`, `mtbioner.model` and `mtbioner.run`.
"""
