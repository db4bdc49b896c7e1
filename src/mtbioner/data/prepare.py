"""Raw corpus files -> prepared JSONL (train ∪ devel, test) with the derived auxiliary labels.

A raw directory holds `train.tsv`, `devel.tsv`, `test.tsv` and `manifest.json` (written by `download` or
`import-corpus`, through `mtbioner.data.corpus`). An own corpus may have no devel split: its manifest says so and
the training set is then train alone (we do not carve a devel set out of train, because the paper reports the
last epoch, not a model selected on devel).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from mtbioner.data.examples import (Example, entity_types_of, example_from_sentence, ner_label_list, write_examples,
                                    write_label_file)
from mtbioner.data.files import MANIFEST, SPLITS, DataFiles, raw_file
from mtbioner.data.iob import read_iob
from mtbioner.errors import MtbionerError


def present_splits(raw_dir: str | Path) -> list[str]:
    folder = Path(raw_dir)
    manifest = folder / MANIFEST
    if manifest.is_file():
        files = json.loads(manifest.read_text(encoding="utf-8"))["files"]
        return [split for split in SPLITS if files.get(split) is not None]
    return [split for split in SPLITS if split != "devel" or Path(raw_file(str(folder), "devel")).exists()]


@dataclass(frozen=True)
class Corpus:
    """A raw corpus read as prepared examples: `train` = train then devel (the training set of every run),
    `test`, and the sentence count of each split read."""

    train: list[Example]
    test: list[Example]
    counts: dict[str, int]

    @property
    def entity_types(self) -> list[str]:
        return entity_types_of(self.train + self.test)

    @property
    def ner_labels(self) -> list[str]:
        """`labels.json`'s NER labels: `O`, then `B-`/`I-` of each type of train ∪ test, sorted by type."""
        return ner_label_list(self.entity_types)


def read_corpus(raw_dir: str | Path) -> Corpus:
    """The one reader of a raw corpus directory (`raw/` of the DAG, or a mirror's `<NAME>-IOB/` folder) into
    examples with their derived auxiliary labels: what `prepare_dataset` writes, in memory (the benchmarks and
    the GPU check read the mirror through it)."""
    raw = Path(raw_dir)
    splits = present_splits(raw)
    for required in ("train", "test"):
        if required not in splits:
            raise MtbionerError(f"{raw}: no {required} split")
    examples = {
        split: [example_from_sentence(sentence, f"{split}:{number}")
                for number, sentence in enumerate(read_iob(raw_file(str(raw), split)), start=1)]
        for split in splits
    }
    return Corpus(examples["train"] + examples.get("devel", []), examples["test"],
                  {split: len(rows) for split, rows in examples.items()})


def prepare_dataset(raw_dir: str | Path, out_dir: str | Path) -> dict[str, int]:
    """Write `train.jsonl` (train then devel), `test.jsonl` and `labels.json` into the dataset's folder `out_dir`
    (`DataFiles`); returns sentence counts."""
    corpus, out = read_corpus(raw_dir), DataFiles(str(out_dir))
    write_label_file(out.labels, corpus.entity_types)
    write_examples(out.test, corpus.test)
    write_examples(out.train, corpus.train)
    return corpus.counts
