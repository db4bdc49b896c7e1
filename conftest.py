"""Project-wide pytest fixtures for the corpus mirror (tests/conftest.py holds the model/trainer fixtures).

Tests read the byte-identical corpus mirror in ../shared (override with MTBIONER_MIRROR); the corpus is
never copied into the repository.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent
DEFAULT_MIRROR = REPO_ROOT.parent / "shared" / "datasets" / "MTL-Bioinformatics-2016"


@pytest.fixture(scope="session")
def mirror_root() -> Path:
    root = Path(os.environ.get("MTBIONER_MIRROR", DEFAULT_MIRROR))
    if not (root / "SHA256SUMS").is_file():
        pytest.fail(f"corpus mirror not found at {root}; set MTBIONER_MIRROR to the MTL-Bioinformatics-2016 mirror")
    return root


@pytest.fixture(scope="session")
def mirror_data(mirror_root: Path) -> Path:
    return mirror_root / "data"


@pytest.fixture(scope="session")
def prepared_paper_datasets(mirror_root: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """results/data-like folder with the paper's datasets (and BC5CDR-disease) downloaded and prepared."""
    from mtbioner.corpus import download_dataset
    from mtbioner.prepare import prepare_dataset

    data_dir = tmp_path_factory.mktemp("data")
    for name in ("BC2GM", "BC5CDR-chem", "BC5CDR-disease", "NCBI-disease"):
        download_dataset(name, data_dir / name / "raw", str(mirror_root))
        prepare_dataset(data_dir / name / "raw", data_dir / name)
    return data_dir
