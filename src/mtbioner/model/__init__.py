"""Model layer: the encoder, the sub-token features, the four-head model and inference with it.

`encoders` loads an encoder and tokenizer by name (tiny / minilm / HF id or path), `tokenization` aligns
words to sub-tokens and collates batches, `multitask` is `MultiTaskModel` (encoder + one head per task),
`precision` chooses device and autocast, `inference` tags sentences with a trained model.

May import: the foundation modules, `mtbioner.tasks`, `mtbioner.data` and `mtbioner.run` (the run directory's
layout, e.g. whether a directory is a finished run). Never `training`, `plan`, `use`, `report` or `cli`.
"""
