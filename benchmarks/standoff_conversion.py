"""Conversion speed of own corpora in BioC/PubTator: documents/s of reading + aligning (the import's work).

    .venv/bin/python benchmarks/standoff_conversion.py [--mirror DIR] [--dataset NCBI-disease] [--split train]

Turns the mirror's whole split into BioC XML, BioC JSON and PubTator (10 sentences a document: title +
abstract, as `tests/conftest.write_standoff_slice`), then times `read_standoff` + `align_file` on each, best of
3, and prints documents/s and sentences/s. Nothing is downloaded; the files go to a temporary directory.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from mtbioner.data.align import ConversionReport, TypeMap, align_file  # noqa: E402
from mtbioner.data.iob import read_iob  # noqa: E402
from mtbioner.data.standoff import (DocumentLabels, StandoffFile, documents_from_sentences,  # noqa: E402
                                    format_standoff, read_standoff)

MIRROR = ROOT.parent / "shared" / "datasets" / "MTL-Bioinformatics-2016" / "data"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mirror", type=Path, default=MIRROR)
    parser.add_argument("--dataset", default="NCBI-disease")
    parser.add_argument("--split", default="train")
    parser.add_argument("--per-document", type=int, default=10)
    args = parser.parse_args()
    sentences = read_iob(args.mirror / f"{args.dataset}-IOB" / f"{args.split}.tsv")
    documents = documents_from_sentences(sentences, args.per_document)
    source = StandoffFile("generated", "text", documents)
    labels = [DocumentLabels() for _ in documents]
    print(f"{args.dataset} {args.split}: {len(sentences)} sentences -> {len(documents)} documents, "
          f"{sum(len(d.mentions) for d in documents)} mentions")
    with tempfile.TemporaryDirectory() as folder:
        for fmt, suffix in (("bioc", "xml"), ("bioc-json", "json"), ("pubtator", "pubtator")):
            path = Path(folder) / f"corpus.{suffix}"
            path.write_text(format_standoff(source, labels, fmt, annotator=None), encoding="utf-8")
            best = float("inf")
            for _ in range(3):
                started = time.perf_counter()
                report = ConversionReport()
                aligned = align_file(read_standoff(path), TypeMap(), report)
                best = min(best, time.perf_counter() - started)
            print(f"{fmt:9s} {path.stat().st_size / 1e6:5.1f} MB  {best:6.2f} s  "
                  f"{len(documents) / best:7.0f} documents/s  {len(aligned) / best:7.0f} sentences/s  "
                  f"({report.summary()})")


if __name__ == "__main__":
    main()
