"""The one entity chunker (`mtbioner.tasks.labels.get_entities`) against seqeval's `get_entities`, the named
baseline: what importing each costs a fresh interpreter, and how fast each chunks the real corpus's tags.

Imports: the median wall time of `--repeats` fresh interpreters that only import the chunker, against a bare
interpreter (`pass`); seqeval's import also loads scikit-learn, pandas and scipy, so it is measured alone (a
training job's case) and on top of numpy, scipy.stats and pandas (the report's case, which has them anyway).
Speed: every sentence of train, devel and test of `--datasets` from the corpus mirror chunked one at a time,
the best of `--repeats` passes; the entities must be equal sentence for sentence.

    python benchmarks/chunker.py --repeats 7
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

from seqeval.metrics.sequence_labeling import get_entities as seqeval_get_entities

from mtbioner.data.iob import read_iob
from mtbioner.tasks.labels import entity_spans, get_entities

DEFAULT_MIRROR = Path(os.environ.get(
    "MTBIONER_MIRROR", Path(__file__).resolve().parents[2] / "shared" / "datasets" / "MTL-Bioinformatics-2016")) / "data"
IMPORTS = {
    "bare interpreter": "pass",
    "mtbioner.tasks.labels": "import mtbioner.tasks.labels",
    "seqeval": "from seqeval.metrics.sequence_labeling import get_entities",
    "numpy + scipy.stats + pandas (the report has them)": "import numpy, scipy.stats, pandas",
    "the same + seqeval": "import numpy, scipy.stats, pandas; from seqeval.metrics.sequence_labeling import get_entities",
}


def import_seconds(code: str, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        subprocess.run([sys.executable, "-c", code], check=True)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mirror", type=Path, default=DEFAULT_MIRROR, help="folder holding <NAME>-IOB/")
    parser.add_argument("--datasets", default="BC2GM,BC5CDR-chem,NCBI-disease")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()

    for name, code in IMPORTS.items():
        print(f"import {name}: {import_seconds(code, args.repeats):.3f} s (median of {args.repeats} interpreters)")
    sentences = [list(sentence.tags) for dataset in args.datasets.split(",") for split in ("train", "devel", "test")
                 for sentence in read_iob(args.mirror / f"{dataset}-IOB" / f"{split}.tsv")]
    print(f"{len(sentences)} sentences, {sum(map(len, sentences))} tags")
    best = {}
    for name, chunker in (("seqeval get_entities", seqeval_get_entities), ("get_entities", get_entities),
                          ("entity_spans", entity_spans)):
        times = []
        for _ in range(args.repeats):
            started = time.perf_counter()
            for tags in sentences:
                chunker(tags)
            times.append(time.perf_counter() - started)
        best[name] = min(times)
        print(f"{name}: {best[name]:.3f} s, {1e6 * best[name] / len(sentences):.2f} µs a sentence (best of {args.repeats})")
    print(f"speed ratio get_entities / seqeval: {best['seqeval get_entities'] / best['get_entities']:.2f}x")
    assert all(get_entities(tags) == seqeval_get_entities(tags) for tags in sentences), "entities differ from seqeval"


if __name__ == "__main__":
    main()
