"""Raw corpus files -> prepared JSONL (train ∪ devel, test) with the derived auxiliary labels.

A raw directory holds `train.tsv`, `devel.tsv`, `test.tsv` and `manifest.json` (written by `download` or
`import-corpus`, through `mtbioner.data.corpus`). An own corpus may have no devel split: its manifest says so and
the training set is then train alone (we do not carve a devel set out of train, because the paper reports the
last epoch, not a model selected on devel).
"""

from __future__ import annotations

import json
from pathlib import Path

from mtbioner.data.corpus import MANIFEST, SPLITS
from mtbioner.data.examples import entity_types_of, example_from_sentence, write_examples, write_label_file
from mtbioner.data.iob import read_iob
from mtbioner.errors import MtbionerError


def present_splits(raw_dir: str | Path) -> list[str]:
    folder = Path(raw_dir)
    manifest = folder / MANIFEST
    if manifest.is_file():
        files = json.loads(manifest.read_text(encoding="utf-8"))["files"]
        return [split for split in SPLITS if files.get(split) is not None]
    return [split for split in SPLITS if split != "devel" or (folder / "devel.tsv").exists()]


def prepare_dataset(raw_dir: str | Path, out_dir: str | Path) -> dict[str, int]:
    """Write `train.jsonl` (train then devel), `test.jsonl` and `labels.json`; returns sentence counts."""
    raw, out = Path(raw_dir), Path(out_dir)
    splits = present_splits(raw)
    for required in ("train", "test"):
        if required not in splits:
            raise MtbionerError(f"{raw}: no {required} split")
    examples = {
        split: [example_from_sentence(sentence, f"{split}:{number}")
                for number, sentence in enumerate(read_iob(raw / f"{split}.tsv"), start=1)]
        for split in splits
    }
    training = examples["train"] + examples.get("devel", [])
    write_label_file(out / "labels.json", entity_types_of(training + examples["test"]))
    write_examples(out / "test.jsonl", examples["test"])
    write_examples(out / "train.jsonl", training)
    return {split: len(rows) for split, rows in examples.items()}
