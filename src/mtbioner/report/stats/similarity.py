"""Task embeddings read back and compared: the numbers behind Figure 6 (statistics on `write_taskemb`'s files,
which `mtbioner.report.embedding.taskemb` computes with a model; reading them needs no torch)."""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from mtbioner.errors import MtbionerError


def cosine_similarity_matrix(vectors: np.ndarray) -> np.ndarray:
    """Cosine similarity of each pair of rows (rows need not be normalised)."""
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    unit = vectors / np.where(norms > 0, norms, 1.0)
    return unit @ unit.T


def read_task_embeddings(paths: Iterable[str | Path]) -> tuple[list[tuple[str, str]], np.ndarray]:
    """`write_taskemb` outputs (each `.json`, or its `.npy` beside it) as (dataset, task) labels and a matrix
    with one embedding per row, in the paper's order: by dataset, then task in the registry's canonical order (NER,
    mtCLS, bCLS, mCLS, then tasks added after the paper)."""
    from mtbioner.tasks import TASKS

    labels, vectors = [], []
    for path in sorted(Path(p) for p in paths):
        path = path.with_suffix(".json")
        try:
            meta = json.loads(path.read_text(encoding="utf-8"))
            vectors.append(np.load(path.with_suffix(".npy")))
        except (OSError, ValueError) as error:
            raise MtbionerError(f"{path}: not a TaskEmb output ({error})") from None
        labels.append((str(meta["dataset"]), str(meta["task"])))
    order = sorted(range(len(labels)), key=lambda i: (labels[i][0], TASKS.index(labels[i][1])
                                                      if labels[i][1] in TASKS else len(TASKS)))
    labels, vectors = [labels[i] for i in order], [vectors[i] for i in order]
    if len({v.shape for v in vectors}) != 1:
        raise MtbionerError("task embeddings differ in size: they must come from the same encoder")
    return labels, np.stack(vectors)
