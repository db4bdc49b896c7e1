"""The prepared-data format (JSONL, format version 1): one sentence per line, its words and NER tags.

`{"id": "train:1", "tokens": [...], "ner": [...], "mt": [...], "bcls": 0|1, "mcls": 0..3}`; `id` is
`<split>:<1-based sentence number in that split's file>`. `labels.json` beside it fixes the NER label ids.

Every auxiliary label is a function of the NER tags, so mtbioner derives it when it needs it (`Example.gold`,
through the task registry) and reads only `id`, `tokens` and `ner`; a new task therefore needs no new field
and no re-preparation. Version 1's files also carry the paper's derived labels (`V1_DERIVED`): they are still
written, so a v1 file stays byte for byte what it was and readers outside mtbioner keep working.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Iterable, Sequence

from mtbioner.atomicio import iter_jsonl, write_json, write_jsonl
from mtbioner.errors import MtbionerError
from mtbioner.data.iob import Sentence
from mtbioner.tasks import get as get_task

FORMAT_VERSION = 1
#: The derived labels format version 1 stores after `ner`, in this order (frozen with the format: new tasks
#: are derived on the fly, not stored).
V1_DERIVED: tuple[str, ...] = ("mt", "bcls", "mcls")


@dataclass(frozen=True)
class Example:
    id: str
    tokens: tuple[str, ...]
    ner: tuple[str, ...]

    def gold(self, task: str):
        """The gold label(s) of `task` for this sentence, derived from its NER tags."""
        return get_task(task).gold(self.ner)


def example_from_sentence(sentence: Sentence, example_id: str) -> Example:
    return Example(example_id, sentence.tokens, sentence.tags)


def _v1_record(example: Example) -> dict:
    record = asdict(example)
    for task in V1_DERIVED:
        record[task] = get_task(task).export(example.gold(task))
    return record


def write_examples(path: str | Path, examples: Iterable[Example]) -> None:
    write_jsonl(path, (_v1_record(example) for example in examples))


def read_examples(path: str | Path) -> list[Example]:
    examples = []
    for number, row in iter_jsonl(path):
        try:
            example = Example(row["id"], tuple(row["tokens"]), tuple(row["ner"]))
        except (KeyError, TypeError, ValueError) as error:
            raise MtbionerError(f"{path}:{number}: not a prepared example ({error})") from None
        if len(example.tokens) != len(example.ner):
            raise MtbionerError(f"{path}:{number}: tokens and ner differ in length")
        examples.append(example)
    return examples


def ner_label_list(entity_types: Iterable[str]) -> list[str]:
    """`O` first, then `B-`/`I-` of each type in sorted order: stable label ids for every run of a dataset."""
    labels = ["O"]
    for entity_type in sorted(set(entity_types)):
        labels += [f"B-{entity_type}", f"I-{entity_type}"]
    return labels


def entity_types_of(examples: Sequence[Example]) -> list[str]:
    return sorted({tag[2:] for example in examples for tag in example.ner if tag != "O"})


def write_label_file(path: str | Path, entity_types: Sequence[str]) -> None:
    write_json(path, {"format_version": FORMAT_VERSION, "entity_types": list(entity_types),
                      "ner_labels": ner_label_list(entity_types)})


def read_label_file(path: str | Path) -> list[str]:
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        labels = list(data["ner_labels"])
    except (OSError, json.JSONDecodeError, KeyError, TypeError) as error:
        raise MtbionerError(f"{path}: not a labels.json file ({error})") from None
    if data.get("format_version") != FORMAT_VERSION:
        raise MtbionerError(f"{path}: format_version {data.get('format_version')!r}, expected {FORMAT_VERSION}")
    return labels
