"""The prepared-data folder of one dataset: the one place that spells its layout (docs/design.md, "Files the DAG
writes").

`DataFiles(root)` names every file under `root` = `results/<name>/data/<dataset>`: the raw corpus files and
what the download or import records beside them, the prepared JSONL and label set, and the nested subsamples
(one draw per dataset, or one per training seed). Paths are strings, so the same object also spells Snakemake's
patterns: `DataFiles("results/quick/data/{dataset}").train` is the `prepare` rule's output pattern, and the
grid, `mtbioner cost`, prepare and subsample read and write through it.
"""

from __future__ import annotations

from dataclasses import dataclass

#: Beside the raw files: what the download or import recorded (source and digests).
MANIFEST = "manifest.json"
#: Beside the raw files of an own BioC/PubTator corpus: its conversion report and the words' document offsets.
CONVERSION_REPORT = "conversion.json"
OFFSETS = "offsets.jsonl"
#: The corpus splits in the order every reader expects them (devel is optional for own corpora).
SPLITS = ("train", "devel", "test")


def raw_file(raw_dir: str, split: str) -> str:
    """<raw_dir>/<split>.tsv: token<TAB>tag lines, blank line between sentences."""
    return f"{str(raw_dir).rstrip('/')}/{split}.tsv"


@dataclass(frozen=True)
class DataFiles:
    """The files of one dataset's prepared-data folder `root` (a path or a Snakemake pattern)."""

    root: str

    def __post_init__(self) -> None:
        object.__setattr__(self, "root", str(self.root).rstrip("/"))

    @property
    def raw_dir(self) -> str:
        """raw/: the corpus files as downloaded (SHA-256-verified) or imported."""
        return f"{self.root}/raw"

    def raw(self, split: str) -> str:
        return raw_file(self.raw_dir, split)

    @property
    def manifest(self) -> str:
        return f"{self.raw_dir}/{MANIFEST}"

    @property
    def conversion_report(self) -> str:
        return f"{self.raw_dir}/{CONVERSION_REPORT}"

    @property
    def offsets(self) -> str:
        return f"{self.raw_dir}/{OFFSETS}"

    @property
    def train(self) -> str:
        """train.jsonl: train ∪ devel with the auxiliary labels (prepared JSONL v1)."""
        return f"{self.root}/train.jsonl"

    @property
    def test(self) -> str:
        return f"{self.root}/test.jsonl"

    @property
    def labels(self) -> str:
        """labels.json: the dataset's NER label set, so every run of it uses the same label ids."""
        return f"{self.root}/labels.json"

    def subsample_dir(self, seed: int | str | None = None) -> str:
        """Where the nested subsamples go: the dataset's folder, or seed<S>/ for a training seed's own draw."""
        return self.root if seed is None else f"{self.root}/seed{seed}"

    def subsample(self, fraction: int | str, seed: int | str | None = None) -> str:
        """train.frac<F>.jsonl: the nested F % of train.jsonl (of the seed's own draw when `seed` is given)."""
        return f"{self.subsample_dir(seed)}/train.frac{fraction}.jsonl"
