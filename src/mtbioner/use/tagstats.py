"""Per-file statistics of a tagging (`mtbioner predict --stats`) and the corpus summary built from them
(`mtbioner tag-summary`, results/<name>/tagged/summary.tsv of the tagging stage).

Each tagging job writes its own small JSON, so a rerun redoes only the files that are missing or changed and
the summary is a cheap aggregation of what is there.
"""

from __future__ import annotations

import csv
import io
import json
from collections import Counter
from pathlib import Path
from typing import Sequence

from mtbioner.atomicio import write_text
from mtbioner.tasks.labels import entity_spans
from mtbioner.errors import MtbionerError

#: The summary's fixed columns; one `mentions:<type>` column per mention type found in any file follows
#: `mentions`, then `seconds`.
SUMMARY_COLUMNS = ("file", "input", "documents", "sentences", "mentions")


def file_stats(input_name: str, documents: int, predictions: Sequence, seconds: float) -> dict:
    """One file's figures: documents (BioC/PubTator documents; a raw-text or token-per-line file is one),
    sentences, predicted mentions per type, and the seconds spent reading, tagging and writing it (the model's
    load is not counted: it is the job's start-up, in the job's benchmark file)."""
    types: Counter[str] = Counter()
    for prediction in predictions:
        types.update(span.type for span in entity_spans(list(prediction.ner or [])))
    return {"input": input_name, "documents": documents, "sentences": len(predictions),
            "mentions": dict(sorted(types.items())), "seconds": round(seconds, 3)}


def read_stats(path: str | Path) -> dict:
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise MtbionerError(f"{path}: not a tagging statistics file ({error})") from None


def summary_text(stats_files: Sequence[str | Path]) -> str:
    """The summary TSV: a row per file (named by its stats file, `<output name>.json`), in name order."""
    rows = sorted(((Path(path).name.removesuffix(".json"), read_stats(path)) for path in stats_files),
                  key=lambda row: row[0])
    types = sorted({kind for _, stats in rows for kind in stats["mentions"]})
    out = io.StringIO()
    writer = csv.writer(out, delimiter="\t", lineterminator="\n")
    writer.writerow([*SUMMARY_COLUMNS, *(f"mentions:{kind}" for kind in types), "seconds"])
    for name, stats in rows:
        writer.writerow([name, stats["input"], stats["documents"], stats["sentences"],
                         sum(stats["mentions"].values()), *(stats["mentions"].get(kind, 0) for kind in types),
                         f"{stats['seconds']:.3f}"])
    return out.getvalue()


def write_summary(stats_files: Sequence[str | Path], output: str | Path) -> int:
    """Write the summary atomically; returns the number of files it lists."""
    write_text(output, summary_text(stats_files))
    return len(stats_files)
