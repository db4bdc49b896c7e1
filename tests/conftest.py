"""Shared fixtures: small slices of the real corpus mirror in the prepared (JSONL) format, and run configs."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch

from mtbioner.data.examples import entity_types_of, example_from_sentence, write_examples, write_label_file
from mtbioner.data.iob import read_iob

#: Read-only mirror of MTL-Bioinformatics-2016 beside the clone (never copied into git); MTBIONER_MIRROR
#: overrides it and names the corpus root (holding data/ and SHA256SUMS).
MIRROR_ROOT = Path(os.environ.get(
    "MTBIONER_MIRROR", Path(__file__).resolve().parents[2] / "shared" / "datasets" / "MTL-Bioinformatics-2016"))
CORPUS_MIRROR = MIRROR_ROOT / "data"

# Tests share 2 CPU cores with other work: one thread keeps timings stable and the machine responsive.
torch.set_num_threads(1)
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


#: The longest test files (minutes each on 2 cores), started first: `make test` hands whole files to two
#: workers in collection order (pytest-xdist --dist loadfile), and a long file collected late leaves one worker
#: idle at the end (measured 2026-12-08 in a clean clone's CI run on the 2-core AVX2 machine: the device-call
#: rehearsal and the SLURM file finished ~4 minutes after the rest).
LONGEST_FIRST = ("test_gpu_run.py", "test_slurm.py")


def _start_order(items: list[pytest.Item]) -> None:
    """Longest first (the classic longest-processing-time rule): LONGEST_FIRST, then every other file holding a
    `slow` test, then the rest; collection order within each group, so each worker's order stays the same."""
    slow_files = {item.path for item in items if "slow" in item.keywords}

    def group(item: pytest.Item) -> int:
        if item.path.name in LONGEST_FIRST:
            return LONGEST_FIRST.index(item.path.name)
        return len(LONGEST_FIRST) + (0 if item.path in slow_files else 1)

    items.sort(key=group)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Longest files first (`_start_order`); tests marked `gpu` need CUDA: without it they are skipped (with the
    reason), never failed."""
    _start_order(items)
    if torch.cuda.is_available():
        return
    skip = pytest.mark.skip(reason="needs a CUDA device")
    for item in items:
        if "gpu" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def mirror_root() -> Path:
    if not (MIRROR_ROOT / "SHA256SUMS").is_file():
        pytest.fail(f"corpus mirror not found at {MIRROR_ROOT}; set MTBIONER_MIRROR to the MTL-Bioinformatics-2016 mirror")
    return MIRROR_ROOT


@pytest.fixture(scope="session")
def mirror_data(mirror_root: Path) -> Path:
    return mirror_root / "data"


@pytest.fixture(scope="session")
def prepared_paper_datasets(mirror_root: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """results/data-like folder with the paper's datasets (and BC5CDR-disease) downloaded and prepared."""
    from mtbioner.data.corpus import download_dataset
    from mtbioner.data.prepare import prepare_dataset

    data_dir = tmp_path_factory.mktemp("data")
    for name in ("BC2GM", "BC5CDR-chem", "BC5CDR-disease", "NCBI-disease"):
        download_dataset(name, data_dir / name / "raw", str(mirror_root))
        prepare_dataset(data_dir / name / "raw", data_dir / name)
    return data_dir


def prepare_slice(out_dir: Path, dataset: str, n_train: int, n_test: int) -> dict[str, Path]:
    """Write `train.jsonl` (first n_train sentences of train ∪ devel), `test.jsonl` (first n_test of test) and
    `labels.json` of `dataset` from the mirror into `out_dir`, as `mtbioner prepare` would."""
    folder = CORPUS_MIRROR / f"{dataset}-IOB"
    if not folder.is_dir():
        pytest.fail(f"corpus mirror not available at {folder}; set MTBIONER_MIRROR")
    train = [example_from_sentence(sentence, f"train:{number}")
             for number, sentence in enumerate(read_iob(folder / "train.tsv")[:n_train], start=1)]
    test = [example_from_sentence(sentence, f"test:{number}")
            for number, sentence in enumerate(read_iob(folder / "test.tsv")[:n_test], start=1)]
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = {"train_file": out_dir / "train.jsonl", "test_file": out_dir / "test.jsonl",
             "labels_file": out_dir / "labels.json"}
    write_examples(paths["train_file"], train)
    write_examples(paths["test_file"], test)
    write_label_file(paths["labels_file"], entity_types_of(train + test))
    return paths


@pytest.fixture(scope="session")
def chem_slice(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """120 training and 40 test sentences of BC5CDR-chem in the prepared format."""
    return prepare_slice(tmp_path_factory.mktemp("chem_slice"), "BC5CDR-chem", 120, 40)


@pytest.fixture
def tiny_run_config(chem_slice: dict[str, Path]) -> dict:
    """A RunConfig (as a dict) for a seconds-long CPU run of the tiny encoder on `chem_slice`."""
    return {"dataset": "BC5CDR-chem", "experiment": "test", "seed": 7,
            "train_file": str(chem_slice["train_file"]), "test_file": str(chem_slice["test_file"]),
            "labels_file": str(chem_slice["labels_file"]), "encoder": "tiny", "epochs": 2, "batch_size": 16,
            "learning_rate": 1e-3, "max_length": 64}


@pytest.fixture(scope="session")
def tiny_trained_run(chem_slice: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A finished run directory (tiny encoder, all four tasks, joint, 2 epochs) shared by read-only tests."""
    from mtbioner.run.config import RunConfig
    from mtbioner.training.trainer import train_run

    config = RunConfig.model_validate(
        {"dataset": "BC5CDR-chem", "experiment": "joint-max", "seed": 7, "encoder": "tiny", "epochs": 2,
         "batch_size": 16, "learning_rate": 1e-3, "max_length": 64,
         **{key: str(path) for key, path in chem_slice.items()}})
    run_dir = tmp_path_factory.mktemp("tiny_run") / "run"
    train_run(config, run_dir, device="cpu", progress=False)
    return run_dir


@pytest.fixture(scope="session")
def trained_run(chem_slice: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real run that tags chemicals: tiny encoder, all four tasks, 15 short epochs on 120 BC5CDR-chem
    sentences (~3 s); the prediction tests share it (test_export.py trains its own)."""
    from mtbioner.run.config import RunConfig
    from mtbioner.training.trainer import train_run

    config = RunConfig(dataset="BC5CDR-chem", experiment="predict-test", seed=7, encoder="tiny", epochs=15,
                       batch_size=16, learning_rate=1e-3, max_length=64,
                       **{key: str(value) for key, value in chem_slice.items()})
    run_dir = tmp_path_factory.mktemp("predict_run")
    train_run(config, run_dir, device="cpu", progress=False)
    return run_dir


def write_standoff_slice(path: Path, dataset: str, split: str, first: int, count: int, fmt: str,
                         per_document: int = 8) -> Path:
    """`count` sentences of a mirror split (from sentence `first`) as a BioC XML/JSON or PubTator file: every
    `per_document` sentences make a document (title + abstract), mentions at their words' offsets. Built from
    the mirror's TSV at test time, so no corpus text is committed."""
    from mtbioner.data.standoff import DocumentLabels, StandoffFile, documents_from_sentences, format_standoff

    folder = CORPUS_MIRROR / f"{dataset}-IOB"
    if not folder.is_dir():
        pytest.fail(f"corpus mirror not available at {folder}; set MTBIONER_MIRROR")
    sentences = read_iob(folder / f"{split}.tsv")[first:first + count]
    documents = documents_from_sentences(sentences, per_document, prefix=f"{split}{first}-")
    source = StandoffFile(str(path), "text", documents)
    path.write_text(format_standoff(source, [DocumentLabels() for _ in documents], fmt, annotator=None),
                    encoding="utf-8")
    return path
