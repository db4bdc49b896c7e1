"""Table 1: corpus statistics per dataset and split, beside the paper's Table 1.

The paper counts train+devel+test; its BC5CDR row combines the BC5CDR-chem and BC5CDR-disease files (the
same 13,938 sentences annotated for chemicals and for diseases), so that comparison needs both datasets.
Beyond the paper we report the share of sentences with 0/1/2/3+ entities (the mCLS classes) and of one-word
vs multi-word entities (mtCLS), since those explain how informative each auxiliary task can be, and how many
test sentences also occur in train ∪ devel (the same word sequence, exactly): a model has been trained on
those with their tags, so they inflate test F1, and the count says by how much it can.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import pandas as pd

from mtbioner.atomicio import write_text
from mtbioner.data.files import DataFiles
from mtbioner.errors import MtbionerError
from mtbioner.data.examples import Example, read_examples
from mtbioner.tasks.labels import entity_spans

SPLIT_ORDER = ("train", "devel", "test", "total")
#: Table 1's column of the test sentences that also occur in train ∪ devel (filled on the test row only).
IN_TRAINING = "test sent. also in train ∪ devel"


@dataclass(frozen=True)
class PaperRow:
    """One row of the paper's Table 1 and where its numbers come from in the corpus."""

    name: str
    sentences: int
    #: paper's entity type -> (paper count, our (dataset, type) or None when the corpus has no such type)
    entities: dict[str, tuple[int, tuple[str, str] | None]] = field(default_factory=dict)
    sentence_source: str = ""


PAPER_TABLE1 = (
    PaperRow("BC2GM", 20131, {"Gene/Protein": (24583, ("BC2GM", "GENE"))}, "BC2GM"),
    PaperRow("BC5CDR", 13938, {"Chemical": (15935, ("BC5CDR-chem", "Chemical")),
                               "Disease": (12852, ("BC5CDR-disease", "Disease"))}, "BC5CDR-chem"),
    # The paper also lists "Gene/Protein (35,336)" for NCBI; NCBI-disease annotates diseases only.
    PaperRow("NCBI", 7287, {"Disease": (6881, ("NCBI-disease", "Disease")),
                            "Gene/Protein": (35336, None)}, "NCBI-disease"),
)


@dataclass
class SplitStats:
    sentences: int = 0
    entities: Counter = field(default_factory=Counter)
    sentences_by_count: Counter = field(default_factory=Counter)  # 0, 1, 2, 3 (= 3+)
    single_word: int = 0
    multi_word: int = 0
    #: sentences of this split whose exact word sequence also occurs in train ∪ devel (counted for test only)
    in_training: int | None = None

    def add(self, example: Example) -> None:
        spans = entity_spans(example.ner)
        self.sentences += 1
        self.entities.update(span.type for span in spans)
        self.sentences_by_count[min(len(spans), 3)] += 1
        self.single_word += sum(span.length == 1 for span in spans)
        self.multi_word += sum(span.length > 1 for span in spans)

    def merge(self, other: "SplitStats") -> None:
        self.sentences += other.sentences
        self.entities += other.entities
        self.sentences_by_count += other.sentences_by_count
        self.single_word += other.single_word
        self.multi_word += other.multi_word


def dataset_stats(data_dir: str | Path) -> dict[str, SplitStats]:
    """Per split (train, devel, test, total) statistics of one prepared dataset directory."""
    files = DataFiles(str(data_dir))
    stats = {split: SplitStats() for split in SPLIT_ORDER}
    training: set[tuple[str, ...]] = set()  # the word sequences of train ∪ devel (files.train holds both)
    test: list[tuple[str, ...]] = []
    for path in map(Path, (files.train, files.test)):
        if not path.is_file():
            raise MtbionerError(f"{path}: prepared data missing (run `mtbioner prepare` first)")
        for example in read_examples(path):
            split = example.id.split(":", 1)[0]
            stats[split].add(example)
            (test.append if split == "test" else training.add)(example.tokens)
    stats["test"].in_training = sum(tokens in training for tokens in test)
    for split in ("train", "devel", "test"):
        stats["total"].merge(stats[split])
    return stats


def _percent(part: int, whole: int) -> float:
    return round(100 * part / whole, 1) if whole else 0.0


def corpus_table(stats: dict[str, dict[str, SplitStats]]) -> pd.DataFrame:
    rows = []
    for dataset, splits in stats.items():
        for split in SPLIT_ORDER:
            s = splits[split]
            entities = sum(s.entities.values())
            rows.append({
                "dataset": dataset, "split": split, "sentences": s.sentences,
                "entities": "; ".join(f"{t} ({n:,})" for t, n in sorted(s.entities.items())) or "–",
                "entities total": entities,
                **{f"% sent. {k}": _percent(s.sentences_by_count[i], s.sentences)
                   for i, k in enumerate(("0 ent.", "1 ent.", "2 ent.", "3+ ent."))},
                "% single-word ent.": _percent(s.single_word, entities),
                "% multi-word ent.": _percent(s.multi_word, entities),
                IN_TRAINING: "–" if s.in_training is None else f"{s.in_training:,} of {s.sentences:,}",
            })
    return pd.DataFrame(rows)


def paper_comparison(stats: dict[str, dict[str, SplitStats]]) -> pd.DataFrame:
    """The paper's Table 1 beside our train+devel+test totals, with deltas (ours − paper)."""
    rows = []
    for paper in PAPER_TABLE1:
        if paper.sentence_source not in stats:
            continue
        ours = stats[paper.sentence_source]["total"].sentences
        rows.append({"paper row": paper.name, "count": "sentences", "paper": paper.sentences, "ours": ours,
                     "delta": ours - paper.sentences, "source": f"{paper.sentence_source} (all splits)"})
        for paper_type, (paper_count, where) in paper.entities.items():
            if where is None:
                rows.append({"paper row": paper.name, "count": f"{paper_type} entities", "paper": paper_count,
                             "ours": None, "delta": None, "source": "not annotated in this corpus"})
            elif where[0] in stats:
                count = stats[where[0]]["total"].entities[where[1]]
                rows.append({"paper row": paper.name, "count": f"{paper_type} entities", "paper": paper_count,
                             "ours": count, "delta": count - paper_count, "source": f"{where[0]} {where[1]}"})
    frame = pd.DataFrame(rows)
    return frame.astype({"ours": "Int64", "delta": "Int64"}) if not frame.empty else frame


def render_table1(stats: dict[str, dict[str, SplitStats]], out_prefix: str | Path) -> list[Path]:
    corpus, paper = corpus_table(stats), paper_comparison(stats)
    prefix = Path(out_prefix)
    overlap = "; ".join(f"{name} {splits['test'].in_training:,} of {splits['test'].sentences:,}"
                        for name, splits in stats.items())
    markdown = ("# Table 1: datasets\n\nSentences and entities per split (train ∪ devel is the training set; "
                "test is never cut).\n\n" + corpus.to_markdown(index=False) + "\n\n"
                f"Test sentences whose exact word sequence also occurs in train ∪ devel: {overlap}. A model was "
                "trained on those with their tags, so they can raise its test F1; they stay in the test set, as "
                "in the paper.\n")
    if not paper.empty:
        markdown += ("\n## Beside the paper's Table 1 (train + devel + test)\n\n" + paper.to_markdown(index=False)
                     + "\n\nThe paper's BC5CDR row combines the BC5CDR-chem and BC5CDR-disease files; its NCBI "
                     "row also lists Gene/Protein (35,336), which NCBI-disease does not annotate.\n")
    latex = corpus.to_latex(index=False, caption="Datasets: sentences and entities per split.", label="tab:datasets")
    if not paper.empty:
        latex += "\n" + paper.to_latex(index=False, na_rep="--", caption="Our counts beside the paper's Table 1.",
                                       label="tab:datasets-paper")
    csv_frame = corpus.assign(table="corpus")
    if not paper.empty:
        csv_frame = pd.concat([csv_frame, paper.assign(table="paper comparison")], ignore_index=True)
    outputs = {".md": markdown, ".tex": latex, ".csv": csv_frame.to_csv(index=False)}
    written = []
    for suffix, text in outputs.items():
        path = prefix.with_name(prefix.name + suffix)
        write_text(path, text)
        written.append(path)
    return written


def write_table1(data_dir: str | Path, datasets: Sequence[str], out_prefix: str | Path) -> list[Path]:
    """Table 1 of the prepared `datasets` under `data_dir` (one folder each) as `<prefix>.{md,tex,csv}`."""
    return render_table1({name: dataset_stats(Path(data_dir) / name) for name in datasets}, out_prefix)
